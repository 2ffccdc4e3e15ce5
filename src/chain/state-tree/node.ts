// The stored shape of the state tree (src/core/smt.ts defines it): Jellyfish-style 16-ary
// nodes over the nibbles of a key's path, each hashed as the 4 binary levels it stands
// for, so one stored row covers 4 levels of the binary tree. A node exists only where its
// subtree holds at least two keys; a lone key is a leaf reference held by its parent (or
// the root), which is exactly the binary tree's compaction. Hashing uses blake3-small.ts
// (plain JS, no call overhead: about 2x faster than hash-wasm on these 82-byte inputs, and
// 5x faster than noble) with smt.ts's domain tags; the tests cross-check them.
import { assert } from '../../core/errors.js';
import { hashText } from '../../core/hash.js';
import { BLAKE3_SCRATCH, blake3ScratchInto } from '../../core/blake3-small.js';
import { toHex, utf8 } from '../../core/encoding.js';
import { SMT_EMPTY, SMT_LEAF_TAG, SMT_NODE_TAG } from '../../core/smt.js';

/** A lone key: its path, the version that wrote its value, and its leaf hash. */
export interface LeafRef {
  leaf: true;
  /** BLAKE3(key), 32 bytes: nibble n is the high (n even) or low (n odd) half of byte n >> 1 */
  path: Uint8Array;
  /** the height whose block last set this key's value (its value row is stored under it) */
  version: number;
  /** leaf(path, valueHash): the value hash itself is not kept (a proof reads the value row) */
  hash: Uint8Array;
}

/** A stored internal node: (version, nibble path) names its row. */
export interface NodeRef {
  leaf: false;
  version: number;
  hash: Uint8Array;
}

export type Ref = LeafRef | NodeRef;

/**
 * 16 children, indexed by the next nibble of the path, and the node's 4 binary levels as a
 * heap: position 1 is the node, 2i and 2i+1 the halves of i, 16 + c the slot of child c.
 * Each position's kind is EMPTY (no key below), LONE (exactly one key: a leaf, whose hash
 * rises unchanged) or NODE; a new version of a node rehashes only the changed slots' ancestors.
 * Kinds and hashes share one 1 KB buffer (`heap`): position i's hash at 32 * i (EMPTY's
 * bytes where nothing is below, so a node's input is always the 64 bytes at 64 * i), and
 * the kinds in the unused position 0's bytes. Hashes are computed into it in place: a
 * rewritten node is one allocation, not one array per rehashed position.
 */
export interface InternalNode {
  children: Array<Ref | undefined>;
  heap: Uint8Array;
  hash: Uint8Array;
  /** its row, once encoded or read (encodeNode returns it; a new version patches it) */
  row?: Uint8Array;
  /** until encoded: the row of the version it replaced, and a bit per slot that changed */
  base?: { row: Uint8Array; changed: number };
}

export const NIBBLES = 64;
const EMPTY = 0;
const LONE = 1;
const NODE = 2;

// Inputs are written into the hasher's scratch buffer: tag (18 bytes) ‖ 32 ‖ 32 bytes.
const LEAF_TAG = utf8.encode(SMT_LEAF_TAG);
const NODE_TAG = utf8.encode(SMT_NODE_TAG);
assert(LEAF_TAG.length === 18 && NODE_TAG.length === 18, 'the tree tags are 18 bytes');
const IN = BLAKE3_SCRATCH;

export function leafHashOf(path: Uint8Array, valueHash: Uint8Array): Uint8Array {
  IN.set(LEAF_TAG, 0);
  IN.set(path, 18);
  IN.set(valueHash, 50);
  const out = new Uint8Array(32);
  blake3ScratchInto(82, out, 0);
  return out;
}

/** heap position i = node(positions 2i, 2i + 1), in place. */
function nodeHashAt(heap: Uint8Array, i: number): void {
  for (let k = 0; k < 18; k++) IN[k] = NODE_TAG[k]!;
  for (let k = 0, from = 64 * i; k < 64; k++) IN[18 + k] = heap[from + k]!;
  blake3ScratchInto(82, heap, 32 * i);
}

