// A submitter gets exactly the outcome that was committed: two transactions of one
// account in one block, the later one expiring before the block's time. The earlier one
// commits; its submitter must get its receipt, not `nonce_gap` (which once made clients
// re-sign and pay twice).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { TallyNode, initDataDir } from '../src/chain/node.js';
import { defaultGenesis } from '../src/chain/genesis.js';
import { txId } from '../src/chain/envelope.js';
import { allModules, chainModules } from '../src/modules/index.js';
import { cleanup, makeTx, newAccount, tempDir } from './helpers.js';

after(cleanup);

test('an included transaction is acknowledged with its receipt when a later one of its account expires in the same block', async () => {
  const dir = tempDir();
  initDataDir(dir, defaultGenesis(chainModules, { chain: 'tally-dev', decimals: 6, dev: true }), allModules);
  // The node's clock is the test's: admission sees T, the block is made at T + 1.5 s.
  let now = Math.floor(Date.now() / 1000) * 1000 + 1200; // later than genesis, 200 ms into a second
  const node = TallyNode.open({ dataDir: dir, modules: allModules, synchronous: 'NORMAL', blockDelayMsMax: 5, verifierThreads: 1, clock: () => now });
  try {
    const alice = newAccount();
    const bob = newAccount();
    const T = now;
    const expires = { expires: Math.floor(T / 1000) + 600 };
    const [reg] = await node.submit([makeTx(alice, 'ledger.register', { name: 'alice' }, expires)]);
    assert.equal((reg as { status: string }).status, 'ok');
    await node.submit([makeTx(bob, 'ledger.register', { name: 'bob' }, expires)]);
    const first = makeTx(alice, 'ledger.send', { to: 'bob', amount: '1' }, expires);
    // expires is inclusive in seconds: valid until T's second ends, expired at T + 1.5 s.
    const second = makeTx(alice, 'ledger.send', { to: 'bob', amount: '2' }, { expires: Math.floor(T / 1000) + 1 });
    const pending = node.submit([first, second]);
    now = T + 2500;
    const [r1, r2] = await pending;
    const committed = node.tx(txId(first.tx));
    assert.ok(committed, `the first transfer committed; its submitter got ${JSON.stringify(r1)}`);
    assert.equal((r1 as { status?: string }).status, 'ok', `submitter of the committed transfer got ${JSON.stringify(r1)}`);
    assert.equal((r2 as { error?: { code: string } }).error?.code, 'expired');
  } finally {
    await node.close();
  }
});
