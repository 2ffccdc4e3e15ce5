// The follower's runs: consecutive blocks imported in one storage transaction. A run
// commits every block it took, stops at a refusal with the blocks before it committed, and
// after a storage failure mid-run leaves memory (tip, state cache, tree, module indexes)
// exactly as the rolled-back database holds it. A writer's failed commit forgets its index
// rows the same way.
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TallyError } from '../core/errors.js';
import { accountIdFromPub, signerFromPrivateKey } from '../core/keys.js';
import { allModules, chainModules } from '../modules/index.js';
import { historyRows } from '../modules/ledger/history.js';
import { blocksFrom } from '../net/serve.js';
import { signHeader } from './blocks.js';
import { signTx, type Envelope } from './envelope.js';
import type { Prepared } from './follower.js';
import { defaultGenesis } from './genesis.js';
import { initDataDir, loadNodeSigner, TallyNode } from './node.js';

const dirs: string[] = [];
const nodes: TallyNode[] = [];
const genesis = defaultGenesis(chainModules, { chain: 'tally-dev', decimals: 6, dev: true });

afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close().catch(() => undefined);
});
after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

function openNode(init: (dir: string) => void): TallyNode {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-follower-'));
  dirs.push(dir);
  init(dir);
  const node = TallyNode.open({ dataDir: dir, modules: allModules, synchronous: 'NORMAL', blockDelayMsMax: 2, verifierThreads: 1 });
  nodes.push(node);
  return node;
}

function register(): { env: Envelope; id: string } {
  const signer = signerFromPrivateKey(crypto.generateKeyPairSync('ed25519').privateKey);
  const id = accountIdFromPub(signer.pub);
  return { id, env: signTx({ chain: 'tally-dev', type: 'ledger.register', from: id, nonce: 0, expires: Math.floor(Date.now() / 1000) + 600, body: { name: `u${id.slice(0, 10)}` } }, signer) };
}

/** A writer with `count` blocks of two registrations each, and an empty replica of it. */
async function writerAndReplica(count: number): Promise<{ writer: TallyNode; replica: TallyNode; accounts: string[][] }> {
  const writer = openNode((dir) => initDataDir(dir, genesis, allModules));
  const accounts: string[][] = [];
  for (let i = 0; i < count; i++) {
    const regs = [register(), register()];
    await writer.submit(regs.map((r) => r.env));
    accounts.push(regs.map((r) => r.id));
  }
  const replica = openNode((dir) => initDataDir(dir, genesis, allModules, { chainKey: writer.chainKey, block0: writer.block(0)! }));
  return { writer, replica, accounts };
}

const prepareFrom = (writer: TallyNode, replica: TallyNode, from: number, count: number) =>
  blocksFrom(writer, from, count).blocks.map((b) => replica.follower!.prepare(b.block, b.txs));

/** Wait until the pool has checked every block (a run takes only blocks already checked). */
async function checked(readies: Prepared[]): Promise<Prepared[]> {
  await Promise.all(readies.map((r) => (r.checked instanceof TallyError ? undefined : r.checked.verdicts)));
  return readies;
}

/** Count the storage transactions the replica opens (a run is one). */
function countTransactions(node: TallyNode): { n: number } {
  const seen = { n: 0 };
  const store = node.follower!['store'];
  const real = store.transaction.bind(store);
  store.transaction = (fn) => {
    seen.n++;
    return real(fn);
  };
  return seen;
}

test('consecutive blocks import in one storage transaction and all agree with the writer', async () => {
  const { writer, replica, accounts } = await writerAndReplica(5);
  const seen = countTransactions(replica);
  const { committed, refusal } = await replica.follower!.importAll(await checked(prepareFrom(writer, replica, 1, 5)));
  assert.equal(refusal, undefined);
  assert.deepEqual(committed.map((e) => e.block.header.height), [1, 2, 3, 4, 5]);
  assert.equal(seen.n, 1, 'one storage transaction for the run');
  assert.equal(replica.tip.height, 5);
  assert.equal(replica.tip.stateRoot, writer.tip.stateRoot);
  assert.equal(replica.follower!.counts.blocks, 5);
  // Every block's module index reached memory after the commit (the ledger keeps recent history there).
  for (const [h, ids] of accounts.entries()) {
    for (const id of ids) assert.equal(historyRows(replica.store, { account: id, limit: 10 }).length, 1, `history of an account of block ${h + 1}`);
  }
  const report = await replica.verifySnapshot();
  assert.ok(report.ok, JSON.stringify(report.issues));
});

