// Proofs from the stored tree, in the format src/core/smt.ts defines and verifies: walk
// from a version's root along the key's path; inside each 16-ary node, descend its 4
// binary levels, collecting the other half's hash at each, until the range holding the key
// holds at most one key (the terminal: EMPTY, the key's leaf, or another key's leaf).
import { assert } from '../../core/errors.js';
import { hash } from '../../core/hash.js';
import { toHex } from '../../core/encoding.js';
import type { StateProof } from '../../core/smt.js';
import { nibbleAt, rangeHash, type LeafRef, type Ref } from './node.js';
import type { TreeReader } from './update.js';

const HEX = '0123456789abcdef';

/** Where a key's path ends in a tree: the siblings top-down and the terminal leaf, if any. */
export function provePath(reader: TreeReader, root: Ref | undefined, path: string): { siblings: string[]; leaf: LeafRef | undefined } {
  const siblings: string[] = [];
  let ref = root;
  let npath = '';
  for (;;) {
    if (!ref) return { siblings, leaf: undefined };
    if (ref.leaf) return { siblings, leaf: ref };
    const node = reader.node(ref.version, npath);
    const c = nibbleAt(path, npath.length);
    let lo = 0;
    let hi = 16;
    let next: Ref | undefined;
    for (;;) {
      let count = 0;
      let only: Ref | undefined;
      for (let i = lo; i < hi; i++) {
        if (node.children[i]) {
          count++;
          only = node.children[i];
        }
      }
      if (count === 0) return { siblings, leaf: undefined };
      if (count === 1 && only!.leaf) return { siblings, leaf: only };
      if (hi - lo === 1) {
        next = only;
        break;
      }
      const mid = (lo + hi) >> 1;
      if (c < mid) {
        siblings.push(toHex(rangeHash(node.children, mid, hi)));
        hi = mid;
      } else {
        siblings.push(toHex(rangeHash(node.children, lo, mid)));
        lo = mid;
      }
    }
    ref = next;
    npath += HEX[c];
    assert(npath.length <= 64, 'a path has 64 nibbles');
  }
}

/**
 * The proof for `key` under `root`. `valueAt(path, version)` returns the value text a leaf
 * stands for (its value row): a membership proof carries the value as it was at that height.
 */
export function proveKey(reader: TreeReader, root: Ref | undefined, key: string, valueAt: (path: string, version: number) => string): StateProof {
  const path = toHex(hash(key));
  const { siblings, leaf } = provePath(reader, root, path);
  if (leaf && leaf.path === path) {
    const value = valueAt(leaf.path, leaf.version);
    assert(toHex(hash(value)) === toHex(leaf.valueHash), 'a stored value matches its leaf');
    return { key, value, siblings };
  }
  const proof: StateProof = { key, value: null, siblings };
  if (leaf) proof.leaf = { path: leaf.path, valueHash: toHex(leaf.valueHash) };
  return proof;
}
