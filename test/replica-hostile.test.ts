// Hostile peers, equivocation and kill -9, against real `tally node` processes over real
// libp2p on loopback. The hostile peers are libp2p nodes in this test process
// (src/net/libp2p.ts, a fresh identity each, since a dropped peer is refused for minutes)
// that dial the replica and speak the Tally protocol: one serves a block with a bad
// signature, one a block signed by the chain key with a wrong stateRoot, one an oversized
// frame, one garbage bytes. The test holds the writer's node.key (it made the writer's
// data directory), so the bad-stateRoot block and the equivocating header are signed by
// the real chain key; nothing in the shipped node is changed for these tests.
//
// While the hostile peers speak, the replica must lack blocks the writer has (else the
// replica asks nobody for anything): it reaches the writer through a TCP relay in this
// process, which the test cuts (closing every relayed socket and refusing new ones) and
// heals.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Stream } from '@libp2p/interface';
import { signHeader, type SignedBlock } from '../src/chain/blocks.js';
import { dataPaths, loadNodeSigner } from '../src/chain/datadir.js';
import { signerFromPrivateKey } from '../src/core/keys.js';
import { encodeVarint } from '../src/net/framing.js';
import { Libp2pTransport } from '../src/net/libp2p.js';
import { decodeMessage, encodeMessage, netLimits, protocolIds, type WireBlock } from '../src/net/protocol.js';
import { cleanup, cli, cliOk, getOk, httpGet, httpPost, makeTx, newAccount, startNode, tempDir, withTimeout, type Account, type NodeProcess } from './helpers.js';

after(cleanup);

