// The stored shape of the state tree (src/core/smt.ts defines it): Jellyfish-style 16-ary
// nodes over the nibbles of a key's path, each hashed as the 4 binary levels it stands
// for, so one stored row covers 4 levels of the binary tree. A node exists only where its
// subtree holds at least two keys; a lone key is a leaf reference held by its parent (or
// the root), which is exactly the binary tree's compaction. Hashing uses hash-wasm (about
// 10x faster than noble) with smt.ts's domain tags; the tests cross-check the two.
import { assert } from '../../core/errors.js';
import { hash } from '../../core/hash.js';
import { toHex, utf8 } from '../../core/encoding.js';
import { SMT_EMPTY, SMT_LEAF_TAG, SMT_NODE_TAG } from '../../core/smt.js';

const LEAF_TAG = utf8.encode(SMT_LEAF_TAG);
const NODE_TAG = utf8.encode(SMT_NODE_TAG);

/** A lone key: its path (64 hex nibbles), value hash, and the version that wrote its value. */
export interface LeafRef {
  leaf: true;
  /** BLAKE3(key) as 64 lowercase hex digits: digit n is nibble n */
  path: string;
  valueHash: Uint8Array;
  /** the height whose block last set this key's value (its value row is stored under it) */
  version: number;
  hash: Uint8Array;
}

/** A stored internal node: (version, nibble path) names its row. */
export interface NodeRef {
  leaf: false;
  version: number;
  hash: Uint8Array;
}

export type Ref = LeafRef | NodeRef;

/** 16 children, indexed by the next nibble of the path. */
export interface InternalNode {
  children: Array<Ref | undefined>;
  hash: Uint8Array;
}

export const NIBBLES = 64;

export function leafHashOf(pathHex: string, valueHash: Uint8Array): Uint8Array {
  return hash(LEAF_TAG, Buffer.from(pathHex, 'hex'), valueHash);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return hash(NODE_TAG, left, right);
}

export function leafRef(path: string, valueHash: Uint8Array, version: number): LeafRef {
  return { leaf: true, path, valueHash, version, hash: leafHashOf(path, valueHash) };
}

export function refHash(ref: Ref | undefined): Uint8Array {
  return ref ? ref.hash : SMT_EMPTY;
}

/**
 * The binary root of children[lo, hi): EMPTY when none, the leaf's own hash when one leaf
 * is alone in the range (compaction), a node's hash when the range is that one slot, else
 * node(left half, right half) — the definition, 4 levels at a time.
 */
export function rangeHash(children: ReadonlyArray<Ref | undefined>, lo = 0, hi = 16): Uint8Array {
  let count = 0;
  let only: Ref | undefined;
  for (let i = lo; i < hi; i++) {
    const c = children[i];
    if (c) {
      count++;
      only = c;
    }
  }
  if (count === 0) return SMT_EMPTY;
  if (count === 1 && (only!.leaf || hi - lo === 1)) return only!.hash;
  const mid = (lo + hi) >> 1;
  return nodeHash(rangeHash(children, lo, mid), rangeHash(children, mid, hi));
}

export function makeNode(children: Array<Ref | undefined>): InternalNode {
  assert(children.length === 16, 'a node has 16 child slots');
  return { children, hash: rangeHash(children) };
}

/** Nibble n of a 64-digit hex path, 0..15. */
export function nibbleAt(pathHex: string, n: number): number {
  const c = pathHex.charCodeAt(n);
  return c <= 57 ? c - 48 : c - 87;
}

// ---------------------------------------------------------------------------------------
// Row encoding. A node row: u16 bitmap of present children, u16 bitmap of which are leaves,
// then per present child in slot order: a leaf as path (32) + valueHash (32) + version (u32),
// a node as hash (32) + version (u32). Leaf hashes are recomputed on decode.

const LEAF_BYTES = 68;
const NODE_BYTES = 36;

export function encodeNode(node: InternalNode): Buffer {
  let present = 0;
  let leaves = 0;
  let size = 4;
  node.children.forEach((c, i) => {
    if (!c) return;
    present |= 1 << i;
    if (c.leaf) leaves |= 1 << i;
    size += c.leaf ? LEAF_BYTES : NODE_BYTES;
  });
  const out = Buffer.allocUnsafe(size);
  out.writeUInt16BE(present, 0);
  out.writeUInt16BE(leaves, 2);
  let at = 4;
  for (const c of node.children) {
    if (!c) continue;
    if (c.leaf) {
      out.write(c.path, at, 'hex');
      out.set(c.valueHash, at + 32);
      out.writeUInt32BE(c.version, at + 64);
      at += LEAF_BYTES;
    } else {
      out.set(c.hash, at);
      out.writeUInt32BE(c.version, at + 32);
      at += NODE_BYTES;
    }
  }
  return out;
}

export function decodeNode(bytes: Uint8Array): InternalNode {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const present = buf.readUInt16BE(0);
  const leaves = buf.readUInt16BE(2);
  const children: Array<Ref | undefined> = new Array(16).fill(undefined);
  let at = 4;
  for (let i = 0; i < 16; i++) {
    if (!(present & (1 << i))) continue;
    if (leaves & (1 << i)) {
      children[i] = leafRef(buf.toString('hex', at, at + 32), buf.subarray(at + 32, at + 64), buf.readUInt32BE(at + 64));
      at += LEAF_BYTES;
    } else {
      children[i] = { leaf: false, hash: buf.subarray(at, at + 32), version: buf.readUInt32BE(at + 32) };
      at += NODE_BYTES;
    }
  }
  assert(at === buf.length, 'a state tree node row has the length its bitmaps say');
  return makeNode(children);
}

/** A root reference: empty (0 bytes), a leaf or a node, in the child encoding with a 1-byte kind. */
export function encodeRoot(ref: Ref | undefined): Buffer {
  if (!ref) return Buffer.alloc(0);
  const out = Buffer.allocUnsafe(1 + (ref.leaf ? LEAF_BYTES : NODE_BYTES));
  out[0] = ref.leaf ? 1 : 2;
  if (ref.leaf) {
    out.write(ref.path, 1, 'hex');
    out.set(ref.valueHash, 33);
    out.writeUInt32BE(ref.version, 65);
  } else {
    out.set(ref.hash, 1);
    out.writeUInt32BE(ref.version, 33);
  }
  return out;
}

export function decodeRoot(bytes: Uint8Array): Ref | undefined {
  if (bytes.length === 0) return undefined;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf[0] === 1) return leafRef(buf.toString('hex', 1, 33), buf.subarray(33, 65), buf.readUInt32BE(65));
  assert(buf[0] === 2 && buf.length === 1 + NODE_BYTES, 'a state tree root row is empty, a leaf or a node');
  return { leaf: false, hash: buf.subarray(1, 33), version: buf.readUInt32BE(33) };
}

export function rootHex(ref: Ref | undefined): string {
  return toHex(refHash(ref));
}
