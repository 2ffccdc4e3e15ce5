// The state tree's definition and its proof verifier: a binary sparse Merkle tree over
// 256-bit paths with leaf compaction (the binary view of Diem's Jellyfish Merkle tree).
// This file is the spec in code: it imports nothing Node-only, so a browser runs it as is,
// and it is small enough to read beside the README's "State tree" section.
//
//   path(key)          = BLAKE3(utf8(key))                     32 bytes, bit 0 = MSB of byte 0
//   valueHash(text)    = BLAKE3(utf8(text))                    text = the value's JCS text
//   leaf(path, vh)     = BLAKE3("tally/smt/leaf/v1\n" ‖ path ‖ vh)
//   node(left, right)  = BLAKE3("tally/smt/node/v1\n" ‖ left ‖ right)
//   EMPTY              = BLAKE3("tally/smt/empty/v1\n")
//
// The root of a set S of (path, valueHash) at depth d is EMPTY when S is empty, leaf(...)
// of the one entry when S has one (compaction: a lone key sits as high as it can), and
// otherwise node(root(S0, d+1), root(S1, d+1)), S_b being the entries whose bit d is b.
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';

export const SMT_LEAF_TAG = 'tally/smt/leaf/v1\n';
export const SMT_NODE_TAG = 'tally/smt/node/v1\n';
export const SMT_EMPTY_TAG = 'tally/smt/empty/v1\n';
export const SMT_PATH_BITS = 256;

const LEAF = utf8ToBytes(SMT_LEAF_TAG);
const NODE = utf8ToBytes(SMT_NODE_TAG);

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const SMT_EMPTY: Uint8Array = blake3(utf8ToBytes(SMT_EMPTY_TAG));
export const SMT_EMPTY_HEX = bytesToHex(SMT_EMPTY);

export function smtPath(key: string): Uint8Array {
  return blake3(utf8ToBytes(key));
}

export function smtValueHash(valueText: string): Uint8Array {
  return blake3(utf8ToBytes(valueText));
}

export function smtLeaf(path: Uint8Array, valueHash: Uint8Array): Uint8Array {
  return blake3(concat(LEAF, path, valueHash));
}

export function smtNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  return blake3(concat(NODE, left, right));
}

/** Bit `i` of a path, most significant bit of byte 0 first. */
export function smtBit(path: Uint8Array, i: number): 0 | 1 {
  return ((path[i >> 3]! >> (7 - (i & 7))) & 1) as 0 | 1;
}

/** Whether two paths agree on their first `bits` bits. */
export function smtSharesPrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bits; i++) if (smtBit(a, i) !== smtBit(b, i)) return false;
  return true;
}

/**
 * A proof about one key against one root. `siblings[i]` is the hash of the subtree beside
 * the key's path at depth i + 1 (top-down), so the path's terminal sits at depth
 * siblings.length. The terminal is:
 * - membership (`value` set): leaf(path(key), valueHash(value));
 * - non-membership (`value` null) without `leaf`: EMPTY (no key has this prefix);
 * - non-membership with `leaf`: another key's leaf, whose path shares the first
 *   siblings.length bits with path(key) and differs from it (the only key with that prefix).
 */
export interface StateProof {
  key: string;
  /** the value's canonical JSON text, or null when the key is absent */
  value: string | null;
  /** lowercase hex, 32 bytes each, top-down */
  siblings: string[];
  leaf?: { path: string; valueHash: string };
}

export type StateProofCheck = { ok: true; key: string; value: string | null } | { ok: false; reason: string };

const HEX32 = /^[0-9a-f]{64}$/;

