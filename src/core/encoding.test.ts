import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromB64u, fromHex, toB64u, toHex } from './encoding.js';
import { TallyError } from './errors.js';

function refuses(fn: () => unknown, messagePart?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TallyError, `expected a TallyError, got ${String(e)}`);
    assert.equal(e.code, 'bad_encoding');
    assert.equal(e.status, 400);
    if (messagePart) assert.match(e.message, messagePart);
    return true;
  });
}

test('toHex / fromHex round trip', () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  const text = toHex(bytes);
  assert.equal(text.length, 512);
  assert.match(text, /^[0-9a-f]*$/);
  assert.deepEqual(new Uint8Array(fromHex(text, 'x')), bytes);
  assert.deepEqual(new Uint8Array(fromHex(text, 'x', 256)), bytes);
  assert.equal(fromHex('', 'x').length, 0);
  assert.equal(fromHex('', 'x', 0).length, 0);
});

test('toHex and toB64u respect subarray views', () => {
  const buf = Uint8Array.from([1, 2, 3, 4, 5, 6]);
  const view = buf.subarray(2, 4);
  assert.equal(toHex(view), '0304');
  assert.equal(toB64u(view), Buffer.from([3, 4]).toString('base64url'));
});

test('fromHex refuses uppercase hex', () => {
  refuses(() => fromHex('AB', 'id'), /lowercase/);
  refuses(() => fromHex('aB', 'id'));
  refuses(() => fromHex('DEADBEEF', 'id', 4));
  refuses(() => fromHex('0'.repeat(62) + 'Ff', 'hash', 32));
});

test('fromHex refuses odd length', () => {
  refuses(() => fromHex('a', 'id'), /even/);
  refuses(() => fromHex('abc', 'id'));
  refuses(() => fromHex('0'.repeat(63), 'hash', 32));
});

test('fromHex refuses the wrong byte length', () => {
  refuses(() => fromHex('00'.repeat(31), 'hash', 32), /32 bytes/);
  refuses(() => fromHex('00'.repeat(33), 'hash', 32), /32 bytes/);
  refuses(() => fromHex('', 'hash', 32));
  refuses(() => fromHex('00', 'hash', 0));
  assert.equal(fromHex('00'.repeat(32), 'hash', 32).length, 32);
});

test('fromHex refuses non-hex characters, prefixes, whitespace and non-strings', () => {
  for (const s of ['0x00', 'gg', '0g', ' 00', '00 ', '00\n', '0-', 'zz'.repeat(32)]) refuses(() => fromHex(s, 'id'));
  for (const v of [undefined, null, 12, {}, Buffer.from('00', 'hex'), ['00']]) refuses(() => fromHex(v, 'id'), /hex string/);
});

test('refusals name the field', () => {
  refuses(() => fromHex('A', 'block hash'), /^block hash /);
  refuses(() => fromB64u('=', 'signature'), /^signature /);
});

test('toB64u / fromB64u round trip for every length 0..70', () => {
  for (let n = 0; n <= 70; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    const text = toB64u(bytes);
    assert.match(text, /^[A-Za-z0-9_-]*$/);
    assert.deepEqual(new Uint8Array(fromB64u(text, 'x')), bytes);
    assert.deepEqual(new Uint8Array(fromB64u(text, 'x', n)), bytes);
  }
  // Both url-safe characters decode.
  assert.deepEqual([...fromB64u('-_-_', 'x')], [0xfb, 0xff, 0xbf]);
});

test('fromB64u refuses padding', () => {
  const text = toB64u(new Uint8Array(32)); // 43 chars
  refuses(() => fromB64u(text + '=', 'key'), /without padding/);
  refuses(() => fromB64u(Buffer.from('a').toString('base64'), 'x')); // "YQ=="
  refuses(() => fromB64u('YQ==', 'x'));
  refuses(() => fromB64u('YWI=', 'x'));
  refuses(() => fromB64u('=', 'x'));
});

test('fromB64u refuses the standard alphabet and other characters', () => {
  for (const s of ['+/+/', 'ab+c', 'ab/c', 'ab c', 'ab.c', 'ab\nc', '\u00e9abc']) refuses(() => fromB64u(s, 'x'));
  for (const v of [undefined, null, 1, {}, new Uint8Array(4)]) refuses(() => fromB64u(v, 'x'), /base64url string/);
});

test('fromB64u refuses impossible lengths (one character left over)', () => {
  refuses(() => fromB64u('A', 'x'));
  refuses(() => fromB64u('AAAAA', 'x'));
});

test('fromB64u refuses non-canonical encodings (trailing bits set)', () => {
  // "YQ" is the canonical spelling of "a"; "YR".."YZ" decode to the same byte with junk low bits.
  assert.equal(fromB64u('YQ', 'x').toString(), 'a');
  for (const s of ['YR', 'YS', 'YT', 'YZ']) refuses(() => fromB64u(s, 'x'), /canonical/);
  // Two bytes: the last character carries 2 unused bits.
  assert.equal(fromB64u('YWI', 'x').toString(), 'ab');
  refuses(() => fromB64u('YWJ', 'x'), /canonical/);
  // A 32-byte key: 43 characters, 2 unused bits in the last one.
  const key = toB64u(new Uint8Array(32).fill(0xaa));
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(key.at(-1)!);
  for (const junk of [1, 2, 3]) refuses(() => fromB64u(key.slice(0, -1) + alphabet[last ^ junk]!, 'key', 32), /canonical/);
});

test('fromB64u refuses the wrong byte length', () => {
  refuses(() => fromB64u(toB64u(new Uint8Array(31)), 'key', 32), /32 bytes, got 31/);
  refuses(() => fromB64u(toB64u(new Uint8Array(33)), 'key', 32), /32 bytes, got 33/);
  refuses(() => fromB64u('', 'key', 32), /got 0/);
  refuses(() => fromB64u(toB64u(new Uint8Array(65)), 'signature', 64));
  assert.equal(fromB64u(toB64u(new Uint8Array(64)), 'signature', 64).length, 64);
});
