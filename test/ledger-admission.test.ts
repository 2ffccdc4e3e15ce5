// What a stranger's registration and a transfer's recipient may do, on real nodes:
// a closed chain refuses registrations from keys it has never seen at admission (no state
// row, no nonce, no block); a transfer names its recipient by account id (the CLI resolves
// a name before signing) and never the mint.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SqliteStore } from '../src/store/sqlite.js';
import type { Receipt } from '../src/chain/envelope.js';
import { cleanup, cli, cliOk, getOk, httpPost, makeTx, newAccount, startNode, tempDir, type NodeProcess } from './helpers.js';

const MINT_ID = '0'.repeat(40);

/** Rows of the state table, read from a read-only snapshot of the running node's database. */
function stateRows(dataDir: string): number {
  const snap = SqliteStore.open({ dbPath: path.join(dataDir, 'tally.db'), keyPath: path.join(dataDir, 'db.key'), readonly: true });
  try {
    return (snap.db.prepare('SELECT count(*) AS n FROM state').get() as { n: number }).n;
  } finally {
    snap.close();
  }
}

describe('closed chain: strangers change nothing', { timeout: 120_000 }, () => {
  let node: NodeProcess;
  const CHAIN = 'closed-test';
  const owner = newAccount();

  before(async () => {
    const root = tempDir();
    const dataDir = path.join(root, 'data');
    const genesisFile = path.join(root, 'genesis.json');
    fs.writeFileSync(genesisFile, JSON.stringify({
      chain: CHAIN, time: Date.now(), decimals: 6,
      modules: { ledger: { registration: { policy: 'closed', grant: '0' }, accounts: [{ name: 'owner', pub: owner.signer.pub, balance: '10' }] } },
    }));
    await cliOk(path.join(root, 'home'), ['init', '--data', dataDir, '--genesis', genesisFile, '--json']);
    node = await startNode({ dataDir });
  });

  after(async () => {
    if (node) assert.equal(await node.stop(), 0, node.stderr());
    await cleanup();
  });

  it('N registrations from fresh keys: each refused 403 registration_closed; rows, height, nonces unchanged', async () => {
    const N = 40;
    const rowsBefore = stateRows(node.dataDir);
    const heightBefore = (await getOk(`${node.http}/v1/node`)).height;
    const strangers = Array.from({ length: N }, () => newAccount());
    const one = await httpPost(`${node.http}/v1/txs`, makeTx(strangers[0]!, 'ledger.register', { name: 's0' }, { chain: CHAIN, nonce: 0 }));
    assert.equal(one.status, 403, JSON.stringify(one.body));
    assert.equal(one.body.error.code, 'registration_closed');
    const batch = await httpPost(`${node.http}/v1/txs`, strangers.map((s, i) => makeTx(s, 'ledger.register', { name: `s${i}` }, { chain: CHAIN, nonce: 0 })));
    assert.equal(batch.status, 200);
    assert.equal(batch.body.length, N);
    for (const r of batch.body as Array<{ status: unknown; error?: { code: string } }>) {
      assert.deepEqual([r.status, r.error?.code], [403, 'registration_closed'], JSON.stringify(r));
    }
    assert.equal((await getOk(`${node.http}/v1/node`)).height, heightBefore, 'no block was made');
    assert.equal(stateRows(node.dataDir), rowsBefore, 'no state row was written');
    for (const s of strangers.slice(0, 5)) assert.deepEqual(await getOk(`${node.http}/v1/auth/${s.id}`), { id: s.id, pub: null, nonce: 0, pending: 0 });
    // A member is untouched by the admission check: its transfers still commit.
    const send = await httpPost(`${node.http}/v1/txs`, makeTx(owner, 'ledger.sign', { text: 'still open for members' }, { chain: CHAIN }));
    assert.equal((send.body as Receipt).status, 'ok', JSON.stringify(send.body));
  });
});

describe('transfers name their recipient by id; never the mint', { timeout: 120_000 }, () => {
  let node: NodeProcess;
  let home: string;
  const ids: Record<string, string> = {};

  before(async () => {
    home = path.join(tempDir('tally-home-'), 'home');
    node = await startNode();
    for (const name of ['alice', 'bob']) {
      ids[name] = (await cliOk(home, ['keys', 'new', name, '--json'])).id;
      await cliOk(home, ['register', name, '--key', name, '--node', node.socket, '--json']);
    }
  });

  after(async () => {
    if (node) assert.equal(await node.stop(), 0, node.stderr());
    await cleanup();
  });

  it('tally send NAME resolves the name and signs the account id', async () => {
    const r = await cliOk(home, ['send', 'bob', '2', '--key', 'alice', '--node', node.socket, '--json']);
    assert.equal(r.status, 'ok');
    const stored = await getOk(`${node.http}/v1/txs/${r.id}`);
    assert.equal(stored.envelope.tx.body.to, ids.bob, 'the signed body names bob by id, not by name');
    assert.deepEqual(r.events[0], { type: 'ledger.transfer', from: ids.alice, to: ids.bob, amount: '2' });
  });

  it('tally send to an unknown name fails before signing, with unknown_account', async () => {
    const before = await getOk(`${node.http}/v1/auth/${ids.alice}`);
    const r = await cli(home, ['send', 'nobody', '1', '--key', 'alice', '--node', node.socket, '--json']);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /unknown_account/);
    assert.deepEqual(await getOk(`${node.http}/v1/auth/${ids.alice}`), before, 'nothing was submitted');
  });

  it('a send to the mint, by name or by id, is refused cannot_send_to_mint and changes nothing', async () => {
    const a = newAccount();
    const reg = await httpPost(`${node.http}/v1/txs`, makeTx(a, 'ledger.register', { name: 'minter' }));
    assert.equal(reg.body.status, 'ok');
    const height = (await getOk(`${node.http}/v1/node`)).height;
    const mint = (await getOk(`${node.http}/v1/accounts/mint`)).balance;
    for (const to of ['mint', MINT_ID]) {
      const res = await httpPost(`${node.http}/v1/txs`, makeTx(a, 'ledger.send', { to, amount: '1' }, { nonce: a.nonce }));
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'cannot_send_to_mint');
    }
    assert.equal((await getOk(`${node.http}/v1/node`)).height, height);
    assert.equal((await getOk(`${node.http}/v1/auth/${a.id}`)).nonce, 1, 'no nonce used');
    assert.equal((await getOk(`${node.http}/v1/accounts/mint`)).balance, mint);
  });
});
