// One block's update of the state tree, batched: the block's writes sorted by path walk the
// parent version's nodes once, top-down, so a node that many writes pass through is read
// and rewritten once. The result is the new root and the rows to persist (new nodes, new
// value rows) and the rows this version made stale (for pruning). Pure: it reads the
// parent's nodes through `TreeReader` and writes nothing.
import { assert } from '../../core/errors.js';
import { changeNode, comparePaths, hashText, leafRef, makeNode, nibbleAt, NIBBLES, rootHex, type InternalNode, type LeafRef, type Ref } from './node.js';

export interface TreeReader {
  /** The node stored at (version, nibble path). A missing one is a broken invariant (the reader asserts). */
  node(version: number, npath: string): InternalNode;
}

/** A committed tree version: its root reference (undefined = the empty tree). */
export interface TreeVersion {
  version: number;
  root: Ref | undefined;
}

export interface TreeBatch {
  version: number;
  root: Ref | undefined;
  rootHash: string;
  /** nodes this version wrote, at (version, npath) */
  nodes: Array<{ npath: string; node: InternalNode }>;
  /** value rows this version wrote: the key's value text at (version, path) */
  values: Array<{ path: Uint8Array; key: string; value: string }>;
  /** rows of earlier versions that no root from this version on reaches */
  staleNodes: Array<{ version: number; npath: string }>;
  staleValues: Array<{ version: number; path: Uint8Array }>;
}

interface Write {
  path: Uint8Array;
  key: string;
  value: string | null;
  valueHash: Uint8Array | null;
  /** the path's first 6 bytes as a number: the sort compares these, and whole paths only on a tie */
  head: number;
  /** its leaf, once made (a write that meets its key's old leaf is hashed to compare) */
  leaf?: LeafRef;
}

/** A key the new subtree holds: an existing leaf kept as is, or a write that sets a value. */
type Entry = { path: Uint8Array; ref: LeafRef; write?: undefined } | { path: Uint8Array; ref?: undefined; write: Write };

const HEX = '0123456789abcdef';

/** A key's path in the tree. */
export function pathOf(key: string): Uint8Array {
  return hashText(key);
}

/** The block's writes as the tree takes them: path, value hash, sorted by path. */
export function treeWrites(writes: Iterable<[string, string | null]>): Write[] {
  const out: Write[] = [];
  for (const [key, value] of writes) {
    const path = pathOf(key);
    const head = ((((path[0]! * 256 + path[1]!) * 256 + path[2]!) * 256 + path[3]!) * 256 + path[4]!) * 256 + path[5]!;
    out.push({ path, key, value, valueHash: value === null ? null : hashText(value), head });
  }
  return out.sort((a, b) => a.head - b.head || comparePaths(a.path, b.path));
}

class Updater {
  readonly batch: TreeBatch;

  constructor(private readonly reader: TreeReader, readonly version: number) {
    this.batch = { version, root: undefined, rootHash: '', nodes: [], values: [], staleNodes: [], staleValues: [] };
  }

  /** The subtree at `npath` (nibble depth n = npath.length) after writes[lo, hi), all under that prefix. */
  update(ref: Ref | undefined, ws: Write[], lo: number, hi: number, npath: string): Ref | undefined {
    if (lo === hi) return ref;
    if (!ref) {
      const entries: Entry[] = [];
      for (let i = lo; i < hi; i++) if (ws[i]!.value !== null) entries.push({ path: ws[i]!.path, write: ws[i]! });
      return this.build(entries, 0, entries.length, npath);
    }
    if (ref.leaf) return this.mergeLeaf(ref, ws, lo, hi, npath);

    const n = npath.length;
    const old = this.reader.node(ref.version, npath);
    const children = old.children.slice();
    const changed: number[] = [];
    for (let a = lo; a < hi;) {
      const c = nibbleAt(ws[a]!.path, n);
      let b = a + 1;
      while (b < hi && nibbleAt(ws[b]!.path, n) === c) b++;
      const next = this.update(children[c], ws, a, b, npath + HEX[c]);
      if (next !== children[c]) {
        children[c] = next;
        changed.push(c);
      }
      a = b;
    }
    if (changed.length === 0) return ref;
    this.batch.staleNodes.push({ version: ref.version, npath });
    return this.settle(children, npath, old, changed);
  }

