// Replicas on the in-memory network: a writer and real node stores in temporary
// directories, no sockets. Sync from genesis and follow, forwarded submits, hostile peers
// (bad signature, bad stateRoot, garbage, oversized) dropped while the honest writer is
// followed, and equivocation caught with its evidence stored.
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accountIdFromPub, signerFromPrivateKey, type Signer } from '../core/keys.js';
import { signHeader, type SignedBlock } from '../chain/blocks.js';
import { signTx, type Envelope } from '../chain/envelope.js';
import { defaultGenesis, genesisHash } from '../chain/genesis.js';
import { initDataDir, loadNodeSigner, TallyNode } from '../chain/node.js';
import { allModules, chainModules } from '../modules/index.js';
import { readEvidence } from './evidence.js';
import { MemoryNetwork, type MemoryTransport } from './memory.js';
import { encodeMessage, netLimits, protocolIds } from './protocol.js';
import { Replica } from './replica.js';
import { blocksFrom, statusOf, WriterNetwork } from './serve.js';

const dirs: string[] = [];
const open: Array<{ close(): Promise<void> }> = [];
const genesis = defaultGenesis(chainModules, { chain: 'tally-dev', decimals: 6, dev: true });
const ids = protocolIds('tally-dev', genesisHash(genesis));

afterEach(async () => {
  for (const n of open.splice(0)) await n.close().catch(() => undefined);
});
after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-replica-'));
  dirs.push(d);
  return d;
}

function openNode(dir: string): TallyNode {
  const node = TallyNode.open({ dataDir: dir, modules: allModules, synchronous: 'NORMAL', blockDelayMsMax: 2, verifierThreads: 1 });
  open.push(node);
  return node;
}

function account(): { signer: Signer; id: string; nonce: number } {
  const signer = signerFromPrivateKey(crypto.generateKeyPairSync('ed25519').privateKey);
  return { signer, id: accountIdFromPub(signer.pub), nonce: 0 };
}

function register(): Envelope {
  const a = account();
  return signTx({ chain: 'tally-dev', type: 'ledger.register', from: a.id, nonce: a.nonce++, expires: Math.floor(Date.now() / 1000) + 600, body: { name: `u${a.id.slice(0, 10)}` } }, a.signer);
}

