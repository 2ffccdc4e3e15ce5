// A programmer error inside block execution (a module throwing something that is not a
// TallyError) must never be signed into a block as a failed transaction: the block is
// abandoned, its submitters are told to retry (503), and the node halts.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TallyModule } from '../src/chain/app-module.js';
import { defaultGenesis } from '../src/chain/genesis.js';
import { initDataDir, TallyNode } from '../src/chain/node.js';
import { allModules } from '../src/modules/index.js';
import { cleanup, makeTx, newAccount, tempDir } from './helpers.js';

after(cleanup);

const buggy: TallyModule = {
  name: 'buggy',
  app: {},
  chain: {
    name: 'buggy',
    txTypes: [{
      type: 'buggy.boom',
      opensAccount: true,
      parse: (body) => body,
      apply: () => { throw new TypeError('cannot read properties of undefined'); },
    }],
    queries: [],
  },
};

test('a non-TallyError from a module halts the node; nothing is committed; submitters get 503', async () => {
  const modules = [...allModules, buggy];
  const dir = tempDir();
  initDataDir(dir, defaultGenesis(modules.map((m) => m.chain), { chain: 'tally-dev', decimals: 6, dev: true }), modules);
  const node = TallyNode.open({ dataDir: dir, modules, synchronous: 'NORMAL', verifierThreads: 1 });
  const halts: Error[] = [];
  node.on('halt', (err: Error) => halts.push(err));
  try {
    const alice = newAccount();
    const bob = newAccount();
    const results = await node.submit([makeTx(alice, 'ledger.register', { name: 'alice' }), makeTx(bob, 'buggy.boom', {})]);
    for (const r of results) {
      assert.equal((r as { status?: number }).status, 503, JSON.stringify(r));
      assert.equal((r as { error?: { code: string } }).error?.code, 'node_halted');
    }
    assert.equal(node.tip.height, 0, 'no block was committed');
    assert.equal(node.store.tip()!.height, 0);
    assert.equal(halts.length, 1);
    assert.match(halts[0]!.message, /block 1 could not be executed: cannot read properties/);
    assert.ok(node.halted);
    await assert.rejects(node.submit([makeTx(alice, 'ledger.register', { name: 'alice' }, { nonce: 0 })]), (err: { code?: string }) => err.code === 'node_halted');
  } finally {
    await node.close();
  }
});
