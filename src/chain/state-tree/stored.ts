// The state tree in the node's encrypted SQLite database: a TreeReader over the stored
// rows, the rows a block's batch becomes, proofs at kept heights, and the one-time build
// from a full state. Two bounded caches stand before SQLite: decoded nodes (the upper
// levels, which every block rewrites, always; deeper ones in two generations), and the
// tip's rows by nibble path (a row decodes alone, so a node not decoded costs a few hashes,
// not a read; the tip's rows also answer "is this key absent?" without SQLite).
import { assert, fail } from '../../core/errors.js';
import type { StateProof } from '../../core/smt.js';
import { encodeStale, type BlockCommit, type SqliteStore, type TreeRows } from '../../store/sqlite.js';
import { comparePaths, convertRowFormat1, decodeNode, decodeRoot, encodeNode, encodeRoot, hashText, nibbleAt, rootHex, rowChild, type InternalNode, type Ref } from './node.js';
import { proveKey } from './prove.js';
import type { StateTreeReads } from './reads.js';
import { EMPTY_TREE, updateTree, type TreeBatch, type TreeReader, type TreeVersion } from './update.js';

/** Nodes at nibble depth <= this are kept in memory once read (1 + 16 + 256 + 4096 at most). */
const UPPER_DEPTH = 3;
/**
 * Deeper nodes: two generations of up to this many each. When the young one fills it
 * becomes the old one (the previous old one is dropped), and a hit in the old one moves
 * back to the young: the nodes of the last few blocks stay decoded, where emptying one
 * cache at its limit forgot all of them at once (a decode is 15 hashes).
 */
const LOWER_NODES_MAX = 16_384;
/** Twice the upper levels' node count: proofs at older heights cache their upper nodes too. */
const UPPER_NODES_MAX = 2 * (1 + 16 + 256 + 4096);
/**
 * Tip rows kept by nibble path: 262,144 rows (about 100 MiB at most: a row is 40 to 600
 * bytes) cover every node of a tree of about 700,000 keys. When full, only paths already
 * kept are updated.
 */
const TIP_ROWS_MAX = 262_144;
const HEX = '0123456789abcdef';

const cacheKey = (version: number, npath: string) => `${version}/${npath}`;

export class StoredTree implements TreeReader, StateTreeReads {
  private upper = new Map<string, InternalNode>();
  private lower = new Map<string, InternalNode>();
  private lowerOld = new Map<string, InternalNode>();
  /** the newest row at each nibble path (a deleted node's path is dropped at commit) */
  private readonly tipRows = new Map<string, { version: number; row: Uint8Array }>();
  /** the tree's committed tip (undefined: this database has no tree yet) */
  tip: TreeVersion | undefined;
  private oldest = 0;

  /** `lowerNodesMax`: each generation's size for deeper nodes (tests make it small, so that generations turn over). */
  constructor(private readonly store: SqliteStore, readonly keepVersions: number, private readonly lowerNodesMax = LOWER_NODES_MAX) {
    assert(Number.isSafeInteger(keepVersions) && keepVersions >= 0, 'keepVersions is a non-negative integer');
    assert(Number.isSafeInteger(lowerNodesMax) && lowerNodesMax >= 1, 'lowerNodesMax is a positive integer');
    this.reload();
  }

  /** The tip as the database holds it, every cache empty: at open, and after a rolled-back transaction. */
  reload(): void {
    this.upper = new Map();
    this.lower = new Map();
    this.lowerOld = new Map();
    this.tipRows.clear();
    this.tip = undefined;
    this.oldest = 0;
    const range = this.store.treeRange();
    if (range) {
      const root = this.store.treeRoot(range.tip);
      assert(root, 'the newest tree version has a root row');
      this.tip = { version: range.tip, root: decodeRoot(root) };
      this.oldest = range.oldest;
    }
  }

  node(version: number, npath: string): InternalNode {
    const k = cacheKey(version, npath);
    const hit = this.decoded(k, npath);
    if (hit) return hit;
    const node = decodeNode(this.row(version, npath));
    this.remember(k, npath, node);
    return node;
  }

  /** A decoded node from memory, if kept (a deeper node found in the old generation moves to the young one). */
  private decoded(k: string, npath: string): InternalNode | undefined {
    if (npath.length <= UPPER_DEPTH) return this.upper.get(k);
    const young = this.lower.get(k);
    if (young) return young;
    const old = this.lowerOld.get(k);
    if (old) {
      this.lowerOld.delete(k);
      this.remember(k, npath, old);
    }
    return old;
  }