async function until(what: string, fn: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A writer with `blocks` blocks of a few registrations each, serving on the memory network. */
async function writerWith(net: MemoryNetwork, blocks: number): Promise<{ node: TallyNode; transport: MemoryTransport; key: Signer }> {
  const dir = tempDir();
  initDataDir(dir, genesis, allModules);
  const node = openNode(dir);
  for (let i = 0; i < blocks; i++) await node.submit([register(), register(), register()]);
  const transport = net.transport('writer');
  await transport.start();
  new WriterNetwork(node, transport);
  return { node, transport, key: loadNodeSigner(node.paths.nodeKey) };
}

/** `beforeStart`: a test's fault injection, on the node and replica before the replica starts. */
async function replicaOf(net: MemoryNetwork, writer: TallyNode, follow: string[], name = 'replica', beforeStart?: (node: TallyNode, replica: Replica) => void) {
  const dir = tempDir();
  initDataDir(dir, genesis, allModules, { chainKey: writer.chainKey, block0: writer.block(0)! });
  const node = openNode(dir);
  const transport = net.transport(name);
  await transport.start();
  const replica = new Replica(node, transport, { follow, statusIntervalMs: 100, requestTimeoutMs: 5000, receiptWaitMs: 10_000 });
  open.unshift({ close: () => replica.stop() });
  beforeStart?.(node, replica);
  await replica.start();
  return { node, transport, replica };
}

test('a replica syncs from genesis, follows new blocks, and agrees on every root', async () => {
  const net = new MemoryNetwork();
  const w = await writerWith(net, 5);
  const r = await replicaOf(net, w.node, ['writer']);
  await until('the replica to reach the writer', () => r.node.tip.height === w.node.tip.height);
  for (let i = 0; i < 3; i++) await w.node.submit([register()]);
  await until('the replica to follow new blocks', () => r.node.tip.height === w.node.tip.height);
  assert.equal(r.node.tip.height, 8);
  for (let h = 0; h <= 8; h++) assert.deepEqual(r.node.block(h), w.node.block(h), `block ${h}`);
  assert.equal(r.node.tip.stateRoot, w.node.tip.stateRoot);
  const report = await r.node.verifySnapshot();
  assert.ok(report.ok, JSON.stringify(report.issues));
  const s = r.replica.status();
  assert.equal(s.state, 'following');
  assert.equal(s.lagBlocks, 0);
  assert.equal(s.blocksVerified, 8);
  assert.equal(r.node.info().nodeKey, w.node.chainKey, 'a replica names the chain key, not its own');
});

test('a transaction submitted to a replica is committed by the writer and acknowledged once the replica has its block', async () => {
  const net = new MemoryNetwork();
  const w = await writerWith(net, 1);
  const r = await replicaOf(net, w.node, ['writer']);
  await until('the replica to sync', () => r.node.tip.height === w.node.tip.height);
  const env = register();
  const [result] = await r.node.submit([env]);
  assert.equal((result as { status?: string }).status, 'ok', JSON.stringify(result));
  const id = (result as { id: string }).id;
  assert.ok(w.node.tx(id), 'the writer committed it');
  assert.deepEqual(r.node.tx(id)?.receipt, result, 'the replica answers with the receipt from its own store');
});

test('a replica refuses submits with no_writer when it reaches no writer', async () => {
  const net = new MemoryNetwork();
  const w = await writerWith(net, 1);
  const r = await replicaOf(net, w.node, ['writer']);
  await until('the replica to sync', () => r.node.tip.height === w.node.tip.height);
  await w.transport.stop();
  await assert.rejects(r.node.submit([register()]), /cannot reach the writer/);
});

test('a dial that hangs is not started again on every tick, and status asks go on meanwhile', async () => {
  const net = new MemoryNetwork();
  const w = await writerWith(net, 1);
  const dir = tempDir();
  initDataDir(dir, genesis, allModules, { chainKey: w.node.chainKey, block0: w.node.block(0)! });
  const node = openNode(dir);
  const transport = net.transport('replica');
  await transport.start();
  // The writer answers; a second address never answers a dial (a host cut off the network).
  let hanging = 0;
  const dial = transport.dial.bind(transport);
  transport.dial = (addr: string) => (addr === 'black-hole' ? (hanging++, new Promise<string>(() => undefined)) : dial(addr));
  let statusAsks = 0;
  const request = transport.request.bind(transport);
  transport.request = (peer, protocol, data, options) => {
    if (protocol === ids.status) statusAsks++;
    return request(peer, protocol, data, options);
  };
  const replica = new Replica(node, transport, { follow: ['writer', 'black-hole'], statusIntervalMs: 20, requestTimeoutMs: 5000 });
  open.unshift({ close: () => replica.stop() });
  void replica.start();
  await until('the replica to sync past the hanging dial', () => node.tip.height === w.node.tip.height);
  const asked = statusAsks;
  await until('ticks to ask the writer\'s status again and again', () => statusAsks >= asked + 5);
  assert.equal(hanging, 1, 'one dial of the silent address in flight, not one per tick');
});

/** A hostile peer that claims a head past the writer's and answers `blocks` with `answer`. */
async function hostile(net: MemoryNetwork, name: string, writer: TallyNode, answer: (from: number) => Uint8Array): Promise<MemoryTransport> {
  const t = net.transport(name);
  await t.start();
  t.handle(ids.status, async () => encodeMessage({ ...statusOf(writer), height: writer.tip.height + 5 }), { maxRequestBytes: 1024 });
  t.handle(ids.blocks, async (_from, data) => answer((JSON.parse(new TextDecoder().decode(data)) as { from: number }).from), { maxRequestBytes: 1024 });
  return t;
}

test('peers sending a bad signature, a bad stateRoot, garbage or an oversized answer are dropped; the replica follows the writer', async () => {
  const net = new MemoryNetwork();
  const w = await writerWith(net, 4);
  const stranger = account().signer;
  const real = (from: number) => blocksFrom(w.node, from, 1);
  await hostile(net, 'badsig', w.node, (from) => {
    const resp = real(from);
    resp.blocks[0]!.block = { ...resp.blocks[0]!.block, sig: stranger.sign(new Uint8Array([1])) };
    return encodeMessage(resp);
  });
  await hostile(net, 'badroot', w.node, (from) => {
    // Signed with the chain's own key (as a compromised or buggy writer would): only re-execution catches it.
    const resp = real(from);
    const b = resp.blocks[0]!.block;
    resp.blocks[0]!.block = signHeader({ ...b.header, stateRoot: 'ab'.repeat(32) }, w.key);
    return encodeMessage(resp);
  });
  await hostile(net, 'garbage', w.node, () => new TextEncoder().encode('{"blocks": [{"block": 7}'));
  await hostile(net, 'huge', w.node, () => new Uint8Array(netLimits.blocksResponseBytesMax + 1));
  const r = await replicaOf(net, w.node, ['badsig', 'badroot', 'garbage', 'huge', 'writer']);
  await until('the replica to reach the writer', () => r.node.tip.height === w.node.tip.height && r.transport.dropped.size === 4);
  assert.deepEqual(Object.fromEntries(r.transport.dropped), { badsig: 'bad_signature', badroot: 'bad_state_root', garbage: 'garbage', huge: 'oversized' });
  assert.deepEqual(r.replica.status().rejectedPeers, { bad_signature: 1, bad_state_root: 1, garbage: 1, oversized: 1 });
  assert.equal(r.node.tip.stateRoot, w.node.tip.stateRoot);
  const report = await r.node.verifySnapshot();
  assert.ok(report.ok, JSON.stringify(report.issues));
});

test('junk gossip is refused and its sender dropped', async () => {
  const net = new MemoryNetwork();
  const w = await writerWith(net, 1);
  const junk = net.transport('junk');
  await junk.start();
  const r = await replicaOf(net, w.node, ['writer', 'junk']);
  await until('both peers connected', () => r.transport.peers().length === 2);
  await junk.publish(ids.headersTopic, new TextEncoder().encode('not json'));
  await until('the junk peer dropped', () => r.transport.dropped.get('junk') === 'garbage');
  await w.node.submit([register()]);
  await until('the replica to follow the writer', () => r.node.tip.height === w.node.tip.height);
});

test('two blocks signed at one height are caught: evidence stored, following stops, /health says so', async () => {
  const net = new MemoryNetwork();
  const w = await writerWith(net, 3);
  const r = await replicaOf(net, w.node, ['writer']);
  await until('the replica to sync', () => r.node.tip.height === w.node.tip.height);
  // Test-only fault: the writer's key signs a second block 2 and shows it to this replica.
  const b2 = w.node.block(2)!;
  const other: SignedBlock = signHeader({ ...b2.header, time: b2.header.time + 1 }, w.key);
  await w.transport.publish(ids.headersTopic, encodeMessage(other));
  await until('the equivocation to be caught', () => r.replica.status().state === 'halted');
  const evidence = readEvidence(r.node.paths.dir);
  assert.ok(evidence);
  assert.equal(evidence.height, 2);
  assert.deepEqual(evidence.blocks.map((b) => b.hash).sort(), [b2.hash, other.hash].sort());
  const health = r.node.health.report();
  assert.equal(health.ok, false);
  assert.match(health.components.network!.reason!, /equivocation at height 2/);
  assert.deepEqual(r.replica.status().equivocation?.hashes.sort(), [b2.hash, other.hash].sort());
  // It follows no more, and takes no submits.
  await assert.rejects(r.node.submit([register()]), { code: 'replica_halted' });
  await w.node.submit([register()]);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(r.node.tip.height, 3);
});

test('a second block gossiped while its height is being imported is caught after the import', async () => {
  const net = new MemoryNetwork();
  const w = await writerWith(net, 3);
  // Test-only fault: the writer's key signs a second block 2, and its header arrives after
  // the replica compared the batch with the headers it had seen, before block 2 is stored.
  const b2 = w.node.block(2)!;
  const other: SignedBlock = signHeader({ ...b2.header, time: b2.header.time + 1 }, w.key);
  let injected = false;
  const { node, replica } = await replicaOf(net, w.node, ['writer'], 'replica', (node, replica) => {
    const follower = node.follower!;
    const importAll = follower.importAll.bind(follower);
    follower.importAll = async (readies) => {
      if (!injected && readies.some((r) => r.block.header.height === 2)) {
        injected = true;
        (replica as unknown as { onHeader(m: { from: string; topic: string; data: Uint8Array }): string }).onHeader({ from: 'writer', topic: ids.headersTopic, data: encodeMessage(other) });
      }
      return importAll(readies);
    };
  });
  await until('the equivocation to be caught', () => replica.status().state === 'halted');
  assert.ok(injected);
  assert.deepEqual(readEvidence(node.paths.dir)?.blocks.map((b) => b.hash).sort(), [b2.hash, other.hash].sort());
});

test('a replica directory is refused when block 0 is not signed by the chain key it trusts', async () => {
  const net = new MemoryNetwork();
  const w = await writerWith(net, 0);
  const dir = path.join(tempDir(), 'r');
  const block0 = w.node.block(0)!;
  assert.throws(() => initDataDir(dir, genesis, allModules, { chainKey: account().signer.pub, block0 }), { code: 'genesis_mismatch' });
  assert.throws(() => initDataDir(dir, genesis, allModules, { chainKey: w.node.chainKey, block0: { ...block0, sig: account().signer.sign(new Uint8Array([0])) } }), { code: 'bad_signature' });
  assert.equal(fs.existsSync(dir), false, 'nothing was created');
});