test('a refused block ends the run: the blocks before it stay committed, nothing after it is taken', async () => {
  const { writer, replica } = await writerAndReplica(4);
  const readies = blocksFrom(writer, 1, 4).blocks;
  const bad = readies[2]!;
  bad.block = signHeader({ ...bad.block.header, stateRoot: 'ab'.repeat(32) }, loadNodeSigner(writer.paths.nodeKey));
  const { committed, refusal } = await replica.follower!.importAll(await checked(readies.map((b) => replica.follower!.prepare(b.block, b.txs))));
  assert.deepEqual(committed.map((e) => e.block.header.height), [1, 2]);
  assert.equal(refusal?.code, 'bad_state_root');
  assert.equal(replica.tip.height, 2);
  assert.equal(replica.store.tip()!.hash, writer.block(2)!.hash);
  // The honest block 3 follows on.
  const again = await replica.follower!.importAll(prepareFrom(writer, replica, 3, 2));
  assert.deepEqual(again.committed.map((e) => e.block.header.height), [3, 4]);
  assert.equal(replica.tip.stateRoot, writer.tip.stateRoot);
});

test('a storage failure mid-run rolls every block of the run back, in the database and in memory', async () => {
  const { writer, replica, accounts } = await writerAndReplica(4);
  await replica.follower!.importAll(prepareFrom(writer, replica, 1, 1));
  const store = replica.follower!['store'];
  const real = store.writeBlock.bind(store);
  store.writeBlock = (c) => {
    if (c.block.height === 4) throw new Error('disk I/O error (injected)');
    real(c);
  };
  await assert.rejects(replica.follower!.importAll(await checked(prepareFrom(writer, replica, 2, 3))), /injected/);
  assert.equal(replica.store.tip()!.height, 1, 'blocks 2 and 3 rolled back with the run');
  assert.equal(replica.tip.height, 1, 'the tip is the database tip');
  assert.equal(replica.tip.stateRoot, writer.block(1)!.header.stateRoot);
  for (const id of accounts[1]!) {
    assert.equal(replica.state.get(`ledger/acct/${id}`), undefined, 'the state cache forgot block 2');
    assert.equal(historyRows(replica.store, { account: id, limit: 10 }).length, 0, 'the history index forgot block 2');
  }
  // The same blocks import cleanly afterwards: the tree and caches match the database.
  store.writeBlock = real;
  const { committed } = await replica.follower!.importAll(prepareFrom(writer, replica, 2, 3));
  assert.deepEqual(committed.map((e) => e.block.header.height), [2, 3, 4]);
  assert.equal(replica.tip.stateRoot, writer.tip.stateRoot);
  for (const id of accounts[1]!) assert.equal(historyRows(replica.store, { account: id, limit: 10 }).length, 1);
  const report = await replica.verifySnapshot();
  assert.ok(report.ok, JSON.stringify(report.issues));
});

test('a writer\'s block that fails to commit leaves nothing of it in the module indexes\' memory', async () => {
  const writer = openNode((dir) => initDataDir(dir, genesis, allModules));
  // The block's rows (its index rows too) are written, then the transaction fails.
  const real = writer.store.writeBlock.bind(writer.store);
  writer.store.writeBlock = (c) => {
    real(c);
    throw new Error('disk I/O error (injected)');
  };
  const lost = register();
  await writer.submit([lost.env]).catch(() => undefined);
  assert.equal(writer.tip.height, 0, 'nothing committed');
  writer.store.writeBlock = real;
  const kept = register();
  await writer.submit([kept.env]);
  assert.equal(writer.tip.height, 1);
  assert.equal(historyRows(writer.store, { account: kept.id, limit: 10 }).length, 1);
  assert.equal(historyRows(writer.store, { account: lost.id, limit: 10 }).length, 0, 'the failed block\'s rows never reach memory');
});
