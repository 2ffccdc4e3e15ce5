// Governance on a running validator chain, as real processes on loopback: four validators
// register their node keys as ledger accounts, one proposes adding a fifth validator
// (whose node has followed the chain as a non-voter) and lowering maxBlockTxs, three vote
// yes; from the execution height on the fifth validator signs commit certificates, and
// no block holds more transactions than the new limit. Every directory verifies.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { accountIdFromPub, signerFromPrivateKey, type Signer } from '../src/core/keys.js';
import { signTx, type Envelope } from '../src/chain/envelope.js';
import { cleanup, cliOk, getOk, httpPost, makeTx, newAccount, startNode, tempDir, until, type NodeProcess } from './helpers.js';

after(cleanup);

const CHAIN = 'gov-vals';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const nodeSigner = (dir: string): Signer => signerFromPrivateKey(crypto.createPrivateKey(fs.readFileSync(path.join(dir, 'node.key'))));

async function send(node: NodeProcess, envs: Envelope[]): Promise<Array<{ status?: string; code?: string; error?: { code: string } }>> {
  const r = await httpPost(`${node.http}/v1/txs`, envs, { timeoutMs: 60_000 });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
  return r.body as Array<{ status?: string; code?: string }>;
}

function tx(signer: Signer, nonce: number, type: string, body: Record<string, unknown>): Envelope {
  return signTx({ chain: CHAIN, type, from: accountIdFromPub(signer.pub), nonce, expires: Math.floor(Date.now() / 1000) + 600, body }, signer);
}

const signed = (signers: string, index: number) => (parseInt(signers.slice(2 * (index >> 3), 2 * (index >> 3) + 2), 16) >> (index % 8)) & 1;
const height = async (n: NodeProcess): Promise<number> => ((await getOk(`${n.http}/v1/node`)) as { height: number }).height;

