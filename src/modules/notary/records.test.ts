// The signing threads' leaf hash (recordLeafHashInto: encoded into blake3-small's scratch
// buffer) against the definition (recordLeafHash: leafHash of leafBytes), on both sides of
// the scratch buffer's 1,024 bytes and with characters of every UTF-8 length.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { recordLeafHash, recordLeafHashInto, type LeafFields } from './records.js';

test('recordLeafHashInto writes exactly recordLeafHash, short leaves and long ones', () => {
  const chars = ['a', 'é', '€', '😀', '"', '\\u0001'];
  const out = new Uint8Array(32 * 3);
  for (let n = 0; n < 400; n++) {
    const len = n < 200 ? n * 4 : 700 + ((n * 7) % 500); // through 1,024 bytes and past it
    let text = '';
    while (text.length < len) text += chars[crypto.randomInt(chars.length)];
    const f: LeafFields = { id: n + 1, batch: 7, kid: 'ab'.repeat(8), alg: 'ed25519', sig: crypto.randomBytes(64).toString('base64url'), record: JSON.stringify({ text }) };
    recordLeafHashInto(f, out, 32);
    assert.deepEqual(out.subarray(32, 64), recordLeafHash(f), `record of ${text.length} characters`);
  }
  assert.deepEqual(out.subarray(0, 32), new Uint8Array(32), 'nothing written before `at`');
  assert.deepEqual(out.subarray(64), new Uint8Array(32), 'nothing written after it');
});
