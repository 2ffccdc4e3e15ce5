// A writer and two replicas as real processes on loopback, over libp2p: one replica made
// from the writer's genesis and block 0 (`tally init --follow`) syncs from genesis, the
// other starts from a state snapshot (`tally init --from-snapshot --replica`). Both agree
// with the writer on every block, a transaction submitted to a replica is committed by the
// writer and acknowledged through the replica, `tally status` shows the sync state, a
// replica killed with -9 catches up after a restart, and `tally chain verify` passes on
// every data directory.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { cleanup, cli, cliOk, getOk, httpPost, makeTx, newAccount, startNode, tempDir, until, withTimeout, type NodeProcess } from './helpers.js';

after(cleanup);

const TXS = 300;

async function tip(node: NodeProcess): Promise<{ height: number; tipHash: string }> {
  return (await getOk(`${node.http}/v1/node`)) as { height: number; tipHash: string };
}

/** Registrations in batches of 100: TXS transactions, a few blocks. */
async function load(node: NodeProcess, n: number): Promise<void> {
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, () => { const a = newAccount(); return makeTx(a, 'ledger.register', { name: `u${a.id.slice(0, 12)}` }); });
    const r = await httpPost(`${node.http}/v1/txs`, batch, { timeoutMs: 60_000 });
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
  }
}

describe('replicas over libp2p on loopback', () => {
  let writer: NodeProcess;
  let writerAddr: string;
  let home: string;
  const live: NodeProcess[] = [];
  after(async () => { for (const n of live) await n.stop().catch(() => undefined); });

  it('a replica made with init --follow syncs from genesis and agrees on every block', async () => {
    writer = await startNode({ extraArgs: ['--p2p', '/ip4/127.0.0.1/tcp/0'] });
    live.push(writer);
    home = writer.home;
    const p2p = (writer.listening as unknown as { p2p: { addrs: string[] } }).p2p;
    writerAddr = p2p.addrs.find((a) => a.includes('/p2p/'))!;
    assert.ok(writerAddr, `the writer listens on libp2p: ${JSON.stringify(p2p)}`);
    await load(writer, TXS);

    const dir = path.join(tempDir(), 'replica');
    const init = await cliOk(home, ['init', '--data', dir, '--follow', writerAddr, '--node-key', writer.nodeKey, '--json'], 60_000);
    assert.equal(init.role, 'replica');
    const replica = await startNode({ dataDir: dir, extraArgs: ['--follow', writerAddr] });
    live.push(replica);
    assert.equal(replica.nodeKey, writer.nodeKey, 'a replica names the chain key');
    const w = await tip(writer);
    await until('the replica to reach the writer', async () => (await tip(replica)).height >= w.height);
    assert.equal((await tip(replica)).tipHash === w.tipHash || (await tip(replica)).height > w.height, true);
    for (let h = 0; h <= w.height; h++) {
      assert.deepEqual(await getOk(`${replica.http}/v1/blocks/${h}`), await getOk(`${writer.http}/v1/blocks/${h}`), `block ${h}`);
    }

    // Submitted to the replica: committed by the writer, acknowledged through the replica.
    const a = newAccount();
    const env = makeTx(a, 'ledger.register', { name: `r${a.id.slice(0, 12)}` });
    const r = await httpPost(`${replica.http}/v1/txs`, env, { timeoutMs: 60_000 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((r.body as { status: string }).status, 'ok');
    const id = (r.body as { id: string }).id;
    assert.equal(((await getOk(`${writer.http}/v1/txs/${id}`)) as { receipt: { status: string } }).receipt.status, 'ok');

    const status = await cliOk(home, ['status', '--node', replica.socket, '--json']);
    assert.equal(status.role, 'replica');
    assert.equal(status.network.state, 'following');
    assert.equal(status.network.peers.length >= 1, true);
    const human = await cli(home, ['status', '--node', replica.socket]);
    assert.match(human.stdout, /sync\s+following/);
    const metrics = await withTimeout(fetch(`${replica.internal}/metrics`).then((x) => x.text()), 10_000, 'metrics');
    assert.match(metrics, /tally_replica_blocks_verified_total \d+/);

    // kill -9 under load, restart: it catches up, nothing lost or duplicated.
    const loading = load(writer, 200);
    await replica.kill9();
    live.splice(live.indexOf(replica), 1);
    await loading;
    const again = await startNode({ dataDir: dir, extraArgs: ['--follow', writerAddr] });
    live.push(again);
    const w2 = await tip(writer);
    await until('the restarted replica to catch up', async () => (await tip(again)).height >= w2.height);
    assert.deepEqual(await getOk(`${again.http}/v1/blocks/${w2.height}`), await getOk(`${writer.http}/v1/blocks/${w2.height}`));
    await again.stop();
    live.splice(live.indexOf(again), 1);
    const verify = await cli(home, ['chain', 'verify', '--data', dir, '--node-key', writer.nodeKey, '--json'], 120_000);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.equal(JSON.parse(verify.stdout).ok, true);
  });

  it('a replica from a snapshot (init --from-snapshot --replica) follows from its height', async () => {
    const file = path.join(tempDir(), 'snap.json');
    await cliOk(home, ['state', 'export', '--data', writer.dataDir, '--out', file, '--json'], 60_000);
    const dir = path.join(tempDir(), 'snap-replica');
    await cliOk(home, ['init', '--from-snapshot', file, '--replica', '--node-key', writer.nodeKey, '--data', dir, '--json'], 60_000);
    const replica = await startNode({ dataDir: dir, extraArgs: ['--follow', writerAddr] });
    live.push(replica);
    await load(writer, 100);
    const w = await tip(writer);
    await until('the snapshot replica to reach the writer', async () => (await tip(replica)).height >= w.height);
    assert.deepEqual(await getOk(`${replica.http}/v1/blocks/${w.height}`), await getOk(`${writer.http}/v1/blocks/${w.height}`));
    await replica.stop();
    live.splice(live.indexOf(replica), 1);
    const verify = await cli(home, ['chain', 'verify', '--data', dir, '--node-key', writer.nodeKey, '--json'], 120_000);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    await writer.stop();
    live.splice(live.indexOf(writer), 1);
    const wv = await cli(home, ['chain', 'verify', '--data', writer.dataDir, '--json'], 120_000);
    assert.equal(wv.code, 0, wv.stdout + wv.stderr);
  });
});
