// The libp2p transport over real TCP sockets on 127.0.0.1 (port 0): gossip, verdicts and
// scores, request-response, the frames a hostile peer can send, timeouts, drop and the
// deny list, and the identity file across a restart. Waits poll with generous deadlines
// (a loaded 2-core machine), and nothing asserts on timing.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { fail } from '../core/errors.js';
import { Libp2pTransport } from './libp2p.js';
import { openLibp2pTransport } from './load.js';
import { encodeVarint } from './framing.js';
import { noNetMetrics, type NetMetricsHooks } from './metrics.js';
import type { GossipMessage, Verdict, DropReason } from './transport.js';
import type { NetLimits } from './limits.js';

const LOOPBACK = ['/ip4/127.0.0.1/tcp/0'];
const running: Libp2pTransport[] = [];
const dirs: string[] = [];
after(async () => {
  await Promise.all(running.map((t) => t.stop()));
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function countingMetrics(): NetMetricsHooks & { dropped: DropReason[]; denied: DropReason[] } {
  const m = { ...noNetMetrics, dropped: [] as DropReason[], denied: [] as DropReason[] };
  m.peerDropped = (r) => { m.dropped.push(r); };
  m.peerDenied = (r) => { m.denied.push(r); };
  return m;
}

async function start(limits: Partial<NetLimits> = {}, metrics?: NetMetricsHooks): Promise<Libp2pTransport> {
  const t = new Libp2pTransport({ privateKey: await generateKeyPair('Ed25519'), listen: LOOPBACK, limits, metrics });
  await t.start();
  running.push(t);
  return t;
}

async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function connect(a: Libp2pTransport, b: Libp2pTransport): Promise<void> {
  const addr = b.addrs()[0];
  assert.ok(addr);
  assert.equal(await a.dial(addr), b.peerId);
  await until('the connection on both sides', () => a.peers().some((p) => p.id === b.peerId) && b.peers().some((p) => p.id === a.peerId));
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('libp2p transport', () => {
  it('delivers gossip across three nodes, relayed by the middle one', async () => {
    const [a, b, c] = [await start(), await start(), await start()];
    await connect(b, a);
    await connect(c, b); // a and c never connect: c hears a only through b
    const got: Record<string, GossipMessage[]> = { a: [], b: [], c: [] };
    for (const [name, t] of [['a', a], ['b', b], ['c', c]] as const) t.subscribe('/tally/t/blocks/1', (m) => { got[name]?.push(m); return 'accept'; });
    // b relays to its mesh, which gossipsub builds on its next heartbeat (1 s).
    await until('b to take c into its mesh', () => a.topicPeers('/tally/t/blocks/1').includes(b.peerId) && b.meshPeers('/tally/t/blocks/1').includes(c.peerId));
    await a.publish('/tally/t/blocks/1', bytes('block 1'));
    await until('c to hear a through b', () => got.c?.length === 1);
    assert.equal(text(got.c?.[0]?.data ?? new Uint8Array()), 'block 1');
    assert.equal(got.c?.[0]?.from, b.peerId, 'from is the relaying peer');
    assert.equal(got.b?.[0]?.from, a.peerId);
    assert.equal(got.a?.length, 0, 'no echo to the publisher');
    assert.equal(a.peers().some((p) => p.id === c.peerId), false);
  });

  it("scores the sender down on a 'reject' verdict and does not relay the message", async () => {
    const [a, b, c] = [await start(), await start(), await start()];
    await connect(a, b);
    await connect(c, b);
    const verdicts: Verdict[] = [];
    b.subscribe('/tally/t/txs/1', () => { verdicts.push('reject'); return 'reject'; });
    let cHeard = 0;
    c.subscribe('/tally/t/txs/1', () => { cHeard++; return 'accept'; });
    a.subscribe('/tally/t/txs/1', () => 'accept');
    await until('subscriptions and meshes', () => a.topicPeers('/tally/t/txs/1').includes(b.peerId) && b.meshPeers('/tally/t/txs/1').includes(c.peerId));
    await a.publish('/tally/t/txs/1', bytes('junk 1'));
    await a.publish('/tally/t/txs/1', bytes('junk 2'));
    await until('b to judge both', () => verdicts.length === 2);
    assert.equal(b.peers().find((p) => p.id === a.peerId)?.score, -20);
    await until('gossipsub to score a below 0', () => b.gossipScore(a.peerId) < 0);
    assert.equal(cHeard, 0, 'a rejected message is not relayed');
  });

  it('drops a peer once its score reaches the limit', async () => {
    const metrics = countingMetrics();
    const [a, b] = [await start(), await start({ scoreDropAt: -30 }, metrics)];
    await connect(a, b);
    b.subscribe('/tally/t/x/1', () => 'reject');
    a.subscribe('/tally/t/x/1', () => 'accept');
    await until('subscription', () => a.topicPeers('/tally/t/x/1').includes(b.peerId));
    for (let i = 0; i < 3; i++) await a.publish('/tally/t/x/1', bytes(`junk ${i}`));
    await until('b to drop a', () => b.deniedReason(a.peerId) === 'score');
    assert.deepEqual(metrics.dropped, ['score']);
  });

  it('answers a request, and passes a handler error code on', async () => {
    const [a, b] = [await start(), await start()];
    b.handle('/tally/t/echo/1', async (from, req) => {
      if (text(req) === 'fail') throw Object.assign(new Error('no such block'), { code: 'x' });
      return bytes(`${from === a.peerId ? 'a' : '?'}:${text(req)}`);
    }, { maxRequestBytes: 1024 });
    b.handle('/tally/t/coded/1', async () => fail('block_not_found', 'secret path /x'), { maxRequestBytes: 16 });
    await connect(a, b);
    assert.equal(text(await a.request(b.peerId, '/tally/t/echo/1', bytes('hello'))), 'a:hello');
    const big = new Uint8Array(300_000).fill(7); // several write pieces, a large response
    b.handle('/tally/t/big/1', async () => big, { maxRequestBytes: 16 });
    assert.deepEqual(await a.request(b.peerId, '/tally/t/big/1', new Uint8Array(0)), big);
    await assert.rejects(a.request(b.peerId, '/tally/t/coded/1', bytes('q')), (e: { code: string; details: { code: string } }) => e.code === 'net_remote_error' && e.details.code === 'block_not_found');
    await assert.rejects(a.request(b.peerId, '/tally/t/echo/1', bytes('fail')), (e: { details: { code: string } }) => e.details.code === 'internal');
    await assert.rejects(a.request(b.peerId, '/tally/t/big/1', new Uint8Array(0), { maxResponseBytes: 1000 }), { code: 'net_oversized' });
    assert.equal(a.deniedReason(b.peerId), 'oversized', 'an oversized response drops the server too');
  });

  it('refuses an oversized request without reading it, and drops the sender', async () => {
    const metrics = countingMetrics();
    const [a, b, c] = [await start(), await start({}, metrics), await start()];
    let served = 0;
    b.handle('/tally/t/sub/1', async () => { served++; return new Uint8Array(0); }, { maxRequestBytes: 1000 });
    await connect(a, b);
    await assert.rejects(a.request(b.peerId, '/tally/t/sub/1', new Uint8Array(1001)));
    await until('b to drop a', () => b.deniedReason(a.peerId) === 'oversized' && !b.peers().some((p) => p.id === a.peerId));
    // By hand: a prefix claiming 100 MB and a few bytes; refused on the prefix alone.
    await connect(c, b);
    const stream = await c.node.dialProtocol(b.node.peerId, '/tally/t/sub/1');
    stream.send(encodeVarint(100_000_000));
    stream.send(new Uint8Array(10));
    await until('b to drop c', () => b.deniedReason(c.peerId) === 'oversized');
    assert.equal(served, 0);
    assert.deepEqual(metrics.dropped, ['oversized', 'oversized']);
  });

  it('drops a peer that sends garbage on a protocol stream', async () => {
    const [a, b] = [await start(), await start()];
    let served = 0;
    b.handle('/tally/t/sub/1', async () => { served++; return new Uint8Array(0); }, { maxRequestBytes: 1 << 20 });
    await connect(a, b);
    const stream = await a.node.dialProtocol(b.node.peerId, '/tally/t/sub/1');
    stream.send(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x01])); // a length prefix that never ends
    await stream.close().catch(() => {});
    await until('b to drop a', () => b.deniedReason(a.peerId) === 'garbage');
    // A frame, then more bytes: one frame per direction.
    const c = await start();
    await connect(c, b);
    const s2 = await c.node.dialProtocol(b.node.peerId, '/tally/t/sub/1');
    s2.send(Uint8Array.from([0x02, 0x01, 0x02, 0x03]));
    await s2.close().catch(() => {});
    await until('b to drop c', () => b.deniedReason(c.peerId) === 'garbage');
    assert.equal(served, 0);
  });

  it('does not drop a peer whose request ends early because its connection went away', async () => {
    // libp2p ends a stream cleanly when its connection closes, so a request cut short by a
    // lost connection reads as a short frame: that is no proof of a hostile peer, and
    // denying it for 10 minutes would keep an honest replica from its writer.
    const outcomes: string[] = [];
    const metrics = { ...countingMetrics(), requestIn: (_p: string, o: string) => { outcomes.push(o); } };
    const [a, b] = [await start(), await start({}, metrics)];
    b.handle('/tally/t/cut/1', async () => new Uint8Array(0), { maxRequestBytes: 1 << 20 });
    await connect(a, b);
    const stream = await a.node.dialProtocol(b.node.peerId, '/tally/t/cut/1');
    stream.send(Uint8Array.from([0x05, 0x01, 0x02])); // 2 of 5 payload bytes, then the connection goes
    await a.node.hangUp(b.node.peerId);
    await until('b to see the request end', () => outcomes.length === 1);
    assert.equal(b.deniedReason(a.peerId), undefined);
    assert.deepEqual(metrics.dropped, []);
    // a comes back and is served.
    await connect(a, b);
    assert.equal((await a.request(b.peerId, '/tally/t/cut/1', new Uint8Array(1))).length, 0);
  });

  it('does not deny a peer whose process is killed in the middle of a request', async () => {
    // A replica killed with -9 while asking the writer for blocks must be able to come
    // back with the same identity: its cut-short request is a dead connection, not garbage.
    const metrics = countingMetrics();
    const served: string[] = [];
    metrics.requestIn = (_p, outcome) => { served.push(outcome); };
    const b = await start({}, metrics);
    b.handle('/tally/t/cut/1', async () => new Uint8Array(0), { maxRequestBytes: 1 << 20 });
    const libp2pJs = new URL('./libp2p.js', import.meta.url).href;
    for (const sent of [[100, 1, 2, 3], []]) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', `
        import { generateKeyPair } from '@libp2p/crypto/keys';
        const { Libp2pTransport } = await import(${JSON.stringify(libp2pJs)});
        const t = new Libp2pTransport({ privateKey: await generateKeyPair('Ed25519'), listen: [] });
        await t.start();
        await t.dial(${JSON.stringify(b.addrs()[0])});
        const stream = await t.node.dialProtocol(t.node.getConnections()[0].remotePeer, '/tally/t/cut/1');
        stream.send(Uint8Array.from(${JSON.stringify(sent)}));
        process.stdout.write(t.peerId + '\\n', () => process.kill(process.pid, 'SIGKILL'));
      `], { cwd: path.dirname(new URL(import.meta.url).pathname), stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
      await new Promise((r) => child.once('exit', r));
      const peer = out.trim();
      assert.match(peer, /^12D3Koo/);
      await until('b to see the killed peer go', () => !b.peers().some((p) => p.id === peer));
      await until('b to finish the cut-short request', () => served.length === (sent.length > 0 ? 1 : 2));
      assert.equal(b.deniedReason(peer), undefined, `after ${sent.length} bytes`);
    }
    assert.deepEqual(metrics.dropped, []);
  });

  it('gives up on a slow peer with net_timeout and scores it down', async () => {
    const [a, b] = [await start(), await start()];
    let release = (): void => {};
    b.handle('/tally/t/slow/1', () => new Promise((r) => { release = () => r(new Uint8Array(0)); }), { maxRequestBytes: 16 });
    await connect(a, b);
    await assert.rejects(a.request(b.peerId, '/tally/t/slow/1', bytes('x'), { timeoutMs: 500 }), { code: 'net_timeout' });
    assert.equal(a.peers().find((p) => p.id === b.peerId)?.score, -1);
    release();
  });

  it('caps requests in flight to one peer', async () => {
    const [a, b] = [await start({ requestsInFlightPerPeerMax: 2 }), await start()];
    const releases: Array<() => void> = [];
    b.handle('/tally/t/slow/1', () => new Promise((r) => { releases.push(() => r(bytes('ok'))); }), { maxRequestBytes: 16 });
    await connect(a, b);
    const first = [a.request(b.peerId, '/tally/t/slow/1', bytes('1')), a.request(b.peerId, '/tally/t/slow/1', bytes('2'))];
    await assert.rejects(a.request(b.peerId, '/tally/t/slow/1', bytes('3')), { code: 'net_too_many_requests' });
    await until('both requests to reach b', () => releases.length === 2);
    for (const r of releases) r();
    assert.deepEqual((await Promise.all(first)).map(text), ['ok', 'ok']);
  });

  it('hangs up on drop and refuses redials both ways while denied', async () => {
    const metrics = countingMetrics();
    const [a, b] = [await start(), await start({}, metrics)];
    await connect(a, b);
    await b.drop(a.peerId, 'bad_block');
    await until('the connection to close', () => !a.peers().some((p) => p.id === b.peerId) && !b.peers().some((p) => p.id === a.peerId));
    // b refuses a once a's Noise handshake names it. a's dial may resolve first (a
    // finishes its side of the handshake before b sees who it is), so the claim is that
    // no connection stays up and b counted the refusal.
    await a.dial(b.addrs()[0] ?? '').catch(() => {});
    await until('b to refuse the redial', () => metrics.denied.includes('bad_block'));
    await until('no connection to stay up', () => !a.peers().some((p) => p.id === b.peerId) && !b.peers().some((p) => p.id === a.peerId));
    await assert.rejects(b.dial(`${a.addrs()[0]}/p2p/${a.peerId}`), { code: 'net_peer_denied' });
    await assert.rejects(b.request(a.peerId, '/tally/t/x/1', bytes('x')), { code: 'net_peer_denied' });
    assert.equal(b.peers().length, 0);
    assert.deepEqual(metrics.dropped, ['bad_block']);
  });

  it('keeps at most peersMax connections, and refuses oversized gossip at publish', async () => {
    const hub = await start({ peersMax: 2, gossipBytesMax: 1000 });
    const spokes = [await start(), await start(), await start(), await start()];
    for (const s of spokes) await s.dial(hub.addrs()[0] ?? '').catch(() => {});
    // libp2p refuses or prunes the connections over the limit, not necessarily at once.
    await until('the hub to hold at most 2 peers', () => hub.peers().length <= 2 && hub.peers().length > 0);
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(hub.peers().length <= 2, `hub has ${hub.peers().length} peers`);
    await assert.rejects(hub.publish('/tally/t/blocks/1', new Uint8Array(1001)), { code: 'net_message_too_large' });
  });

  it('keeps its peer id across a restart from its key file (0600)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-p2p-'));
    dirs.push(dir);
    const first = await openLibp2pTransport({ dataDir: dir, listen: LOOPBACK });
    await first.start();
    running.push(first);
    assert.equal(fs.statSync(path.join(dir, 'p2p-key')).mode & 0o777, 0o600);
    await first.stop();
    const second = await openLibp2pTransport({ dataDir: dir, listen: LOOPBACK });
    await second.start();
    running.push(second);
    assert.equal(second.peerId, first.peerId);
    assert.equal(second.node.peerId.toString(), first.peerId);
  });
});