/** BLAKE3 of a text's UTF-8 (a key's path, a value's hash). */
export { hashText };

export function leafRef(path: Uint8Array, valueHash: Uint8Array, version: number): LeafRef {
  return { leaf: true, path, version, hash: leafHashOf(path, valueHash) };
}

export function refHash(ref: Ref | undefined): Uint8Array {
  return ref ? ref.hash : SMT_EMPTY;
}

/** The hash at heap position i of a node (EMPTY where no key is below). */
export function heapHash(node: InternalNode, i: number): Uint8Array {
  return node.heap.subarray(32 * i, 32 * i + 32);
}

export function heapKind(node: InternalNode, i: number): 'empty' | 'lone' | 'node' {
  const k = node.heap[i];
  return k === EMPTY ? 'empty' : k === LONE ? 'lone' : 'node';
}

function setSlot(heap: Uint8Array, c: number, ref: Ref | undefined): void {
  heap[16 + c] = ref === undefined ? EMPTY : ref.leaf ? LONE : NODE;
  heap.set(ref === undefined ? SMT_EMPTY : ref.hash, 32 * (16 + c));
}

/** Position i from its two halves: EMPTY + LONE rises as LONE (compaction), else node(left, right). */
function combine(heap: Uint8Array, i: number): void {
  const ka = heap[2 * i]!;
  const kb = heap[2 * i + 1]!;
  if (ka === EMPTY && (kb === EMPTY || kb === LONE)) {
    heap[i] = kb;
    heap.copyWithin(32 * i, 32 * (2 * i + 1), 32 * (2 * i + 2));
  } else if (kb === EMPTY && ka === LONE) {
    heap[i] = LONE;
    heap.copyWithin(32 * i, 64 * i, 64 * i + 32);
  } else {
    heap[i] = NODE;
    nodeHashAt(heap, i);
  }
}

export function makeNode(children: Array<Ref | undefined>): InternalNode {
  assert(children.length === 16, 'a node has 16 child slots');
  const heap = new Uint8Array(32 * 32);
  for (let c = 0; c < 16; c++) setSlot(heap, c, children[c]);
  for (let i = 15; i >= 1; i--) combine(heap, i);
  assert(heap[1] === NODE, 'a stored node holds at least two keys');
  return { children, heap, hash: heap.slice(32, 64) };
}

/** `old` with the children in `changed` slots replaced: only their ancestors are rehashed. */
export function changeNode(old: InternalNode, children: Array<Ref | undefined>, changed: number[]): InternalNode {
  const heap = old.heap.slice();
  let dirty = 0;
  for (const c of changed) {
    setSlot(heap, c, children[c]);
    for (let i = (16 + c) >> 1; i >= 1; i >>= 1) dirty |= 1 << i;
  }
  for (let i = 15; i >= 1; i--) if (dirty & (1 << i)) combine(heap, i);
  assert(heap[1] === NODE, 'a stored node holds at least two keys');
  if (!old.row) return { children, heap, hash: heap.slice(32, 64) };
  let mask = 0;
  for (const c of changed) mask |= 1 << c;
  return { children, heap, hash: heap.slice(32, 64), base: { row: old.row, changed: mask } };
}

/** Nibble n of a 32-byte path, 0..15. */
export function nibbleAt(path: Uint8Array, n: number): number {
  const b = path[n >> 1]!;
  return n & 1 ? b & 15 : b >> 4;
}

