// The browser's src/core/hash.ts: the same BLAKE3-256 from @noble/hashes (the node uses
// hash-wasm for speed; its tests cross-check the two). build.mjs swaps it in for
// src/core/hash.js when bundling the page.
import { blake3 } from '@noble/hashes/blake3.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';

export function hash(...parts: Array<Uint8Array | string>): Uint8Array {
  return blake3(concatBytes(...parts.map((p) => (typeof p === 'string' ? utf8ToBytes(p) : p))));
}

export function hashText(text: string): Uint8Array {
  return hash(utf8ToBytes(text));
}