async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 60_000, detail?: () => Promise<string>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}${detail ? `\n${await detail().catch((e: Error) => e.message)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function tip(node: NodeProcess): Promise<{ height: number; tipHash: string; chain: string; genesisHash: string }> {
  return (await getOk(`${node.http}/v1/node`)) as { height: number; tipHash: string; chain: string; genesisHash: string };
}

function p2pAddr(node: NodeProcess): string {
  const p2p = (node.listening as unknown as { p2p: { addrs: string[] } | null }).p2p;
  const addr = p2p?.addrs.find((a) => a.includes('/p2p/') && a.includes('/127.0.0.1/'));
  assert.ok(addr, `the node listens on libp2p: ${JSON.stringify(p2p)}`);
  return addr;
}

async function metricsText(node: NodeProcess): Promise<string> {
  return withTimeout(fetch(`${node.internal}/metrics`).then((r) => r.text()), 10_000, 'metrics');
}

/** The value of one sample (`name{labels} value`), 0 when absent. */
function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}}` : `${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** Registrations in batches of 100, on the writer. */
async function registerMany(node: NodeProcess, accounts: Account[]): Promise<void> {
  for (let i = 0; i < accounts.length; i += 100) {
    const batch = accounts.slice(i, i + 100).map((a) => makeTx(a, 'ledger.register', { name: `u${a.id.slice(0, 12)}` }));
    const r = await httpPost(`${node.http}/v1/txs`, batch, { timeoutMs: 60_000 });
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
  }
}

/** A TCP relay to `target` (host:port) that the test can cut and heal. */
async function relay(targetPort: number): Promise<{ port: number; cut(): void; heal(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((inbound) => {
    if (!open) return inbound.destroy();
    const outbound = net.connect(targetPort, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() { open = false; for (const s of sockets) s.destroy(); },
    heal() { open = true; },
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

/** A libp2p node in this process with a fresh identity, listening on loopback. */
async function peerNode(): Promise<Libp2pTransport> {
  const t = new Libp2pTransport({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'] });
  await t.start();
  return t;
}

/** Answer every stream of `protocol` with exactly `bytes`, whatever was asked. */
async function rawAnswer(t: Libp2pTransport, protocol: string, bytes: Uint8Array): Promise<void> {
  await t.node.handle(protocol, async (stream: Stream) => {
    stream.send(bytes);
    await stream.close().catch(() => stream.abort(new Error('closed')));
  }, { force: true });
}

function peerIdOf(addr: string): string {
  return addr.slice(addr.lastIndexOf('/p2p/') + 5);
}

describe('hostile peers and a lying writer key, against real replica processes over libp2p', () => {
  let writer: NodeProcess;
  let writerAddr: string;
  let ids: ReturnType<typeof protocolIds>;
  let chain: { chain: string; genesisHash: string };
  let link: Awaited<ReturnType<typeof relay>>;
  let replica: NodeProcess;
  let replicaAddr: string;
  const accounts = Array.from({ length: 60 }, () => newAccount());
  const live: NodeProcess[] = [];
  const peers: Libp2pTransport[] = [];
  after(async () => {
    for (const p of peers) await p.stop().catch(() => undefined);
    for (const n of live) await n.stop().catch(() => undefined);
    await link?.close();
  });

  /** The writer's blocks from `from` as the protocol carries them (the test asks it directly). */
  let fetcher: Libp2pTransport;
  async function wireBlock(height: number): Promise<WireBlock> {
    const bytes = await fetcher.request(peerIdOf(writerAddr), ids.blocks, encodeMessage({ from: height, count: 1 }), { timeoutMs: 20_000 });
    const wire = decodeMessage('blocksResponse', bytes).blocks[0];
    assert.ok(wire && wire.block.header.height === height, `the writer has block ${height}`);
    return wire;
  }

  /** Cut the replica from the writer and let the writer commit blocks the replica lacks. */
  async function cutAndAdvance(): Promise<number> {
    link.cut();
    await until('the replica to lose the writer', async () => {
      const m = await metricsText(replica);
      return sample(m, 'tally_net_peers', 'direction="inbound"') + sample(m, 'tally_net_peers', 'direction="outbound"') === 0;
    });
    const before = (await tip(writer)).height;
    await registerMany(writer, Array.from({ length: 30 }, () => newAccount()));
    const w = (await tip(writer)).height;
    assert.ok(w > before, 'the writer made blocks the replica lacks');
    return w;
  }

  it('drops peers serving a bad signature, a bad stateRoot, an oversized frame and garbage; keeps following the writer', async () => {
    writer = await startNode({ extraArgs: ['--p2p', '/ip4/127.0.0.1/tcp/0'] });
    live.push(writer);
    writerAddr = p2pAddr(writer);
    chain = await tip(writer);
    ids = protocolIds(chain.chain, chain.genesisHash);
    await registerMany(writer, accounts);
    fetcher = await peerNode();
    peers.push(fetcher);
    await fetcher.dial(writerAddr);

    link = await relay(Number(/\/tcp\/(\d+)\//.exec(writerAddr)![1]));
    const viaRelay = writerAddr.replace(/\/tcp\/\d+\//, `/tcp/${link.port}/`);
    const dir = path.join(tempDir(), 'replica');
    await cliOk(writer.home, ['init', '--data', dir, '--follow', writerAddr, '--node-key', writer.nodeKey, '--json'], 60_000);
    replica = await startNode({ dataDir: dir, home: writer.home, extraArgs: ['--follow', viaRelay] });
    live.push(replica);
    replicaAddr = p2pAddr(replica);
    await until('the replica to reach the writer', async () => (await tip(replica)).height >= (await tip(writer)).height);

    await cutAndAdvance();
    const stuck = (await tip(replica)).height;
    const next = await wireBlock(stuck + 1);
    const chainKey = loadNodeSigner(dataPaths(writer.dataDir).nodeKey);
    const stranger = signerFromPrivateKey(crypto.generateKeyPairSync('ed25519').privateKey);
    const claim = encodeMessage({ chain: chain.chain, genesisHash: chain.genesisHash, height: stuck + 50, hash: 'cd'.repeat(32) });
    const serve = (block: SignedBlock) => encodeMessage({ blocks: [{ block, txs: next.txs }] });
    // The writer's real next block, with another key's signature over its header.
    const badSig: SignedBlock = { ...next.block, sig: signHeader(next.block.header, stranger).sig };
    // Signed by the chain key itself (a compromised or buggy writer): only re-execution catches it.
    const badRoot = signHeader({ ...next.block.header, stateRoot: 'ab'.repeat(32) }, chainKey);
    const hostiles: Array<{ reason: string; setup(t: Libp2pTransport): Promise<void> }> = [
      { reason: 'bad_signature', async setup(t) {
        t.handle(ids.status, async () => claim, { maxRequestBytes: 1024 });
        t.handle(ids.blocks, async () => serve(badSig), { maxRequestBytes: 1024 });
      } },
      { reason: 'bad_state_root', async setup(t) {
        t.handle(ids.status, async () => claim, { maxRequestBytes: 1024 });
        t.handle(ids.blocks, async () => serve(badRoot), { maxRequestBytes: 1024 });
      } },
      { reason: 'oversized', async setup(t) {
        // A frame whose length prefix is past the largest blocks response: refused at the prefix.
        t.handle(ids.status, async () => claim, { maxRequestBytes: 1024 });
        await rawAnswer(t, ids.blocks, Uint8Array.from([...encodeVarint(netLimits.blocksResponseBytesMax + 64), 0, 1, 2, 3]));
      } },
      { reason: 'garbage', async setup(t) {
        // Noise that is not one frame: a length prefix of 5, then 63 bytes where 5 belong.
        await rawAnswer(t, ids.status, Uint8Array.from([5, ...crypto.randomBytes(63)]));
      } },
    ];
    for (const h of hostiles) {
      const t = await peerNode();
      peers.push(t);
      await h.setup(t);
      await t.dial(replicaAddr);
      await until(`the ${h.reason} peer to be dropped`, async () => sample(await metricsText(replica), 'tally_replica_peers_rejected_total', `reason="${h.reason}"`) >= 1);
      await until(`the replica to hang up on the ${h.reason} peer`, () => !t.peers().some((p) => p.id === peerIdOf(replicaAddr)));
      assert.equal((await tip(replica)).height, stuck, `nothing from the ${h.reason} peer was stored`);
      await t.stop();
    }
    const m = await metricsText(replica);
    for (const reason of ['bad_signature', 'bad_state_root', 'oversized', 'garbage']) {
      assert.equal(sample(m, 'tally_replica_peers_rejected_total', `reason="${reason}"`), 1, reason);
      assert.equal(sample(m, 'tally_net_peers_dropped_total', `reason="${reason}"`), 1, reason);
    }
    const status = await cliOk(writer.home, ['status', '--node', replica.socket, '--json']);
    assert.deepEqual(status.network.rejectedPeers, { bad_signature: 1, bad_state_root: 1, oversized: 1, garbage: 1 });

    // The honest writer again: the replica catches up and agrees on every block.
    link.heal();
    await registerMany(writer, Array.from({ length: 20 }, () => newAccount()));
    const w = await tip(writer);
    await until('the replica to catch up with the writer', async () => (await tip(replica)).height >= w.height);
    for (let h = stuck; h <= w.height; h++) {
      assert.deepEqual(await getOk(`${replica.http}/v1/blocks/${h}`), await getOk(`${writer.http}/v1/blocks/${h}`), `block ${h}`);
    }
  });

  it('a second block signed by the writer key at a height the replica will reach is caught: evidence, halt, /health fails', async () => {
    const w = await cutAndAdvance();
    const stuck = (await tip(replica)).height;
    assert.ok(w > stuck);
    const real = (await wireBlock(stuck + 1)).block;
    // Test-side fault injection: the writer's own key signs a different block stuck + 1.
    const chainKey = loadNodeSigner(dataPaths(writer.dataDir).nodeKey);
    const forged = signHeader({ ...real.header, time: real.header.time + 1 }, chainKey);
    assert.notEqual(forged.hash, real.hash);

    const rogue = await peerNode();
    peers.push(rogue);
    await rogue.dial(replicaAddr);
    const replicaId = peerIdOf(replicaAddr);
    await until('the rogue to see the replica on the headers topic', () => rogue.topicPeers(ids.headersTopic).includes(replicaId));
    const accepted = (text: string) => sample(text, 'tally_net_gossip_in_total', `topic="${ids.headersTopic}",verdict="accept"`);
    const before = accepted(await metricsText(replica));
    await rogue.publish(ids.headersTopic, encodeMessage(forged));
    await until('the replica to take the forged header', async () => accepted(await metricsText(replica)) > before);
    // Gone before the heal: a replica redials its --follow peers only while it has fewer peers than them.
    await rogue.stop();

    // The writer's real block at that height reaches the replica: two signed blocks, one height.
    link.heal();
    const file = path.join(replica.dataDir, 'equivocation.json');
    await until('the evidence to be stored', () => fs.existsSync(file));
    const evidence = JSON.parse(fs.readFileSync(file, 'utf8')) as { kind: string; height: number; chainKey: string; blocks: SignedBlock[] };
    assert.equal(evidence.kind, 'equivocation');
    assert.equal(evidence.height, stuck + 1);
    assert.equal(evidence.chainKey, writer.nodeKey);
    assert.deepEqual(evidence.blocks.map((b) => b.hash).sort(), [real.hash, forged.hash].sort());
    await until('/health to fail', async () => (await httpGet(`${replica.internal}/health`)).status === 503);
    const health = await httpGet(`${replica.internal}/health`);
    assert.match(JSON.stringify(health.body), /equivocation at height/);
    const m = await metricsText(replica);
    assert.equal(sample(m, 'tally_replica_equivocation'), 1);
    const status = await cliOk(writer.home, ['status', '--node', replica.socket, '--json']);
    assert.equal(status.network.state, 'halted');
    assert.equal(status.network.equivocation.height, stuck + 1);
    assert.equal((await tip(replica)).height, stuck, 'it stored neither block at the forked height');
    // It takes no submits either.
    const late = accounts[0]!;
    const r = await httpPost(`${replica.http}/v1/txs`, makeTx(late, 'ledger.send', { to: `u${accounts[1]!.id.slice(0, 12)}`, amount: '0.01' }, { nonce: late.nonce }), { timeoutMs: 20_000 });
    assert.equal(r.status, 503, JSON.stringify(r.body));
    await replica.stop();
    live.splice(live.indexOf(replica), 1);
  });

  it('a replica killed with -9 under a stream of transfers restarts and catches up: nothing lost or duplicated', async () => {
    const dir = path.join(tempDir(), 'replica2');
    await cliOk(writer.home, ['init', '--data', dir, '--follow', writerAddr, '--node-key', writer.nodeKey, '--json'], 60_000);
    let r2: NodeProcess | undefined = await startNode({ dataDir: dir, home: writer.home, extraArgs: ['--follow', writerAddr] });
    live.push(r2);
    await until('the new replica to sync', async () => (await tip(r2!)).height >= (await tip(writer)).height);

    const names = accounts.map((a) => `u${a.id.slice(0, 12)}`);
    const acked: Array<{ id: string; height: number }> = [];
    const ack = (body: unknown) => {
      for (const x of [body].flat() as Array<{ id: string; height: number; status: string }>) {
        assert.equal(x.status, 'ok', JSON.stringify(x));
        acked.push({ id: x.id, height: x.height });
      }
    };
    // 24 rounds: 10 transfers to the writer each; every third round one to the replica
    // (forwarded, acknowledged through it); the replica dies at round 8, returns at 16.
    const viaWriter = accounts.slice(0, 50);
    const viaReplica = accounts.slice(50);
    for (let round = 0; round < 24; round++) {
      const batch = Array.from({ length: 10 }, (_, i) => makeTx(viaWriter[(round * 10 + i) % 50]!, 'ledger.send', { to: names[(round + i + 1) % 60]!, amount: '0.01' }));
      const sent = httpPost(`${writer.http}/v1/txs`, batch, { timeoutMs: 60_000 });
      if (round === 8) {
        await r2!.kill9();
        live.splice(live.indexOf(r2!), 1);
        r2 = undefined;
      }
      if (round === 16) {
        r2 = await startNode({ dataDir: dir, home: writer.home, extraArgs: ['--follow', writerAddr] });
        live.push(r2);
        // Until it has the writer's status it answers submits with no_writer (retry later).
        const back = r2;
        let last: unknown;
        await until('the restarted replica to hear from the writer', async () => {
          last = (await cliOk(writer.home, ['status', '--node', back.socket, '--json'])).network;
          return (last as { peers: Array<{ height: number | null }> }).peers.some((p) => p.height !== null);
        }, 60_000, async () => `status ${JSON.stringify(last)}\nreplica stderr: ${back.stderr().slice(-3000)}\nwriter stderr: ${writer.stderr().slice(-3000)}\nmetrics: ${(await metricsText(back)).split('\n').filter((l) => l.startsWith('tally_net_')).join('\n')}`);
      }
      const res = await sent;
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
      ack(res.body);
      if (r2 && round % 3 === 0) {
        const from = viaReplica[round % viaReplica.length]!;
        const viaR = await httpPost(`${r2.http}/v1/txs`, makeTx(from, 'ledger.send', { to: names[0]!, amount: '0.02' }), { timeoutMs: 60_000 });
        assert.equal(viaR.status, 200, JSON.stringify(viaR.body));
        ack(viaR.body);
      }
    }
    const w = await tip(writer);
    const again = r2!;
    await until('the restarted replica to catch up', async () => (await tip(again)).height >= w.height);
    let writerTxs = 0;
    let replicaTxs = 0;
    for (let h = 0; h <= w.height; h++) {
      const [a, b] = [await getOk(`${writer.http}/v1/blocks/${h}`), await getOk(`${again.http}/v1/blocks/${h}`)];
      assert.equal(b.hash, a.hash, `block ${h}`);
      assert.deepEqual(b.txs, a.txs, `the transactions of block ${h}`);
      assert.equal(b.header.txCount, b.txs.length);
      writerTxs += a.header.txCount;
      replicaTxs += b.header.txCount;
    }
    assert.equal(replicaTxs, writerTxs);
    assert.equal(new Set(acked.map((x) => x.id)).size, acked.length, 'every acknowledged transaction is distinct');
    for (const x of acked) {
      const t = (await getOk(`${again.http}/v1/txs/${x.id}`)) as { receipt: { height: number; status: string } };
      assert.equal(t.receipt.height, x.height, `${x.id} is where the writer acknowledged it`);
    }
    await again.stop();
    live.splice(live.indexOf(again), 1);
    const verify = await cli(writer.home, ['chain', 'verify', '--data', dir, '--node-key', writer.nodeKey, '--json'], 120_000);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.equal(JSON.parse(verify.stdout).ok, true);
  });
});
