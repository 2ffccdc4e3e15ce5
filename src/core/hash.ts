// BLAKE3-256 for transaction ids, block hashes and Merkle trees. hash-wasm's WebAssembly
// BLAKE3 runs about 10x faster than a pure-JS one on the short inputs we hash (measured:
// 1.7 M vs 0.17 M hashes/s of 220 bytes); @noble/hashes cross-checks it in the tests.
import { createBLAKE3 } from 'hash-wasm';
import { BLAKE3_SCRATCH, BLAKE3_SMALL_MAX, blake3ScratchInto } from './blake3-small.js';
import { utf8 } from './encoding.js';

const hasher = await createBLAKE3();

export function hash(...parts: Array<Uint8Array | string>): Uint8Array {
  hasher.init();
  for (const p of parts) hasher.update(p);
  return hasher.digest('binary');
}

const encoder = new TextEncoder();

/**
 * BLAKE3 of a text's UTF-8. A short text (a state key, a value: hashed per write and per
 * state read) goes to the one-chunk BLAKE3 in JS, without hash-wasm's per-call overhead.
 */
export function hashText(text: string): Uint8Array {
  if (text.length * 3 > BLAKE3_SMALL_MAX) return hash(utf8.encode(text));
  const { written } = encoder.encodeInto(text, BLAKE3_SCRATCH);
  const out = new Uint8Array(32);
  blake3ScratchInto(written, out, 0);
  return out;
}
