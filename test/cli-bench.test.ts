// `tally bench --node` against a node that is not ours to fill: it refuses a chain that is
// not a dev chain unless --yes, and a run in which every transaction was refused exits
// non-zero. The node here is a stand-in HTTP server that answers like a Tally node whose
// chain accepts registrations and refuses every transfer (a real one never refuses them all
// deterministically).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { cleanup, cli, ROOT, tempDir } from './helpers.js';

interface FakeNode {
  url: string;
  submitted: () => number;
  close: () => Promise<void>;
}

async function fakeNode(chain: string): Promise<FakeNode> {
  let submitted = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => { body += c; });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET' && req.url === '/v1/node') {
        res.end(JSON.stringify({ chain, decimals: 6, height: 1, modules: ['ledger'] }));
        return;
      }
      if (req.method === 'POST' && req.url === '/v1/txs') {
        const txs = JSON.parse(body) as Array<{ tx: { type: string } }>;
        submitted += txs.length;
        res.end(JSON.stringify(txs.map((e, index) => e.tx.type === 'ledger.register'
          ? { id: '00'.repeat(32), status: 'ok', height: 2, index, events: [] }
          : { error: { code: 'nonce_gap', message: 'refused by the stand-in node' }, status: 409 })));
        return;
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ error: { code: 'not_found', message: req.url } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    submitted: () => submitted,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const SMALL = ['--duration', '1', '--accounts', '2', '--batch', '100', '--concurrency', '1'];

describe('tally bench --node', { timeout: 120_000 }, () => {
  after(cleanup);

  it('refuses a chain that is not a dev chain, submitting nothing', async () => {
    const node = await fakeNode('community-main');
    try {
      const r = await cli(tempDir(), ['bench', '--node', node.url, ...SMALL, '--json'], 30_000);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.json.error.code, 'not_dev_chain');
      assert.match(r.json.error.message, /chain "community-main", which is not a dev chain/);
      assert.match(r.json.error.hint, /--yes/);
      assert.equal(node.submitted(), 0, 'nothing was submitted');
      const human = await cli(tempDir(), ['bench', '--node', node.url, ...SMALL], 30_000);
      assert.equal(human.code, 1);
      assert.match(human.stderr, /\(not_dev_chain\)\nhint: .*--yes/);
    } finally {
      await node.close();
    }
  });

  it('with --yes it runs, and exits non-zero when every transaction was refused', async () => {
    const node = await fakeNode('community-main');
    try {
      const r = await cli(tempDir(), ['bench', '--node', node.url, ...SMALL, '--yes', '--json'], 90_000);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.json.error.code, 'bench_nothing_committed');
      const result = r.json.error.details.result;
      assert.equal(result.http.committed, 0);
      assert.ok(result.http.refused > 0, JSON.stringify(result.http));
      assert.ok(node.submitted() > 2, 'registrations and transfers were submitted');
      assert.match(r.stderr, /refused over http, first code nonce_gap/);
    } finally {
      await node.close();
    }
  });
});

describe('benchmark scripts: --help', () => {
  // Each script's header comment is its usage; --help prints it and starts nothing (a
  // benchmark run takes minutes and starts nodes).
  const scripts = ['attack', 'bls', 'consensus', 'heavy-reads', 'inprocess', 'markets-node', 'notary-pg', 'replica', 'state', 'storage', 'strangers', 'tickets-ops', 'tickets', 'tree-ab'];
  for (const name of scripts) {
    it(`node dist/bench/${name}.js --help prints its usage and exits 0`, () => {
      const file = path.join(ROOT, 'dist', 'bench', `${name}.js`);
      const r = spawnSync(process.execPath, [file, '--help'], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, r.stderr);
      const firstComment = fs.readFileSync(file, 'utf8').split('\n')[0]!.replace(/^\/\/ ?/, '');
      assert.ok(r.stdout.startsWith(firstComment), `${name}: ${r.stdout.slice(0, 120)}`);
      assert.equal(r.stderr, '', 'nothing ran');
    });
  }
});