  /** A leaf met by writes under its prefix: the keys there now are the leaf (unless written) and the writes' values. */
  private mergeLeaf(leaf: LeafRef, ws: Write[], lo: number, hi: number, npath: string): Ref | undefined {
    const entries: Entry[] = [];
    let placed = false;
    let changed = false;
    for (let i = lo; i < hi; i++) {
      const w = ws[i]!;
      const order = placed ? 1 : comparePaths(leaf.path, w.path);
      if (order <= 0) {
        placed = true;
        if (order === 0) {
          if (w.value !== null && comparePaths(this.leafOfWrite(w).hash, leaf.hash) === 0) {
            entries.push({ path: leaf.path, ref: leaf });
          } else {
            this.batch.staleValues.push({ version: leaf.version, path: leaf.path });
            changed = true;
            if (w.value !== null) entries.push({ path: w.path, write: w });
          }
          continue;
        }
        entries.push({ path: leaf.path, ref: leaf });
      }
      if (w.value !== null) {
        entries.push({ path: w.path, write: w });
        changed = true;
      }
    }
    if (!placed) entries.push({ path: leaf.path, ref: leaf });
    if (!changed) return leaf;
    return this.build(entries, 0, entries.length, npath);
  }

  /** A new subtree over sorted entries[lo, hi), all under `npath`. */
  private build(entries: Entry[], lo: number, hi: number, npath: string): Ref | undefined {
    if (hi === lo) return undefined;
    if (hi - lo === 1) return this.leafOf(entries[lo]!);
    const n = npath.length;
    assert(n < NIBBLES, 'two keys never share all 256 bits of their path');
    const children: Array<Ref | undefined> = new Array(16).fill(undefined);
    for (let a = lo; a < hi;) {
      const c = nibbleAt(entries[a]!.path, n);
      let b = a + 1;
      while (b < hi && nibbleAt(entries[b]!.path, n) === c) b++;
      children[c] = this.build(entries, a, b, npath + HEX[c]);
      a = b;
    }
    return this.settle(children, npath);
  }

  private leafOf(e: Entry): LeafRef {
    if (e.ref) return e.ref;
    const w = e.write;
    this.batch.values.push({ path: w.path, key: w.key, value: w.value! });
    return this.leafOfWrite(w);
  }

  private leafOfWrite(w: Write): LeafRef {
    w.leaf ??= leafRef(w.path, w.valueHash!, this.version);
    return w.leaf;
  }

  /** A node's new children: none (empty), one lone leaf (it moves up: compaction), else a new node row. */
  private settle(children: Array<Ref | undefined>, npath: string, old?: InternalNode, changed?: number[]): Ref | undefined {
    let count = 0;
    let only: Ref | undefined;
    for (const c of children) {
      if (c) {
        count++;
        only = c;
      }
    }
    if (count === 0) return undefined;
    if (count === 1 && only!.leaf) return only;
    const node = old ? changeNode(old, children, changed!) : makeNode(children);
    this.batch.nodes.push({ npath, node });
    return { leaf: false, version: this.version, hash: node.hash };
  }
}

/**
 * The tree after one block: `parent` is the committed version below, `version` the new
 * block's height, `writes` the block's writes (key -> canonical text, null = deleted).
 */
export function updateTree(reader: TreeReader, parent: TreeVersion, version: number, writes: Iterable<[string, string | null]>): TreeBatch {
  assert(version > parent.version || (parent.version === -1 && version === 0), 'a tree version follows its parent');
  assert(version <= 0xffff_ffff, 'tree versions (heights) fit the rows\' 32 bits');
  const u = new Updater(reader, version);
  const ws = treeWrites(writes);
  const root = u.update(parent.root, ws, 0, ws.length, '');
  u.batch.root = root;
  u.batch.rootHash = rootHex(root);
  return u.batch;
}

/** The empty tree "before genesis": block 0's writes are its first version. */
export const EMPTY_TREE: TreeVersion = { version: -1, root: undefined };
