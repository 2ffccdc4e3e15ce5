// The price feed's sources: a file or an HTTP URL holding a decimal or JSON {"price"},
// read with a size cap; anything else is a coded refusal (the feed logs it and retries).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { TallyError } from '../../core/errors.js';
import { FEED_SOURCE_BYTES_MAX, readSource } from './feed.js';

const refused = (code: string) => (err: unknown) => err instanceof TallyError && err.code === code;

test('feed sources: files and URLs, plain or JSON, bounded', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-feed-'));
  const server = http.createServer((req, res) => {
    if (req.url === '/price') res.end('{"price": 97123.45}');
    else if (req.url === '/big') res.end('1'.repeat(FEED_SOURCE_BYTES_MAX + 1));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const file = (name: string, text: string) => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, text);
      return p;
    };
    assert.equal(await readSource(file('plain', ' 42.5\n')), '42.5');
    assert.equal(await readSource(file('json', '{"value": "7"}')), '7');
    assert.equal(await readSource(`${base}/price`), '97123.45');
    await assert.rejects(readSource(file('nojson', '{"x": 1}')), refused('source_invalid'));
    await assert.rejects(readSource(file('broken', '{"price": ')), refused('source_invalid'));
    await assert.rejects(readSource(file('big', '1'.repeat(FEED_SOURCE_BYTES_MAX + 1))), refused('source_invalid'));
    await assert.rejects(readSource(path.join(dir, 'missing')), refused('source_unavailable'));
    await assert.rejects(readSource(`${base}/gone`), refused('source_unavailable'));
    await assert.rejects(readSource(`${base}/big`), refused('source_invalid'));
    await assert.rejects(readSource('http://127.0.0.1:1/'), refused('source_unavailable'));
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