  /** A decoded node from memory, if kept, moving nothing (knownAbsent's reads leave the generations as they are). */
  private peek(k: string, npath: string): InternalNode | undefined {
    return npath.length <= UPPER_DEPTH ? this.upper.get(k) : (this.lower.get(k) ?? this.lowerOld.get(k));
  }

  private forget(k: string, npath: string): void {
    if (npath.length <= UPPER_DEPTH) {
      this.upper.delete(k);
    } else {
      this.lower.delete(k);
      this.lowerOld.delete(k);
    }
  }

  private row(version: number, npath: string): Uint8Array {
    const kept = this.tipRows.get(npath);
    if (kept?.version === version) return kept.row;
    const data = this.store.treeNode(version, npath);
    assert(data, `state tree node (${version}, "${npath}") is missing from the database`);
    this.keepRow(npath, version, data);
    return data;
  }

  private keepRow(npath: string, version: number, row: Uint8Array): void {
    const kept = this.tipRows.get(npath);
    if (kept) {
      // A proof at an older height reads older rows: the newest stays.
      if (kept.version < version) this.tipRows.set(npath, { version, row });
    } else if (this.tipRows.size < TIP_ROWS_MAX) {
      this.tipRows.set(npath, { version, row });
    }
  }

  /**
   * True when the committed tip's tree holds no `key`, decided from rows in memory: the
   * state cache then skips SQLite for a key that does not exist (every new account's keys).
   * False when the key is there, or when finding out would take a read.
   */
  knownAbsent(key: string): boolean {
    if (!this.tip) return false;
    const path = hashText(key);
    let ref: Ref | undefined = this.tip.root;
    let npath = '';
    for (;;) {
      if (!ref) return true;
      if (ref.leaf) return comparePaths(ref.path, path) !== 0;
      const c = nibbleAt(path, npath.length);
      const k = cacheKey(ref.version, npath);
      const decoded = this.peek(k, npath);
      if (decoded) {
        ref = decoded.children[c];
      } else {
        const kept = this.tipRows.get(npath);
        if (kept?.version !== ref.version) return false;
        ref = rowChild(kept.row, c);
      }
      npath += HEX[c];
    }
  }

  private remember(k: string, npath: string, node: InternalNode): void {
    if (npath.length <= UPPER_DEPTH) {
      if (this.upper.size >= UPPER_NODES_MAX) this.upper = new Map();
      this.upper.set(k, node);
      return;
    }
    if (this.lower.size >= this.lowerNodesMax) {
      this.lowerOld = this.lower;
      this.lower = new Map();
    }
    this.lower.set(k, node);
  }

  /** A block's update against the committed tip (benchmarks, tests; the executor does this itself). */
  update(version: number, writes: Iterable<[string, string | null]>): TreeBatch {
    assert(this.tip, 'the tree has a committed version');
    return updateTree(this, this.tip, version, writes);
  }

  /** The rows of a block's batch, for commitBlock (pruning what fell out of the kept window). */
  rows(batch: TreeBatch): TreeRows {
    return treeRows(batch, this.keepVersions);
  }

  /** After the batch's rows committed: its nodes are the hot ones; the replaced upper nodes go. */
  committed(batch: TreeBatch): void {
    for (const s of batch.staleNodes) {
      this.forget(cacheKey(s.version, s.npath), s.npath);
      if (this.tipRows.get(s.npath)?.version === s.version) this.tipRows.delete(s.npath);
    }
    for (const { npath, node } of batch.nodes) {
      this.remember(cacheKey(batch.version, npath), npath, node);
      this.keepRow(npath, batch.version, encodeNode(node));
    }
    this.tip = { version: batch.version, root: batch.root };
    this.oldest = Math.max(this.oldest, batch.version - this.keepVersions);
  }

  // --- StateTreeReads -----------------------------------------------------------------

  rootAt(height: number): string | undefined {
    if (!this.tip || height < this.oldest || height > this.tip.version) return undefined;
    const root = this.store.treeRoot(height);
    return root ? rootHex(decodeRoot(root)) : undefined;
  }

