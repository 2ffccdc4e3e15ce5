import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from './log.js';

/** A destination that keeps what was written. */
function capture(): { stream: Writable & { write: Writable['write'] }; text: () => string } {
  let text = '';
  const stream = new Writable({ write(chunk, _enc, done) { text += String(chunk); done(); } });
  return { stream, text: () => text };
}

test('JSON records: one object per line with level and time; secrets redacted', () => {
  const out = capture();
  const logger = createLogger({ format: 'json', level: 'info' }, out.stream);
  logger.info({ passphrase: 'hunter2', key: { privateKey: 'pk-secret' }, req: { headers: { authorization: 'Bearer tok-secret' } }, keep: 'visible' }, 'hello');
  logger.info('wallet at http://alice:pw-secret@127.0.0.1:18083/json_rpc failed');
  logger.debug('not at info');
  const lines = out.text().trim().split('\n');
  assert.equal(lines.length, 2, out.text());
  const first = JSON.parse(lines[0]!);
  assert.equal(first.level, 30);
  assert.equal(first.msg, 'hello');
  assert.match(first.time, /^\d{4}-\d\d-\d\dT/);
  assert.equal(first.keep, 'visible');
  assert.equal(first.passphrase, '[redacted]');
  assert.equal(first.key.privateKey, '[redacted]');
  assert.equal(first.req.headers.authorization, '[redacted]');
  assert.equal(JSON.parse(lines[1]!).msg, 'wallet at http://[redacted]@127.0.0.1:18083/json_rpc failed');
  for (const secret of ['hunter2', 'pk-secret', 'tok-secret', 'pw-secret']) assert.ok(!out.text().includes(secret), secret);
});

test('text records: one readable line, an error with its stack, no JSON', () => {
  const out = capture();
  const logger = createLogger({ format: 'text', level: 'debug' }, out.stream);
  logger.info({ activity: { height: 3 } }, 'height 3: 1 blocks');
  logger.error({ err: new Error('boom') }, 'http request failed: boom');
  const text = out.text();
  assert.match(text, /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] INFO: height 3: 1 blocks\n/);
  assert.ok(!text.includes('"height"'), 'the fields stay out of the text line');
  assert.match(text, /ERROR: http request failed: boom\nError: boom\n\s+at /);
});
