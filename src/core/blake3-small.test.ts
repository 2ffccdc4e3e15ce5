import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { BLAKE3_SCRATCH, BLAKE3_SMALL_MAX, blake3ScratchInto, blake3Small, blake3SmallInto } from './blake3-small.js';
import { hash } from './hash.js';

test('blake3Small and blake3ScratchInto equal noble and hash-wasm at every length from 0 to 1,024 bytes', () => {
  let s = 12345;
  for (let n = 0; n <= BLAKE3_SMALL_MAX; n++) {
    const input = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      input[i] = s >>> 24;
    }
    const want = bytesToHex(blake3(input));
    assert.equal(bytesToHex(blake3Small(input)), want, `length ${n}`);
    assert.equal(bytesToHex(hash(input)), want, `hash-wasm, length ${n}`);
    BLAKE3_SCRATCH.fill(0xa5); // bytes past the input must not count
    BLAKE3_SCRATCH.set(input);
    const out = new Uint8Array(32);
    blake3ScratchInto(n, out, 0);
    assert.equal(bytesToHex(out), want, `from the scratch buffer, length ${n}`);
  }
});

test('the official BLAKE3 vectors (input byte i = i mod 251)', () => {
  // From BLAKE3's test_vectors.json, the first 32 bytes of each hash.
  const vectors: Array<[number, string]> = [
    [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
    [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
    [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
    [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
  ];
  for (const [n, want] of vectors) {
    const input = Uint8Array.from({ length: n }, (_, i) => i % 251);
    assert.equal(bytesToHex(blake3Small(input)), want, `length ${n}`);
  }
});

test('blake3SmallInto hashes a prefix into an offset and refuses more than one chunk', () => {
  const input = Uint8Array.from({ length: 100 }, (_, i) => i);
  const out = new Uint8Array(40).fill(7);
  blake3SmallInto(input, 82, out, 8);
  assert.equal(bytesToHex(out.subarray(8)), bytesToHex(blake3(input.subarray(0, 82))));
  assert.deepEqual([...out.subarray(0, 8)], [7, 7, 7, 7, 7, 7, 7, 7]);
  assert.throws(() => blake3Small(new Uint8Array(BLAKE3_SMALL_MAX + 1)), RangeError);
  assert.throws(() => blake3SmallInto(input, 101, out, 0), RangeError);
});
