// Four validators as real processes on loopback, over libp2p: a validator chain made with
// `tally validator keys new` and `tally init --validators`, transactions submitted to any
// validator acknowledged at finality, every validator holding the same blocks with commit
// certificates; one validator killed with -9 while the others keep finalizing, restarted,
// caught up and voting again; `tally chain verify` passing on every data directory and
// failing on a tampered certificate.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { cleanup, cli, cliOk, getOk, httpPost, makeTx, newAccount, startNode, tempDir, until, type NodeProcess } from './helpers.js';
import { openEncrypted } from './db.js';

after(cleanup);

const COUNT = 4;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function registrations(node: NodeProcess, n: number): Promise<string[]> {
  const batch = Array.from({ length: n }, () => { const a = newAccount(); return makeTx(a, 'ledger.register', { name: `v${a.id.slice(0, 12)}` }, { chain: 'vals' }); });
  const r = await httpPost(`${node.http}/v1/txs`, batch, { timeoutMs: 60_000 });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
  const results = r.body as Array<{ id?: string; status?: string; error?: unknown }>;
  results.forEach((x, i) => assert.equal(x.status, 'ok', `registration ${i}: ${JSON.stringify(x).slice(0, 200)}`));
  return results.map((x) => x.id!);
}

const height = async (n: NodeProcess): Promise<number> => ((await getOk(`${n.http}/v1/node`)) as { height: number }).height;

/** Whether validator `index` signed the certificate (LSB-first bitmap over the set in key order). */
const signed = (signers: string, index: number) => (parseInt(signers.slice(2 * (index >> 3), 2 * (index >> 3) + 2), 16) >> (index % 8)) & 1;

