// Serving the built page: index.html uncached, hashed assets immutable, the security
// headers on both, and a clear error when the page was never built.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { registerWebPage, WEB_CSP } from './web.js';

function builtDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-web-'));
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/app-ABC123.js"></script>');
  fs.writeFileSync(path.join(dir, 'assets', 'app-ABC123.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'assets', 'notes.txt'), 'not served');
  return dir;
}

describe('the web page route', () => {
  it('serves index.html no-cache and hashed assets immutable, with CSP and nosniff', async () => {
    const dir = builtDir();
    const app = Fastify();
    registerWebPage(app, dir);
    try {
      const page = await app.inject({ url: '/' });
      assert.equal(page.statusCode, 200);
      assert.match(page.headers['content-type'] as string, /^text\/html/);
      assert.equal(page.headers['cache-control'], 'no-cache');
      assert.equal(page.headers['content-security-policy'], WEB_CSP);
      assert.equal(page.headers['x-content-type-options'], 'nosniff');
      const js = await app.inject({ url: '/assets/app-ABC123.js' });
      assert.equal(js.statusCode, 200);
      assert.equal(js.body, 'console.log(1)');
      assert.match(js.headers['content-type'] as string, /^text\/javascript/);
      assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal(js.headers['content-security-policy'], WEB_CSP);
      for (const url of ['/assets/notes.txt', '/assets/..%2Findex.html', '/assets/nope.js']) {
        assert.equal((await app.inject({ url })).statusCode, 404, url);
      }
    } finally {
      await app.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers 404 web_not_built when there is no build', async () => {
    const app = Fastify();
    registerWebPage(app, path.join(os.tmpdir(), 'tally-web-none-' + process.pid));
    try {
      const r = await app.inject({ url: '/' });
      assert.equal(r.statusCode, 404);
      assert.equal(JSON.parse(r.body).error.code, 'web_not_built');
    } finally {
      await app.close();
    }
  });
});