/** Byte order of two paths (the order writes are sorted in). */
export function comparePaths(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

// ---------------------------------------------------------------------------------------
// Row encoding (format 2). A node row: u16 bitmap of present children, u16 bitmap of which
// are leaves, then per present child in slot order: a leaf as path (32) + leaf hash (32) +
// version (u32), a node as hash (32) + version (u32). A row decodes alone: format 1 kept
// only a leaf's path and version, and decoding read and hashed the leaf's value row, most
// of the cost of a node not in memory (core migration 3 and convertTreeRows rewrite
// format-1 rows). Inner hashes are recomputed on decode. A root row is a kind byte and
// the child encoding.

const LEAF_BYTES = 68;
const NODE_BYTES = 36;

const childBytes = (leaf: boolean) => (leaf ? LEAF_BYTES : NODE_BYTES);

/** A node's row (kept on the node: the next version of it is a patch of this one). */
export function encodeNode(node: InternalNode): Uint8Array {
  if (node.row) return node.row;
  const row = node.base ? patchRow(node, node.base.row, node.base.changed) : freshRow(node);
  node.row = row;
  node.base = undefined;
  return row;
}

/** A row from every child: each child's path or hash is read from its own object. */
export function freshRow(node: InternalNode): Uint8Array {
  let present = 0;
  let leaves = 0;
  let count = 0;
  const children = node.children;
  for (let i = 0; i < 16; i++) {
    const c = children[i];
    if (!c) continue;
    present |= 1 << i;
    if (c.leaf) leaves |= 1 << i;
    count++;
  }
  const out = Buffer.allocUnsafe(4 + count * NODE_BYTES + popcount(leaves) * (LEAF_BYTES - NODE_BYTES));
  out[0] = present >>> 8;
  out[1] = present & 255;
  out[2] = leaves >>> 8;
  out[3] = leaves & 255;
  let at = 4;
  for (let i = 0; i < 16; i++) {
    const c = children[i];
    if (c) at = putChild(out, at, c);
  }
  return out;
}

/**
 * The row of a node whose `changed` slots differ from the version whose row is `old`: the
 * unchanged children's bytes are copied from `old` (one buffer, in order) instead of
 * read from their scattered objects, the costly part of encoding a node. Same bytes as
 * freshRow (a test compares them).
 */
function patchRow(node: InternalNode, old: Uint8Array, changed: number): Uint8Array {
  const children = node.children;
  const oldPresent = (old[0]! << 8) | old[1]!;
  const oldLeaves = (old[2]! << 8) | old[3]!;
  let present = oldPresent & ~changed;
  let leaves = oldLeaves & ~changed;
  for (let i = 0; i < 16; i++) {
    if (!(changed & (1 << i))) continue;
    const c = children[i];
    if (!c) continue;
    present |= 1 << i;
    if (c.leaf) leaves |= 1 << i;
  }
  const out = Buffer.allocUnsafe(4 + popcount(present) * NODE_BYTES + popcount(leaves) * (LEAF_BYTES - NODE_BYTES));
  out[0] = present >>> 8;
  out[1] = present & 255;
  out[2] = leaves >>> 8;
  out[3] = leaves & 255;
  let at = 4;
  let from = 4;
  for (let i = 0; i < 16; i++) {
    const bit = 1 << i;
    if (changed & bit) {
      const c = children[i];
      if (c) at = putChild(out, at, c);
    } else if (present & bit) {
      // byte by byte: a subarray view per child would cost more than the copy
      const n = childBytes((oldLeaves & bit) !== 0);
      for (let k = 0; k < n; k++) out[at + k] = old[from + k]!;
      at += n;
    }
    if (oldPresent & bit) from += childBytes((oldLeaves & bit) !== 0);
  }
  return out;
}

function putChild(out: Uint8Array, at: number, c: Ref): number {
  if (c.leaf) {
    out.set(c.path, at);
    at += 32;
  }
  out.set(c.hash, at);
  const v = c.version;
  out[at + 32] = v >>> 24;
  out[at + 33] = (v >>> 16) & 255;
  out[at + 34] = (v >>> 8) & 255;
  out[at + 35] = v & 255;
  return at + 36;
}

function popcount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

export function decodeNode(bytes: Uint8Array): InternalNode {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const present = buf.readUInt16BE(0);
  const leaves = buf.readUInt16BE(2);
  const children: Array<Ref | undefined> = new Array(16).fill(undefined);
  let at = 4;
  for (let i = 0; i < 16; i++) {
    if (!(present & (1 << i))) continue;
    children[i] = readChild(buf, at, (leaves & (1 << i)) !== 0);
    at += childBytes((leaves & (1 << i)) !== 0);
  }
  assert(at === buf.length, 'a state tree node row has the length its bitmaps say');
  const node = makeNode(children);
  node.row = bytes;
  return node;
}

function readChild(buf: Buffer, at: number, leaf: boolean): Ref {
  if (leaf) return { leaf: true, path: buf.subarray(at, at + 32), hash: buf.subarray(at + 32, at + 64), version: buf.readUInt32BE(at + 64) };
  return { leaf: false, hash: buf.subarray(at, at + 32), version: buf.readUInt32BE(at + 32) };
}

/** Child `c` of a node row, read from the row without decoding the node (no hashing). */
export function rowChild(row: Uint8Array, c: number): Ref | undefined {
  const present = (row[0]! << 8) | row[1]!;
  const leaves = (row[2]! << 8) | row[3]!;
  const bit = 1 << c;
  if (!(present & bit)) return undefined;
  const below = bit - 1;
  const at = 4 + popcount(present & below) * NODE_BYTES + popcount(leaves & below) * (LEAF_BYTES - NODE_BYTES);
  return readChild(Buffer.from(row.buffer, row.byteOffset, row.byteLength), at, (leaves & bit) !== 0);
}

/** A root reference: empty (0 bytes), or a kind byte (1 leaf, 2 node) and the child encoding. */
export function encodeRoot(ref: Ref | undefined): Buffer {
  if (!ref) return Buffer.alloc(0);
  const out = Buffer.allocUnsafe(1 + childBytes(ref.leaf));
  out[0] = ref.leaf ? 1 : 2;
  putChild(out, 1, ref);
  return out;
}

export function decodeRoot(bytes: Uint8Array): Ref | undefined {
  if (bytes.length === 0) return undefined;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert((buf[0] === 1 || buf[0] === 2) && buf.length === 1 + childBytes(buf[0] === 1), 'a state tree root row is empty, a leaf or a node');
  return readChild(buf, 1, buf[0] === 1);
}

/**
 * A format-1 row (node or root) as format 2: each leaf child's value hash comes from its
 * value row (`valueHashAt`), and the row then holds the leaf hash. Node children and the
 * bitmaps are copied as they are.
 */
export function convertRowFormat1(old: Uint8Array, valueHashAt: (version: number, path: Uint8Array) => Uint8Array, root = false): Buffer {
  const buf = Buffer.from(old.buffer, old.byteOffset, old.byteLength);
  if (root) {
    if (buf.length === 0 || buf[0] === 2) return Buffer.from(buf);
    assert(buf[0] === 1 && buf.length === 69, 'a format-1 leaf root row is 69 bytes');
    const path = buf.subarray(1, 33);
    return encodeRoot({ leaf: true, path, version: buf.readUInt32BE(65), hash: leafHashOf(path, buf.subarray(33, 65)) });
  }
  const present = buf.readUInt16BE(0);
  const leaves = buf.readUInt16BE(2);
  const out = Buffer.allocUnsafe(4 + popcount(present) * NODE_BYTES + popcount(leaves) * (LEAF_BYTES - NODE_BYTES));
  buf.copy(out, 0, 0, 4);
  let from = 4;
  let at = 4;
  for (let i = 0; i < 16; i++) {
    if (!(present & (1 << i))) continue;
    const version = buf.readUInt32BE(from + 32);
    const bytes32 = buf.subarray(from, from + 32);
    const child: Ref = leaves & (1 << i) ? { leaf: true, path: bytes32, version, hash: leafHashOf(bytes32, valueHashAt(version, bytes32)) } : { leaf: false, hash: bytes32, version };
    at = putChild(out, at, child);
    from += 36;
  }
  assert(from === buf.length && at === out.length, 'a format-1 node row has the length its bitmaps say');
  return out;
}

export function rootHex(ref: Ref | undefined): string {
  return toHex(refHash(ref));
}