/** Check `proof` against `rootHex`. Never throws on malformed input: it says what was wrong. */
export function verifyStateProof(rootHex: string, proof: StateProof): StateProofCheck {
  const bad = (reason: string): StateProofCheck => ({ ok: false, reason });
  if (typeof rootHex !== 'string' || !HEX32.test(rootHex)) return bad('root must be 32 bytes of lowercase hex');
  if (typeof proof !== 'object' || proof === null) return bad('proof must be an object');
  if (typeof proof.key !== 'string') return bad('key must be a string');
  if (proof.value !== null && typeof proof.value !== 'string') return bad('value must be a string or null');
  if (!Array.isArray(proof.siblings) || proof.siblings.length > SMT_PATH_BITS) return bad(`siblings must be an array of at most ${SMT_PATH_BITS}`);
  if (!proof.siblings.every((s) => typeof s === 'string' && HEX32.test(s))) return bad('every sibling must be 32 bytes of lowercase hex');
  const path = smtPath(proof.key);
  const depth = proof.siblings.length;
  let h: Uint8Array;
  if (proof.value !== null) {
    if (proof.leaf !== undefined) return bad('a membership proof carries no other leaf');
    h = smtLeaf(path, smtValueHash(proof.value));
  } else if (proof.leaf === undefined) {
    h = SMT_EMPTY;
  } else {
    const { path: otherHex, valueHash } = proof.leaf;
    if (typeof otherHex !== 'string' || !HEX32.test(otherHex) || typeof valueHash !== 'string' || !HEX32.test(valueHash)) {
      return bad('leaf.path and leaf.valueHash must be 32 bytes of lowercase hex');
    }
    const other = hexToBytes(otherHex);
    if (bytesToHex(other) === bytesToHex(path)) return bad('the other leaf is the key itself');
    if (!smtSharesPrefix(other, path, depth)) return bad('the other leaf does not share the proof\'s prefix with the key');
    h = smtLeaf(other, hexToBytes(valueHash));
  }
  for (let i = depth - 1; i >= 0; i--) {
    const sibling = hexToBytes(proof.siblings[i]!);
    h = smtBit(path, i) === 0 ? smtNode(h, sibling) : smtNode(sibling, h);
  }
  if (bytesToHex(h) !== rootHex) return bad('the proof does not fold to the root');
  return { ok: true, key: proof.key, value: proof.value };
}

// ---------------------------------------------------------------------------------------
// The reference: root and proof of a whole set, straight from the definition. O(n log n);
// used to verify snapshots (every entry at once) and as the oracle in property tests.

export interface SmtEntry {
  path: Uint8Array;
  valueHash: Uint8Array;
}

/** Entries sorted by path (bytewise), as root and proof below need them. */
export function smtSortEntries(entries: SmtEntry[]): SmtEntry[] {
  return [...entries].sort((a, b) => compareBytes(a.path, b.path));
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The first index in sorted[lo, hi) whose bit `depth` is 1 (entries in range share bits < depth). */
function split(sorted: SmtEntry[], lo: number, hi: number, depth: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (smtBit(sorted[mid]!.path, depth) === 0) a = mid + 1;
    else b = mid;
  }
  return a;
}

/** Root of sorted, distinct-path entries. */
export function smtRootOfSorted(sorted: SmtEntry[], lo = 0, hi = sorted.length, depth = 0): Uint8Array {
  if (hi - lo === 0) return SMT_EMPTY;
  if (hi - lo === 1) return smtLeaf(sorted[lo]!.path, sorted[lo]!.valueHash);
  const mid = split(sorted, lo, hi, depth);
  return smtNode(smtRootOfSorted(sorted, lo, mid, depth + 1), smtRootOfSorted(sorted, mid, hi, depth + 1));
}

/** Proof for `key` over sorted, distinct-path entries; `value` is the key's text or null. */
export function smtProveSorted(sorted: SmtEntry[], key: string, value: string | null): StateProof {
  const path = smtPath(key);
  const siblings: string[] = [];
  let lo = 0;
  let hi = sorted.length;
  for (let depth = 0; hi - lo > 1; depth++) {
    const mid = split(sorted, lo, hi, depth);
    if (smtBit(path, depth) === 0) {
      siblings.push(bytesToHex(smtRootOfSorted(sorted, mid, hi, depth + 1)));
      hi = mid;
    } else {
      siblings.push(bytesToHex(smtRootOfSorted(sorted, lo, mid, depth + 1)));
      lo = mid;
    }
  }
  const proof: StateProof = { key, value, siblings };
  if (hi - lo === 1 && bytesToHex(sorted[lo]!.path) !== bytesToHex(path)) {
    proof.leaf = { path: bytesToHex(sorted[lo]!.path), valueHash: bytesToHex(sorted[lo]!.valueHash) };
  }
  return proof;
}
