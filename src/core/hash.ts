// BLAKE3-256 for transaction ids, block hashes and Merkle trees. hash-wasm's WebAssembly
// BLAKE3 runs about 10x faster than a pure-JS one on the short inputs we hash (measured:
// 1.7 M vs 0.17 M hashes/s of 220 bytes); @noble/hashes cross-checks it in the tests.
import { createBLAKE3 } from 'hash-wasm';
import { utf8 } from './encoding.js';

const hasher = await createBLAKE3();

export function hash(...parts: Array<Uint8Array | string>): Uint8Array {
  hasher.init();
  for (const p of parts) hasher.update(p);
  return hasher.digest('binary');
}

export function hashText(text: string): Uint8Array {
  return hash(utf8.encode(text));
}
