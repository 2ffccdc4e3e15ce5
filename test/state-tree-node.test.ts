// The state tree in a real node: every header's stateRoot is the root of the tree over the
// stored state (checked against smt.ts's reference root over the state table), proofs at
// the kept heights verify against the signed headers, pruning keeps the window, a restart
// continues the tree from its stored nodes, and a data directory made before the tree
// (version 1 headers, a fixture written by commit 2cee750) upgrades at first start and
// keeps verifying; so does one made before header version 3 (version 2 headers, a
// fixture written by commit 9294045, whose tree rows are in row format 1).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { BlockHeader } from '../src/chain/blocks.js';
import { defaultGenesis } from '../src/chain/genesis.js';
import { initDataDir, TallyNode } from '../src/chain/node.js';
import type { TallyError } from '../src/core/errors.js';
import { lastCommitHashAfter, singleValidator, validatorsHash } from '../src/core/header.js';
import { smtPath, smtRootOfSorted, smtSortEntries, smtValueHash, verifyStateProof } from '../src/core/smt.js';
import { allModules } from '../src/modules/index.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { cleanup, makeTx, newAccount, ROOT, tempDir, type Account } from './helpers.js';

after(cleanup);

/** smt.ts's reference root (noble BLAKE3) over the state table as stored. */
function referenceRoot(store: SqliteStore): string {
  const entries = [...store.allState()].map((r) => ({ path: smtPath(r.k), valueHash: smtValueHash(r.v) }));
  return bytesToHex(smtRootOfSorted(smtSortEntries(entries)));
}

const header = (node: TallyNode, h: number) => JSON.parse(node.store.block(h)!.header) as BlockHeader;

async function ok(node: TallyNode, txs: ReturnType<typeof makeTx>[]): Promise<void> {
  const out = await node.submit(txs);
  for (const r of out) assert.ok('status' in r && r.status === 'ok', JSON.stringify(r));
}

const open = (dir: string) => TallyNode.open({ dataDir: dir, modules: allModules, synchronous: 'NORMAL', verifierThreads: 1, stateTreeKeepVersions: 3 });

test('stateRoot is the tree of the stored state; proofs at kept heights; pruning; a restart continues the tree', async () => {
  const dir = tempDir();
  initDataDir(dir, defaultGenesis(allModules.map((m) => m.chain), { chain: 'tally-dev', decimals: 6, dev: true }), allModules);
  let node = open(dir);
  const users: Account[] = [newAccount(), newAccount(), newAccount()];
  await ok(node, users.map((u, i) => makeTx(u, 'ledger.register', { name: `u${i}` })));
  const balanceKey = `ledger/acct/${users[0]!.id}`;
  const heights: Array<{ height: number; value: string | undefined }> = [];
  for (let i = 0; i < 6; i++) {
    await ok(node, [makeTx(users[0]!, 'ledger.send', { to: 'u1', amount: String(i + 1) })]);
    heights.push({ height: node.tip.height, value: node.store.getState(balanceKey) });
  }
  const tip = node.tip.height;
  assert.equal(header(node, tip).version, 3);
  assert.equal(header(node, tip).stateRoot, referenceRoot(node.store));
  assert.deepEqual(node.stateTree.provableRange(), { oldest: tip - 3, tip });

  // Each kept height proves the value it had then, against its own signed header.
  for (const { height, value } of heights.filter((h) => h.height >= tip - 3)) {
    assert.equal(node.stateTree.rootAt(height), header(node, height).stateRoot);
    const proof = node.stateTree.prove(balanceKey, height);
    assert.equal(proof.value, value);
    assert.deepEqual(verifyStateProof(header(node, height).stateRoot, proof), { ok: true, key: balanceKey, value });
  }
  const absent = node.stateTree.prove('ledger/acct/nobody', tip);
  assert.equal(absent.value, null);
  assert.equal(verifyStateProof(header(node, tip).stateRoot, absent).ok, true);
  // Pruned and future heights.
  assert.equal(node.stateTree.rootAt(tip - 4), undefined);
  assert.throws(() => node.stateTree.prove(balanceKey, tip - 4), (err: TallyError) => err.code === 'height_pruned' && err.status === 410);
  assert.throws(() => node.stateTree.prove(balanceKey, tip + 1), (err: TallyError) => err.code === 'height_unknown' && err.status === 404);
  const roots = node.store.db.prepare('SELECT count(*) AS n FROM smt_roots').get() as { n: number };
  assert.equal(roots.n, 4, 'roots of heights tip-3..tip are kept');
  // What a pruned version alone reached is gone: no stale list at or below the oldest kept height remains.
  const stale = node.store.db.prepare('SELECT count(*) AS n FROM smt_stale WHERE version <= ?').get(tip - 3) as { n: number };
  assert.equal(stale.n, 0);
  const oldNodes = node.store.db.prepare('SELECT count(*) AS n FROM smt_nodes WHERE version < ?').get(tip - 3) as { n: number };
  const allNodes = node.store.db.prepare('SELECT count(*) AS n FROM smt_nodes').get() as { n: number };
  assert.ok(oldNodes.n < allNodes.n, `${oldNodes.n} of ${allNodes.n} node rows predate the window (still reachable ones only)`);
  await node.close();

  // A restart continues the tree from the stored nodes (its next roots check out).
  node = open(dir);
  for (const u of users) u.nonce = node.auth(u.id).nonce;
  await ok(node, [makeTx(users[1]!, 'ledger.send', { to: 'u2', amount: '1' }), makeTx(users[2]!, 'ledger.send', { to: 'u0', amount: '2' })]);
  assert.equal(node.tip.height, tip + 1);
  assert.equal(header(node, tip + 1).stateRoot, referenceRoot(node.store));
  const report = await node.verifySnapshot();
  assert.deepEqual(report.issues, []);
  await node.close();
});

