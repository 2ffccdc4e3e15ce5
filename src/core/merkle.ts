// Binary Merkle tree over BLAKE3: leaves H(0x00 || leaf), nodes H(0x01 || left || right).
// An odd node is promoted unchanged to the next level, never duplicated, so two different
// lists cannot share a root (the CVE-2012-2459 shape).
import { hash } from './hash.js';
import { toHex, fromHex } from './encoding.js';

const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);
export const EMPTY_ROOT = toHex(hash(new Uint8Array(0)));

export function leafHash(leaf: Uint8Array): Uint8Array {
  return hash(LEAF, leaf);
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return hash(NODE, left, right);
}

/** Root over already-hashed leaves. */
export function merkleRoot(leafHashes: Uint8Array[]): string {
  if (leafHashes.length === 0) return EMPTY_ROOT;
  let level = leafHashes;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? nodeHash(level[i]!, level[i + 1]!) : level[i]!);
    }
    level = next;
  }
  return toHex(level[0]!);
}

export interface MerkleProof {
  index: number;
  count: number;
  /** Sibling hashes from the leaf upward; promoted levels contribute none. */
  siblings: string[];
}

export function merkleProof(leafHashes: Uint8Array[], index: number): MerkleProof {
  const siblings: string[] = [];
  let level = leafHashes;
  let i = index;
  while (level.length > 1) {
    const sibling = i ^ 1;
    if (sibling < level.length) siblings.push(toHex(level[sibling]!));
    const next: Uint8Array[] = [];
    for (let j = 0; j < level.length; j += 2) {
      next.push(j + 1 < level.length ? nodeHash(level[j]!, level[j + 1]!) : level[j]!);
    }
    level = next;
    i >>= 1;
  }
  return { index, count: leafHashes.length, siblings };
}

const HASH_BYTES = 32;

/**
 * Every level of the tree, leaves first and the root last, each packed into one buffer of
 * 32-byte hashes (one object per level, not per hash: a 4,000-leaf tree keeps 256 KiB);
 * none for no leaves. Costs what merkleRoot costs; kept, each proof is O(log n) lookups.
 */
export function merkleLevels(leafHashes: Uint8Array[]): Uint8Array[] {
  if (leafHashes.length === 0) return [];
  const levels: Uint8Array[] = [];
  let level = leafHashes;
  for (;;) {
    const packed = new Uint8Array(level.length * HASH_BYTES);
    level.forEach((h, i) => packed.set(h, i * HASH_BYTES));
    levels.push(packed);
    if (level.length === 1) return levels;
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? nodeHash(level[i]!, level[i + 1]!) : level[i]!);
    }
    level = next;
  }
}

/** Hash number i of a packed level (a view, not a copy). */
export function levelHash(level: Uint8Array, i: number): Uint8Array {
  return level.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
}

/** The root of levels made by merkleLevels. */
export function rootOfLevels(levels: Uint8Array[]): string {
  return levels.length === 0 ? EMPTY_ROOT : toHex(levels[levels.length - 1]!);
}

/** The same proof as merkleProof(leaves, index), read from merkleLevels(leaves) without hashing. */
export function proofFromLevels(levels: Uint8Array[], index: number): MerkleProof {
  const count = levels.length === 0 ? 0 : levels[0]!.length / HASH_BYTES;
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) throw new RangeError(`leaf index ${index} out of range (0..${count - 1})`);
  const siblings: string[] = [];
  let i = index;
  for (let l = 0; l < levels.length - 1; l++) {
    const sibling = i ^ 1;
    if (sibling * HASH_BYTES < levels[l]!.length) siblings.push(toHex(levelHash(levels[l]!, sibling)));
    i >>= 1;
  }
  return { index, count, siblings };
}

/** Recompute the root a proof leads to; the caller compares it with a signed header. */
export function rootFromProof(leafHashValue: Uint8Array, proof: MerkleProof): string {
  if (!Number.isSafeInteger(proof.index) || !Number.isSafeInteger(proof.count) || proof.index < 0 || proof.index >= proof.count) {
    throw new Error('proof index out of range');
  }
  let node = leafHashValue;
  let i = proof.index;
  let size = proof.count;
  let s = 0;
  while (size > 1) {
    const sibling = i ^ 1;
    if (sibling < size) {
      const other = fromHex(proof.siblings[s++], 'proof sibling', 32);
      node = i & 1 ? nodeHash(other, node) : nodeHash(node, other);
    }
    i >>= 1;
    size = (size + 1) >> 1;
  }
  if (s !== proof.siblings.length) throw new Error('proof has unused siblings');
  return toHex(node);
}