  prove(key: string, height: number): StateProof {
    if (!this.tip || height > this.tip.version) fail('height_unknown', `no committed state tree at height ${height}`, { status: 404 });
    const root = height >= this.oldest ? this.store.treeRoot(height) : undefined;
    if (!root) {
      if (height >= this.firstVersion()) fail('height_pruned', `height ${height} is no longer provable: this node keeps heights ${this.oldest} to ${this.tip.version}`, { status: 410 });
      fail('height_unknown', `the state tree starts at height ${this.firstVersion()}`, { status: 404 });
    }
    return proveKey(this, decodeRoot(root), key, (path, version) => {
      const row = this.store.treeValue(version, asBuffer(path));
      assert(row, `state tree value (${version}, ${asBuffer(path).toString('hex')}) is missing from the database`);
      return row.v;
    });
  }

  provableRange(): { oldest: number; tip: number } {
    if (!this.tip) fail('height_unknown', 'this node has no state tree yet', { status: 404 });
    return { oldest: this.oldest, tip: this.tip.version };
  }

  /** The first height the tree ever had (a chain upgraded from version 1 headers starts later than 0). */
  private firstVersion(): number {
    const v = this.store.getMeta('tree/first');
    return v === undefined ? 0 : Number(v);
  }
}

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** A batch as rows; with `keepVersions`, the rows also prune what fell out of the kept window. */
export function treeRows(batch: TreeBatch, keepVersions?: number): TreeRows {
  const oldest = keepVersions === undefined ? 0 : batch.version - keepVersions;
  return {
    version: batch.version,
    root: encodeRoot(batch.root),
    nodes: batch.nodes.map(({ npath, node }) => [npath, encodeNode(node)]),
    values: batch.values.map((v) => [v.path, v.value, v.key]),
    stale: encodeStale(batch.staleNodes, batch.staleValues),
    ...(oldest > 0 ? { pruneUpTo: oldest } : {}),
  };
}

/**
 * Build the tree of a full state as version `height` (the upgrade of a version-1 data
 * directory; a snapshot). The caller writes the rows in a transaction with
 * `store.writeTree` and records meta `tree/first`.
 */
export function buildTree(entries: Iterable<[key: string, valueText: string]>, height: number): TreeBatch {
  const none: TreeReader = {
    node: () => {
      throw new Error('an empty parent has no nodes');
    },
  };
  return updateTree(none, height === 0 ? EMPTY_TREE : { version: height - 1, root: undefined }, height, entries);
}

/**
 * Build and store the tree of a full state as version `height`, the first the database
 * holds; returns its root. With `block` (a snapshot's block at `height`, whose writes are
 * these entries) the block is stored in the same transaction, and its state rows leave
 * the values to the tree's rows.
 */
export function buildStoredTree(store: SqliteStore, entries: Iterable<[key: string, valueText: string]>, height: number, block?: Omit<BlockCommit, 'tree'>): string {
  const batch = buildTree(entries, height);
  const rows = treeRows(batch);
  store.transaction(() => {
    assert(store.treeRange() === undefined, 'the tree is built once, into a database that has none');
    if (block) {
      assert(block.block.height === height, 'the block is the tree\'s version');
      store.writeBlock({ ...block, tree: rows });
    } else {
      store.writeTree(rows);
    }
    store.setMeta('tree/first', String(height));
  });
  return batch.rootHash;
}

/**
 * Rewrite the rows of a tree stored in row format 1 (before core migration 3) as format 2,
 * once, in one transaction: every kept node row and leaf root gets its leaves' hashes from
 * their value rows. Roots and proofs do not change. Returns the node rows rewritten.
 */
export function convertTreeRows(store: SqliteStore): number {
  if (store.getMeta('tree/rows-format-1') === undefined) return 0;
  const valueHashAt = (version: number, path: Uint8Array): Uint8Array => {
    const row = store.treeValue(version, asBuffer(path));
    assert(row, `state tree value (${version}, ${asBuffer(path).toString('hex')}) is missing from the database`);
    return hashText(row.v);
  };
  let count = 0;
  store.transaction(() => {
    let after = { version: -1, npath: '' };
    for (;;) {
      const page = store.treeNodesAfter(after.version, after.npath, 1000);
      if (page.length === 0) break;
      for (const r of page) store.setTreeNode(r.version, r.npath, convertRowFormat1(r.data, valueHashAt));
      count += page.length;
      after = page[page.length - 1]!;
    }
    for (const r of store.allTreeRoots()) store.setTreeRoot(r.version, convertRowFormat1(r.root, valueHashAt, true));
    store.deleteMeta('tree/rows-format-1');
  });
  return count;
}