test('a data directory made before the state tree upgrades at first start and keeps verifying', async () => {
  const dir = path.join(tempDir(), 'data');
  fs.cpSync(path.join(ROOT, 'test', 'fixtures', 'v1-datadir'), dir, { recursive: true });
  for (const f of ['db.key', 'node.key', 'signed.wm']) fs.chmodSync(path.join(dir, f), 0o600);
  let node = open(dir);
  const t = node.tip.height;
  assert.equal(t, 3, 'the fixture holds blocks 0..3');
  for (let h = 0; h <= t; h++) assert.equal(header(node, h).version, undefined, `block ${h} is a version 1 block`);
  // The tree was built from the state at the tip: proofs exist from there on.
  assert.equal(node.stateTree.rootAt(t), referenceRoot(node.store));
  assert.deepEqual(node.stateTree.provableRange(), { oldest: t, tip: t });
  assert.throws(() => node.stateTree.prove('ledger/name/user0', t - 1), (err: TallyError) => err.code === 'height_unknown');

  const genesisText = fs.readFileSync(path.join(dir, 'genesis.json'), 'utf8');
  assert.ok(genesisText.includes('tally-dev'));
  const user = newAccount();
  await ok(node, [makeTx(user, 'ledger.register', { name: 'after' })]);
  await ok(node, [makeTx(user, 'ledger.send', { to: 'user0', amount: '1' })]);
  assert.equal(header(node, t + 1).version, 3);
  assert.equal(header(node, t + 2).stateRoot, referenceRoot(node.store));
  const p = node.stateTree.prove('ledger/name/after', t + 2);
  assert.equal(verifyStateProof(header(node, t + 2).stateRoot, p).ok, true);
  assert.deepEqual((await node.verifySnapshot()).issues, []);
  await node.close();

  // And again after a restart: the tree is not rebuilt, the chain goes on.
  node = open(dir);
  assert.equal(node.stateTree.provableRange().tip, t + 2);
  user.nonce = node.auth(user.id).nonce;
  await ok(node, [makeTx(user, 'ledger.send', { to: 'user1', amount: '1' })]);
  assert.deepEqual((await node.verifySnapshot()).issues, []);
  await node.close();
});

test('a data directory made with version 2 headers goes on with version 3 at its next block', async () => {
  const dir = path.join(tempDir(), 'data');
  fs.cpSync(path.join(ROOT, 'test', 'fixtures', 'v2-datadir'), dir, { recursive: true });
  for (const f of ['db.key', 'node.key', 'signed.wm']) fs.chmodSync(path.join(dir, f), 0o600);
  let node = open(dir);
  const t = node.tip.height;
  assert.equal(t, 3, 'the fixture holds blocks 0..3');
  for (let h = 0; h <= t; h++) assert.equal(header(node, h).version, 2, `block ${h} is a version 2 block`);
  // Its tree rows were written in row format 1; core migration 3 marked them and the open
  // rewrote them: proofs at the fixture's own heights still verify against its headers.
  assert.equal(node.store.getMeta('tree/rows-format-1'), undefined);
  for (const key of ['ledger/name/user0', 'ledger/name/nobody', 'ledger/acct/0000000000000000000000000000000000000000']) {
    const proof = node.stateTree.prove(key, t);
    assert.equal(verifyStateProof(header(node, t).stateRoot, proof).ok, true, key);
  }
  const user = newAccount();
  await ok(node, [makeTx(user, 'ledger.register', { name: 'after' })]);
  const next = header(node, t + 1);
  assert.equal(next.version, 3);
  const prev = node.store.block(t)!;
  assert.equal(next.lastCommitHash, lastCommitHashAfter({ hash: prev.hash, header: JSON.parse(prev.header) as BlockHeader, sig: prev.sig }));
  assert.equal(next.validatorsHash, validatorsHash(singleValidator(next.proposer)));
  assert.deepEqual((await node.verifySnapshot()).issues, []);
  await node.close();

  // After a restart the proposer links its next commit to the stored tip.
  node = open(dir);
  user.nonce = node.auth(user.id).nonce;
  await ok(node, [makeTx(user, 'ledger.send', { to: 'user0', amount: '1' })]);
  assert.equal(header(node, t + 2).version, 3);
  assert.deepEqual((await node.verifySnapshot()).issues, []);
  await node.close();
});
