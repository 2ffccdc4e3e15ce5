// A writer and a replica on two hosts: separate network namespaces joined by one veth
// pair (test/netns.ts), libp2p over that link. The replica follows; the link is cut; the
// writer goes on making blocks while the replica loses its peer and falls behind; the link
// is healed; the replica redials the writer by itself, catches up, and agrees with the
// writer on every block hash. Needs root (ip netns); skipped loudly where namespaces
// cannot be made, and failing instead under TALLY_REQUIRE_NETNS=1 (CI).
//
// How the test process reaches the nodes: through each node's Unix socket. A socket file
// is not confined by a network namespace, so the test (in the root namespace) submits,
// reads blocks and `node.info` (with the network status) over it, and runs `tally status
// --node SOCKET` from the root namespace too. The HTTP and internal listeners stay on each
// namespace's own loopback, and the only path between the two hosts is the veth link:
// no third link into the root namespace, no route that could bypass the cut.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { cleanup, cliOk, makeTx, newAccount, startNode, tempDir, until, type NodeProcess } from './helpers.js';
import { hostPairOrSkip, SocketClient } from './netns.js';

after(cleanup);

const { hosts, missing } = await hostPairOrSkip('test/replica-netns.test.ts', 'replica test');

interface NodeInfo {
  height: number;
  tipHash: string;
  network?: { state: string; peers: unknown[]; height: number };
}


const info = (c: SocketClient): Promise<NodeInfo> => c.call('node.info');

/** n registrations submitted in batches of 50; each batch is answered once committed. */
async function load(writer: SocketClient, n: number): Promise<void> {
  for (let i = 0; i < n; i += 50) {
    const txs = Array.from({ length: Math.min(50, n - i) }, () => { const a = newAccount(); return makeTx(a, 'ledger.register', { name: `n${a.id.slice(0, 12)}` }); });
    const results = (await writer.call('tx.submit', { txs }, 60_000)) as Array<{ status?: string; error?: unknown }>;
    assert.ok(results.every((r) => r.status === 'ok'), JSON.stringify(results.find((r) => r.status !== 'ok')));
  }
}

describe('a replica on another host (network namespaces): cut off and healed', { skip: missing ?? false, timeout: 150_000 }, () => {
  const live: NodeProcess[] = [];
  const clients: SocketClient[] = [];
  after(async () => {
    for (const c of clients) c.close();
    for (const n of live) await n.stop().catch(() => undefined);
  });

  it('follows over the veth link, loses the writer when the link goes down, redials and catches up when it comes back', async (t) => {
    const h = hosts!;
    const writer = await startNode({ prefix: h.exec(h.a), extraArgs: ['--p2p', `/ip4/${h.addrA}/tcp/0`] });
    live.push(writer);
    const p2p = (writer.listening as unknown as { p2p: { addrs: string[] } }).p2p;
    const writerAddr = p2p.addrs.find((a) => a.startsWith(`/ip4/${h.addrA}/`) && a.includes('/p2p/'));
    assert.ok(writerAddr, `the writer listens on its veth address: ${JSON.stringify(p2p)}`);
    const w = await SocketClient.open(writer);
    clients.push(w);
    await load(w, 100);

    // The replica is made and runs in the other namespace: its only way to the writer is the link.
    const dir = path.join(tempDir(), 'replica');
    await cliOk(writer.home, ['init', '--data', dir, '--follow', writerAddr, '--node-key', writer.nodeKey, '--json'], 60_000, h.exec(h.b));
    const replica = await startNode({ dataDir: dir, prefix: h.exec(h.b), extraArgs: ['--follow', writerAddr] });
    live.push(replica);
    const r = await SocketClient.open(replica);
    clients.push(r);
    const before = await info(w);
    await until('the replica to reach the writer over the link', async () => (await info(r)).height >= before.height);
    assert.equal((await r.call('block.get', { height: before.height })).hash, before.tipHash);

    // Cut: the writer goes on committing; the replica's connection dies (libp2p's ping
    // monitor aborts it) and it cannot dial back, so it has no peer and stays behind.
    await h.cut();
    const cutAt = Date.now();
    await load(w, 100);
    const during = await info(w);
    assert.ok(during.height > before.height, 'the writer makes blocks while the link is down');
    await until('the replica to lose its peer', async () => (await info(r)).network!.peers.length === 0, 60_000);
    const cutOff = await info(r);
    t.diagnostic(`the replica had no peer ${Date.now() - cutAt} ms after the cut, at height ${cutOff.height} of ${during.height}`);
    assert.equal(cutOff.network!.state, 'connecting');
    assert.ok(cutOff.height < during.height, `the replica is behind while cut off (${cutOff.height} < ${during.height})`);
    await load(w, 50);

    // Heal: nobody tells the replica; it redials the writer on its own and catches up.
    await h.heal();
    const healAt = Date.now();
    const end = await info(w);
    await until('the replica to redial and catch up after the heal', async () => (await info(r)).height >= end.height, 60_000);
    t.diagnostic(`caught up with the writer (height ${end.height}) ${Date.now() - healAt} ms after the heal`);
    const status = await cliOk(writer.home, ['status', '--node', replica.socket, '--json']);
    assert.equal(status.role, 'replica');
    assert.ok(status.network.peers.length >= 1, JSON.stringify(status.network));
    for (let height = 0; height <= end.height; height++) {
      const [a, b] = await Promise.all([w.call('block.get', { height }), r.call('block.get', { height })]);
      assert.deepEqual(b, a, `block ${height} agrees`);
    }
  });
});
