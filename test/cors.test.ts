// CORS on the public listener (issue 16 item 6): off by default; with --cors-origin, pages
// from the named origins get the headers and their preflights succeed, any other origin
// gets neither; a malformed origin is a usage error.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, cli, startNode, tempDir, type NodeProcess } from './helpers.js';

after(async () => {
  await cleanup();
}, { timeout: 30_000 });

const wallet = 'https://wallet.example.org';
const devServer = 'http://localhost:5173';

async function request(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

function preflight(url: string, origin: string) {
  return request(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
}

describe('CORS with --cors-origin', () => {
  let node: NodeProcess;
  before(async () => {
    node = await startNode({ extraArgs: ['--cors-origin', `${wallet}, ${devServer}`] });
  });

  it('an allowed origin gets the headers on a read and on an error', async () => {
    for (const origin of [wallet, devServer]) {
      const r = await request(`${node.http}/v1/node`, { headers: { origin } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('access-control-allow-origin'), origin);
      assert.match(r.headers.get('vary') ?? '', /origin/i);
      assert.match(r.headers.get('access-control-expose-headers') ?? '', /retry-after/);
    }
    // A page must be able to read why it was refused.
    const missing = await request(`${node.http}/v1/txs/${'0'.repeat(64)}`, { headers: { origin: wallet } });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('access-control-allow-origin'), wallet);
    assert.equal(missing.body.error.code, 'tx_not_found');
  });

  it('a preflight from an allowed origin succeeds, and the POST it announces carries the headers', async () => {
    const r = await preflight(`${node.http}/v1/txs`, wallet);
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), wallet);
    assert.match(r.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(r.headers.get('access-control-allow-headers') ?? '', /content-type/i);
    assert.equal(r.headers.get('access-control-max-age'), '600');
    const post = await request(`${node.http}/v1/query/ledger.balance`, { method: 'POST', headers: { origin: wallet, 'content-type': 'application/json' }, body: '{"account":"admin"}' });
    assert.equal(post.headers.get('access-control-allow-origin'), wallet);
  });

  it('another origin gets no CORS header, and its preflight is refused', async () => {
    for (const origin of ['https://evil.example.org', 'https://wallet.example.org:8443', 'http://wallet.example.org']) {
      const r = await request(`${node.http}/v1/node`, { headers: { origin } });
      assert.equal(r.status, 200, 'the answer itself is the same: the browser keeps it from the page');
      assert.equal(r.headers.get('access-control-allow-origin'), null, origin);
      const p = await preflight(`${node.http}/v1/txs`, origin);
      assert.equal(p.status, 404, origin);
      assert.equal(p.headers.get('access-control-allow-origin'), null);
      assert.equal(p.headers.get('access-control-allow-methods'), null);
      assert.equal(p.body.error.code, 'not_found');
    }
    // No Origin header (curl, a server): no CORS headers either.
    const plain = await request(`${node.http}/v1/node`);
    assert.equal(plain.headers.get('access-control-allow-origin'), null);
  });
});

describe('CORS by default and bad origins', () => {
  it('is off without --cors-origin', async () => {
    const node = await startNode();
    const r = await request(`${node.http}/v1/node`, { headers: { origin: wallet } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    const p = await preflight(`${node.http}/v1/txs`, wallet);
    assert.equal(p.status, 404);
    assert.equal(p.headers.get('access-control-allow-origin'), null);
    await node.stop();
  });

  it('--cors-origin "*" allows any origin', async () => {
    const node = await startNode({ extraArgs: ['--cors-origin', '*'] });
    const r = await request(`${node.http}/v1/node`, { headers: { origin: 'https://anyone.example' } });
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    const p = await preflight(`${node.http}/v1/txs`, 'https://anyone.example');
    assert.equal(p.status, 204);
    await node.stop();
  });

  it('a rate-limited answer carries the headers, so the page can read retry-after', async () => {
    const node = await startNode({ extraArgs: ['--cors-origin', wallet, '--rate-limit', '2'] });
    let last: Awaited<ReturnType<typeof request>> | undefined;
    for (let i = 0; i < 4; i++) last = await request(`${node.http}/v1/node`, { headers: { origin: wallet } });
    assert.equal(last!.status, 429);
    assert.equal(last!.body.error.code, 'rate_limited');
    assert.equal(last!.headers.get('access-control-allow-origin'), wallet);
    assert.ok(last!.headers.get('retry-after'));
    await node.stop();
  });

  it('a value that is not an origin is a usage error (exit 2, bad_flag) and starts nothing', async () => {
    const home = tempDir('tally-home-');
    for (const bad of ['https://wallet.example.org/', 'https://wallet.example.org/app', 'wallet.example.org', 'ftp://files.example.org', ',']) {
      const r = await cli(home, ['node', '--dev', '--data', `${tempDir()}/data`, '--http', '127.0.0.1:0', '--internal', 'off', '--cors-origin', bad, '--json']);
      assert.equal(r.code, 2, `${bad}: ${r.stdout}${r.stderr}`);
      assert.equal(r.json?.error?.code, 'bad_flag', bad);
      assert.match(r.json.error.message, /--cors-origin/);
    }
  });
});
