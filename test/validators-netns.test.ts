// Four validators on two hosts, two on each: separate network namespaces joined by one
// veth pair (test/netns.ts). With the link cut, each side holds half the voting power,
// less than the more than 2/3 a certificate needs: no block is finalized on either side,
// and no fork. Healed, the validators find each other again and finality resumes; every
// validator holds the same blocks. Needs root (ip netns); skipped loudly where namespaces
// cannot be made, and failing instead under TALLY_REQUIRE_NETNS=1 (CI).
//
// The test reaches the nodes through their Unix sockets (not confined by a namespace);
// the only path between the hosts is the link.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { cleanup, cliOk, makeTx, newAccount, sleep, startNode, tempDir, until, type NodeProcess } from './helpers.js';
import { hostPairOrSkip, SocketClient } from './netns.js';
import fs from 'node:fs';

after(cleanup);

const { hosts, missing } = await hostPairOrSkip('test/validators-netns.test.ts', 'validator test');

const CHAIN = 'split-vals';


describe('four validators on two hosts: a 2/2 partition finalizes nothing, and healing resumes finality', { skip: missing ?? false, timeout: 180_000 }, () => {
  const live: NodeProcess[] = [];
  const clients: SocketClient[] = [];
  after(async () => {
    for (const c of clients) c.close();
    for (const n of live) await n.stop().catch(() => undefined);
  });

  it('no block while cut, no fork, finality after the heal', async (t) => {
    const h = hosts!;
    const root = tempDir();
    const home = tempDir('tally-home-');
    const side = [h.a, h.a, h.b, h.b];
    const addr = [h.addrA, h.addrA, h.addrB, h.addrB];
    const ports = [7811, 7812, 7811, 7812];
    const dirs = side.map((_, i) => path.join(root, `v${i}`));
    const entries = [];
    for (const d of dirs) entries.push(await cliOk(home, ['validator', 'keys', 'new', '--data', d, '--json']));
    fs.writeFileSync(path.join(root, 'validators.json'), JSON.stringify(entries));
    await cliOk(home, ['init', '--data', dirs[0]!, '--chain', CHAIN, '--policy', 'open', '--validators', path.join(root, 'validators.json'), '--json']);
    for (const d of dirs.slice(1)) await cliOk(home, ['init', '--data', d, '--genesis', path.join(dirs[0]!, 'genesis.json'), '--json']);
    const addrs = entries.map((e, i) => `/ip4/${addr[i]}/tcp/${ports[i]}/p2p/${e.peerId}`);
    for (let i = 0; i < 4; i++) {
      live.push(await startNode({ dataDir: dirs[i]!, home, prefix: h.exec(side[i]!), extraArgs: ['--p2p', `/ip4/${addr[i]}/tcp/${ports[i]}`, '--peers', addrs.filter((_, j) => j !== i).join(',')] }));
    }
    for (const n of live) clients.push(await SocketClient.open(n));
    const validators = clients.slice(0, 4);
    const heights = () => Promise.all(validators.map(async (c) => ((await c.call('node.info')) as { height: number }).height));
    await until('all four to finalize blocks', async () => (await heights()).every((x) => x >= 3), 60_000);
    const submit = async (c: SocketClient, n: number) => {
      const txs = Array.from({ length: n }, () => { const a = newAccount(); return makeTx(a, 'ledger.register', { name: `s${a.id.slice(0, 12)}` }, { chain: CHAIN }); });
      return (await c.call('tx.submit', { txs }, 60_000)) as Array<{ status?: string }>;
    };
    assert.ok((await submit(clients[0]!, 20)).every((r) => r.status === 'ok'));

    await h.cut();
    // A height in flight when the link went down may still finish on both sides' views;
    // after a moment no side can finalize anything more.
    await sleep(3000);
    const cutHeights = await heights();
    // (its own connection: a client's requests go one at a time)
    const submitter = await SocketClient.open(live[0]!);
    clients.push(submitter);
    const pending = submit(submitter, 10).catch((err: Error) => err.message);
    await sleep(8000);
    const later = await heights();
    t.diagnostic(`heights at the cut ${cutHeights.join(',')}, 8 s later ${later.join(',')}`);
    assert.deepEqual(later, cutHeights, 'no block is finalized on either side of a 2/2 partition');

    await h.heal();
    const healAt = Date.now();
    await until('finality to resume on all four', async () => (await heights()).every((x, i) => x >= later[i]! + 2), 90_000);
    t.diagnostic(`finality resumed ${Date.now() - healAt} ms after the heal`);
    const answered = await pending;
    assert.ok(Array.isArray(answered) && answered.every((r) => r.status === 'ok'), `what was submitted during the cut is final after the heal: ${JSON.stringify(answered).slice(0, 300)}`);
    const top = Math.min(...(await heights()));
    for (let height = 1; height <= top; height++) {
      const blocks = await Promise.all(validators.map((c) => c.call('block.get', { height })));
      for (const b of blocks) assert.equal(b.hash, blocks[0].hash, `one block at height ${height}: no fork`);
    }
  });
});
