import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hash, hashText } from './hash.js';
import { toHex, utf8 } from './encoding.js';

/** The official vectors' input: bytes 0, 1, ..., 250, 0, 1, ... */
function pattern(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = i % 251;
  return out;
}

// First 32 bytes of the "hash" field of BLAKE3-team/BLAKE3 test_vectors/test_vectors.json.
const OFFICIAL: [number, string][] = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
  [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
  [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
  [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
  [2048, 'e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a'],
  [2049, '5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030'],
];

test('BLAKE3 official test vectors (hash mode, 32-byte output)', () => {
  for (const [length, expected] of OFFICIAL) {
    assert.equal(toHex(hash(pattern(length))), expected, `input_len ${length}`);
  }
});

test('BLAKE3 of "" and "abc"', () => {
  assert.equal(toHex(hashText('')), 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
  assert.equal(toHex(hashText('abc')), '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
  assert.equal(toHex(hash(utf8.encode('abc'))), '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
  assert.equal(toHex(hash(new Uint8Array(0))), 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
});

test('hash of several parts equals hash of their concatenation', () => {
  const whole = pattern(3000);
  const expected = toHex(hash(whole));
  for (const cuts of [[0], [1], [1024], [1023, 1025], [7, 64, 65, 2048], [0, 0, 3000]]) {
    const parts: Uint8Array[] = [];
    let from = 0;
    for (const c of cuts) {
      parts.push(whole.subarray(from, c));
      from = c;
    }
    parts.push(whole.subarray(from));
    assert.equal(toHex(hash(...parts)), expected, `cuts ${cuts.join(',')}`);
  }
  assert.equal(toHex(hash(utf8.encode('a'), utf8.encode('bc'))), toHex(hashText('abc')));
  assert.equal(toHex(hash()), toHex(hashText('')));
});

test('hash returns 32 bytes and hashText encodes UTF-8', () => {
  assert.equal(hash(pattern(10)).length, 32);
  assert.equal(toHex(hashText('\u20ac')), toHex(hash(Uint8Array.of(0xe2, 0x82, 0xac))));
});

test('hashText (one-chunk JS BLAKE3 for short texts) equals hash-wasm on the UTF-8, at every length around the switch', () => {
  for (const unit of ['a', 'é', '€', '😀']) {
    for (let n = 0; n <= 400; n += n < 330 ? 37 : 1) {
      const text = unit.repeat(n);
      assert.equal(toHex(hashText(text)), toHex(hash(utf8.encode(text))), `${n} x ${unit}`);
    }
  }
});