describe('four validators on loopback', () => {
  const dirs: string[] = [];
  const ports: number[] = [];
  const peerIds: string[] = [];
  const nodes: Array<NodeProcess | undefined> = [];
  const acknowledged: string[] = [];
  let home: string;
  let keys: string[] = [];
  after(async () => { for (const n of nodes) await n?.stop().catch(() => undefined); });

  const start = async (i: number) => {
    const peers = ports.map((p, j) => `/ip4/127.0.0.1/tcp/${p}/p2p/${peerIds[j]}`).filter((_, j) => j !== i).join(',');
    nodes[i] = await startNode({ dataDir: dirs[i]!, home, extraArgs: ['--p2p', `/ip4/127.0.0.1/tcp/${ports[i]}`, '--peers', peers] });
  };

  it('init --validators makes one chain for all four; each validator starts and finalizes blocks', async () => {
    const root = tempDir();
    home = tempDir('tally-home-');
    const entries = [];
    for (let i = 0; i < COUNT; i++) {
      dirs.push(path.join(root, `v${i}`));
      ports.push(await freePort());
      const e = await cliOk(home, ['validator', 'keys', 'new', '--data', dirs[i]!, '--json']);
      peerIds.push(e.peerId);
      entries.push(e);
    }
    fs.writeFileSync(path.join(root, 'validators.json'), JSON.stringify(entries));
    const init = await cliOk(home, ['init', '--data', dirs[0]!, '--chain', 'vals', '--policy', 'open', '--validators', path.join(root, 'validators.json'), '--json']);
    assert.equal(init.chain, 'vals');
    for (let i = 1; i < COUNT; i++) await cliOk(home, ['init', '--data', dirs[i]!, '--genesis', path.join(dirs[0]!, 'genesis.json'), '--json']);
    const genesis = JSON.parse(fs.readFileSync(path.join(dirs[0]!, 'genesis.json'), 'utf8'));
    keys = genesis.validators.map((v: { key: string }) => v.key);
    assert.deepEqual(keys, [...keys].sort(), 'the genesis set is in key order');
    for (let i = 0; i < COUNT; i++) await start(i);
    for (const n of nodes) assert.equal((await getOk(`${n!.http}/v1/node`)).role, 'validator');
    await until('every validator to finalize a block', async () => (await Promise.all(nodes.map((n) => height(n!)))).every((h) => h >= 2), 60_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${nodes.map((n) => n!.stderr().slice(-1500)).join('\n---\n')}`); });
  });

  it('transactions sent to any validator are acknowledged at finality, and all hold the same blocks', async () => {
    const ids = await Promise.all(nodes.map((n) => registrations(n!, 50)));
    acknowledged.push(...ids.flat());
    const top = Math.min(...(await Promise.all(nodes.map((n) => height(n!)))));
    for (let h = 1; h <= top; h++) {
      const blocks = await Promise.all(nodes.map((n) => getOk(`${n!.http}/v1/blocks/${h}`)));
      for (const b of blocks) assert.equal(b.hash, blocks[0].hash, `block ${h} is the same everywhere`);
      for (const b of blocks) assert.equal(b.commit.blockHash, b.hash, `block ${h} carries its commit certificate`);
      assert.ok(keys.includes(blocks[0].header.proposer), `block ${h} was proposed by a validator`);
    }
    for (const id of acknowledged.slice(0, 20)) {
      for (const n of nodes) assert.equal((await getOk(`${n!.http}/v1/txs/${id}`)).receipt.status, 'ok');
    }
  });

  it('kill -9 of one validator: the other three keep finalizing; restarted, it catches up and votes again', async () => {
    const victim = COUNT - 1;
    await nodes[victim]!.kill9();
    nodes[victim] = undefined;
    acknowledged.push(...await registrations(nodes[0]!, 60));
    acknowledged.push(...await registrations(nodes[1]!, 60));
    const before = await height(nodes[0]!);
    await start(victim);
    await until('the restarted validator to catch up', async () => (await height(nodes[victim]!)) >= before, 60_000);
    acknowledged.push(...await registrations(nodes[victim]!, 30));
    const index = keys.indexOf((await getOk(`${nodes[victim]!.http}/v1/node`)).nodeKey);
    assert.ok(index >= 0);
    await until('a certificate signed by the restarted validator', async () => {
      const h = await height(nodes[0]!);
      const b = await getOk(`${nodes[0]!.http}/v1/blocks/${h}`);
      return b.commit !== undefined && signed(b.commit.signers, index) === 1;
    }, 60_000);
  });

  it('status and metrics show consensus; a node without validator.key follows, serves and relays', async () => {
    const status = await cliOk(home, ['status', '--node', nodes[0]!.socket, '--json']);
    const c = status.network.consensus;
    assert.equal(c.voting, true);
    assert.equal(c.validators, COUNT);
    assert.ok(c.heights >= 1 && c.lastCommit.signers >= 3 && c.lastCommit.of === COUNT, JSON.stringify(c));
    const text = await cli(home, ['status', '--node', nodes[0]!.socket]);
    assert.match(text.stdout, /consensus +voting: height \d+ round \d+/);
    const metrics = await (await fetch(`${nodes[0]!.internal}/metrics`)).text();
    const heights = /^tally_consensus_heights_total (\d+)/m.exec(metrics);
    assert.ok(heights && Number(heights[1]) >= 1, 'tally_consensus_heights_total counts committed heights');
    assert.match(metrics, /^tally_consensus_voting 1$/m);

    // A follower: the chain's genesis, a node key of its own, no validator.key.
    const dir = path.join(tempDir(), 'follower');
    await cliOk(home, ['init', '--data', dir, '--genesis', path.join(dirs[0]!, 'genesis.json'), '--json']);
    const peers = ports.map((p, j) => `/ip4/127.0.0.1/tcp/${p}/p2p/${peerIds[j]}`).join(',');
    const follower = await startNode({ dataDir: dir, home, extraArgs: ['--p2p', '/ip4/127.0.0.1/tcp/0', '--peers', peers] });
    nodes.push(follower);
    const target = await height(nodes[0]!);
    await until('the follower to catch up', async () => (await height(follower)) >= target, 60_000);
    assert.equal((await getOk(`${follower.http}/v1/blocks/${target}`)).hash, (await getOk(`${nodes[0]!.http}/v1/blocks/${target}`)).hash);
    const f = (await cliOk(home, ['status', '--node', follower.socket, '--json'])).network.consensus;
    assert.equal(f.voting, false);
    acknowledged.push(...await registrations(follower, 10));
    await follower.stop();
    nodes.pop();
  });

  it('stopped, every data directory verifies, certificates included; a tampered certificate does not', async () => {
    const tops = await Promise.all(nodes.map((n) => height(n!)));
    for (const n of nodes) assert.equal(await n!.stop(), 0);
    nodes.length = 0;
    for (let i = 0; i < COUNT; i++) {
      const report = await cliOk(home, ['chain', 'verify', '--data', dirs[i]!, '--json'], 120_000);
      assert.equal(report.ok, true, `validator ${i}: ${JSON.stringify(report.issues).slice(0, 500)}`);
      assert.ok(report.height >= Math.min(...tops));
    }
    const db = openEncrypted(dirs[0]!);
    const row = db.prepare('SELECT commit_json FROM commits WHERE height = 2').get() as { commit_json: string };
    const c = JSON.parse(row.commit_json);
    const other = JSON.parse((db.prepare('SELECT commit_json FROM commits WHERE height = 3').get() as { commit_json: string }).commit_json);
    db.prepare('UPDATE commits SET commit_json = ? WHERE height = 2').run(JSON.stringify({ ...c, signature: other.signature }));
    db.close();
    const r = await cli(home, ['chain', 'verify', '--data', dirs[0]!, '--json'], 120_000);
    assert.notEqual(r.code, 0);
    const report = JSON.parse(r.stdout);
    assert.ok(report.issues.some((x: { height: number; kind: string }) => x.height === 2 && x.kind === 'bad_commit'), JSON.stringify(report.issues).slice(0, 400));
    assert.ok(report.issues.some((x: { height: number; kind: string }) => x.height === 3 && x.kind === 'last_commit_mismatch'));
  });
});