describe('governance on four validators adds a fifth and lowers maxBlockTxs', () => {
  const nodes: NodeProcess[] = [];
  after(async () => { for (const n of nodes) await n.stop().catch(() => undefined); });

  it('the fifth validator joins and votes; blocks keep under the new limit; every directory verifies', async () => {
    const root = tempDir();
    const home = tempDir('tally-home-');
    const dirs = [0, 1, 2, 3, 4].map((i) => path.join(root, `v${i}`));
    const ports = await Promise.all(dirs.map(() => freePort()));
    const entries = [];
    for (const d of dirs) entries.push(await cliOk(home, ['validator', 'keys', 'new', '--data', d, '--json']));
    const addrs = entries.map((e, i) => `/ip4/127.0.0.1/tcp/${ports[i]}/p2p/${e.peerId}`);
    // A genesis with short governance periods; the first four are the validators.
    await cliOk(home, ['init', '--data', path.join(root, 'template'), '--chain', CHAIN, '--policy', 'open', '--grant', '10', '--json']);
    const genesis = JSON.parse(fs.readFileSync(path.join(root, 'template', 'genesis.json'), 'utf8'));
    genesis.modules.governance = { params: { votingPeriodBlocks: 10, depositPeriodBlocks: 10, executionDelayBlocks: 1, minDeposit: 1000 } };
    fs.writeFileSync(path.join(root, 'genesis.json'), JSON.stringify(genesis));
    fs.writeFileSync(path.join(root, 'validators.json'), JSON.stringify(entries.slice(0, 4)));
    await cliOk(home, ['init', '--data', dirs[0]!, '--genesis', path.join(root, 'genesis.json'), '--validators', path.join(root, 'validators.json'), '--json']);
    for (const d of dirs.slice(1)) await cliOk(home, ['init', '--data', d, '--genesis', path.join(dirs[0]!, 'genesis.json'), '--json']);
    for (let i = 0; i < 5; i++) {
      // the fifth dials the four; they learn of it when it connects
      const peers = addrs.filter((_, j) => j !== i && (i === 4 || j < 4)).join(',');
      nodes.push(await startNode({ dataDir: dirs[i]!, home, extraArgs: ['--p2p', `/ip4/127.0.0.1/tcp/${ports[i]}`, '--peers', peers] }));
    }
    await until('the validators to finalize a block', async () => (await height(nodes[0]!)) >= 2, 60_000);

    const vals = dirs.slice(0, 4).map(nodeSigner);
    const results = await send(nodes[0]!, vals.map((s, i) => tx(s, 0, 'ledger.register', { name: `val${i}` })));
    results.forEach((r, i) => assert.equal(r.status, 'ok', `val${i} registers: ${JSON.stringify(r)}`));
    const fifth = entries[4]!;
    const proposals = await send(nodes[1]!, [
      tx(vals[0]!, 1, 'governance.propose', { kind: 'validator', action: 'add', key: fifth.key, blsKey: fifth.blsKey, pop: fifth.pop, power: 1, deposit: '0.001' }),
      tx(vals[0]!, 2, 'governance.propose', { kind: 'param', name: 'maxBlockTxs', value: 50, deposit: '0.001' }),
    ]);
    proposals.forEach((r) => assert.equal(r.status, 'ok', JSON.stringify(r)));
    for (let v = 0; v < 3; v++) {
      const votes = await send(nodes[v]!, [tx(vals[v]!, v === 0 ? 3 : 1, 'governance.vote', { proposal: 1, option: 'yes' }), tx(vals[v]!, v === 0 ? 4 : 2, 'governance.vote', { proposal: 2, option: 'yes' })]);
      votes.forEach((r) => assert.equal(r.status, 'ok', JSON.stringify(r)));
    }
    await until('both proposals executed', async () => {
      const ps = await Promise.all([1, 2].map((id) => getOk(`${nodes[0]!.http}/v1/governance/proposals/${id}`)));
      return ps.every((p: { status: string }) => p.status === 'executed');
    }, 90_000);
    const params = (await getOk(`${nodes[0]!.http}/v1/governance/params`)) as Array<{ name: string; value: number }>;
    assert.equal(params.find((p) => p.name === 'maxBlockTxs')!.value, 50);

    const set = [...entries.map((e) => e.key)].sort();
    const index = set.indexOf(fifth.key);
    await until('a certificate signed by the fifth validator', async () => {
      const b = await getOk(`${nodes[0]!.http}/v1/blocks/${await height(nodes[0]!)}`);
      return b.commit !== undefined && b.commit.signers.length === 2 && signed(b.commit.signers, index) === 1;
    }, 60_000);

    // Under the new limit: 120 registrations take at least three blocks of at most 50.
    const from = await height(nodes[0]!);
    const regs = Array.from({ length: 120 }, () => { const a = newAccount(); return makeTx(a, 'ledger.register', { name: `r${a.id.slice(0, 12)}` }, { chain: CHAIN }); });
    (await send(nodes[2]!, regs)).forEach((r) => assert.equal(r.status, 'ok'));
    const to = await height(nodes[0]!);
    let seen = 0;
    for (let h = from + 1; h <= to; h++) {
      const b = await getOk(`${nodes[0]!.http}/v1/blocks/${h}`);
      assert.ok(b.header.txCount <= 50, `block ${h} holds ${b.header.txCount} transactions, over maxBlockTxs 50`);
      seen += b.header.txCount;
    }
    assert.ok(seen >= 120);

    // The CLI: a validator imports its node key, proposes a signal and votes; list and show.
    await cliOk(home, ['keys', 'import', path.join(dirs[0]!, 'node.key'), '--name', 'val0', '--json']);
    const made = await cliOk(home, ['governance', 'propose', 'text', 'hello validators', '--deposit', '0.001', '--key', 'val0', '--node', nodes[3]!.socket, '--json']);
    assert.equal(made.status, 'ok');
    const voted = await cliOk(home, ['governance', 'vote', '3', 'yes', '--key', 'val0', '--node', nodes[3]!.socket, '--json']);
    assert.equal(voted.events[0].type, 'governance.voted');
    const list = await cliOk(home, ['governance', 'list', '--node', nodes[3]!.socket, '--json']);
    assert.deepEqual(list.items.map((p: { id: number; status: string }) => [p.id, p.status]), [[1, 'executed'], [2, 'executed'], [3, 'voting']]);
    assert.equal((await cliOk(home, ['governance', 'show', '3', '--node', nodes[3]!.socket, '--json'])).content.title, 'hello validators');

    for (const n of nodes) assert.equal(await n.stop(), 0);
    nodes.length = 0;
    for (const d of dirs) {
      const report = await cliOk(home, ['chain', 'verify', '--data', d, '--json'], 120_000);
      assert.equal(report.ok, true, `${d}: ${JSON.stringify(report.issues).slice(0, 500)}`);
    }
  });
});
