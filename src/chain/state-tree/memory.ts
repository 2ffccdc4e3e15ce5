// The state tree in memory: replay (`tally chain verify`), the test chain and tests. It
// keeps the versions from `tip - keepVersions` to the tip, deleting what an older version
// alone reached as the tip moves on (keepVersions 0: the tip only, what replay needs).
import { assert, fail } from '../../core/errors.js';
import { toHex } from '../../core/encoding.js';
import type { StateProof } from '../../core/smt.js';
import type { InternalNode, Ref } from './node.js';
import { proveKey } from './prove.js';
import { EMPTY_TREE, updateTree, type TreeBatch, type TreeReader, type TreeVersion } from './update.js';

const key = (version: number, npath: string) => `${version}/${npath}`;

export class MemoryTree implements TreeReader {
  private readonly nodes = new Map<string, InternalNode>();
  private readonly values = new Map<string, string>();
  private readonly roots = new Map<number, Ref | undefined>();
  private readonly stale: Array<{ version: number; nodes: string[]; values: string[] }> = [];
  tip: TreeVersion = EMPTY_TREE;

  /** `values`: keep value rows, for proofs (replay, which proves nothing, skips them) */
  constructor(readonly keepVersions = 0, private readonly keepValues = true) {}

  node(version: number, npath: string): InternalNode {
    const n = this.nodes.get(key(version, npath));
    assert(n, `state tree node (${version}, "${npath}") is missing`);
    return n;
  }

  /** Run the block's update against the tip (does not apply it). */
  update(version: number, writes: Iterable<[string, string | null]>): TreeBatch {
    return updateTree(this, this.tip, version, writes);
  }

  apply(batch: TreeBatch): void {
    for (const { npath, node } of batch.nodes) this.nodes.set(key(batch.version, npath), node);
    if (this.keepValues) for (const v of batch.values) this.values.set(key(batch.version, toHex(v.path)), v.value);
    this.roots.set(batch.version, batch.root);
    this.tip = { version: batch.version, root: batch.root };
    this.stale.push({
      version: batch.version,
      nodes: batch.staleNodes.map((s) => key(s.version, s.npath)),
      values: this.keepValues ? batch.staleValues.map((s) => key(s.version, toHex(s.path))) : [],
    });
    // Rows made stale at version s are reachable only from roots below s.
    while (this.stale.length > 0 && this.stale[0]!.version <= batch.version - this.keepVersions) {
      const s = this.stale.shift()!;
      for (const k of s.nodes) this.nodes.delete(k);
      for (const k of s.values) this.values.delete(k);
    }
    for (const v of this.roots.keys()) if (v < batch.version - this.keepVersions) this.roots.delete(v);
  }

  rootAt(version: number): Ref | undefined | null {
    return this.roots.has(version) ? this.roots.get(version) : null;
  }

  prove(k: string, version: number): StateProof {
    if (!this.roots.has(version)) fail('height_unknown', `no state tree at height ${version}`, { status: 404 });
    assert(this.keepValues, 'a tree that proves keeps its value rows');
    return proveKey(this, this.roots.get(version), k, (path, v) => {
      const text = this.values.get(key(v, toHex(path)));
      assert(text !== undefined, `state tree value (${v}, ${toHex(path)}) is missing`);
      return text;
    });
  }

  /** How many node and value rows it holds (tests: pruning keeps it bounded). */
  get size(): { nodes: number; values: number } {
    return { nodes: this.nodes.size, values: this.values.size };
  }
}
