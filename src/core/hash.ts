// BLAKE3-256 for transaction ids, block hashes and Merkle trees.
import { blake3 } from '@noble/hashes/blake3.js';
import { utf8 } from './encoding.js';

export function hash(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return blake3(parts[0]!);
  const h = blake3.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

export function hashText(text: string): Uint8Array {
  return blake3(utf8.encode(text));
}
