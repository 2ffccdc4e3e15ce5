// Operator-facing behaviour of a real node process: the public rate limit, the internal
// listener's health and metrics, the OpenAPI document, one node per data directory,
// and `tally tx` / `tally block` checking proofs and signatures.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, cli, cliOk, getOk, httpGet, httpPost, makeTx, newAccount, startNode, tempDir, type NodeProcess } from './helpers.js';

describe('operating a node', () => {
  let node: NodeProcess;
  const home = tempDir();

  before(async () => {
    node = await startNode({ extraArgs: ['--rate-limit', '40'] });
  });
  after(async () => {
    await node?.stop();
    await cleanup();
  });

  it('answers health and Prometheus metrics on the internal listener', async () => {
    const health = await getOk(`${node.internal}/health`);
    assert.equal(health.ok, true);
    assert.equal(health.chain, 'tally-dev');
    const metrics = await httpGet(`${node.internal}/metrics`);
    assert.equal(metrics.status, 200);
    for (const name of ['tally_height', 'tally_mempool_size', 'tally_blocks_total', 'tally_block_commit_seconds_bucket', 'tally_txs_accepted_total']) {
      assert.match(metrics.text, new RegExp(`^${name}`, 'm'), name);
    }
    assert.ok(!(await httpGet(`${node.http}/metrics`)).text.includes('tally_height'), 'metrics are not on the public listener');
  });

  it('serves an OpenAPI 3 document listing the routes', async () => {
    const doc = await getOk(`${node.http}/v1/openapi.json`);
    assert.match(doc.openapi, /^3\./);
    for (const p of ['/v1/node', '/v1/txs', '/v1/txs/{id}', '/v1/txs/{id}/proof', '/v1/blocks/{height}', '/v1/accounts/{name}']) {
      assert.ok(doc.paths[p], `OpenAPI lists ${p}`);
    }
  });

  it('tally tx checks the proof and tally block checks the signature', async () => {
    await cliOk(home, ['keys', 'new', 'op']);
    const reg = await cliOk(home, ['register', 'op', '--key', 'op', '--node', node.socket, '--json']);
    const shown = await cliOk(home, ['tx', reg.id, '--node', node.http, '--json']);
    assert.deepEqual(shown.proofCheck, { ok: true });
    assert.equal(shown.receipt.status, 'ok');
    const block = await cliOk(home, ['block', String(reg.height), '--node', node.socket, '--json']);
    assert.equal(block.valid, true);
    assert.deepEqual(block.txs, [reg.id]);
    const missing = await cli(home, ['tx', 'ab'.repeat(32), '--node', node.socket, '--json']);
    assert.notEqual(missing.code, 0);
    assert.equal(JSON.parse(missing.stdout).error.code, 'tx_not_found');
  });

  it('refuses a second node on the same data directory with node_running', async () => {
    const second = await cli(home, ['node', '--data', node.dataDir, '--http', 'off', '--internal', 'off', '--socket', `${node.dataDir}/other.sock`, '--json']);
    assert.notEqual(second.code, 0);
    assert.equal(JSON.parse(second.stdout).error.code, 'node_running');
    assert.equal((await getOk(`${node.http}/v1/node`)).chain, 'tally-dev', 'the first node is untouched');
  });

  it('rate-limits the public listener per client address with rate_limited (429)', async () => {
    const stranger = newAccount();
    let limited: { status: number; body: any } | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const res = await httpPost(`${node.http}/v1/txs`, makeTx(stranger, 'ledger.send', { to: 'op', amount: '1' }, { nonce: 0 }));
      if (res.status === 429) limited = res;
    }
    assert.ok(limited, 'the limit was reached');
    assert.equal(limited.body.error.code, 'rate_limited');
    assert.equal((await httpGet(`${node.internal}/health`)).status, 200, 'the internal listener has no public limit');
  });
});
