// Proofs from the stored tree, in the format src/core/smt.ts defines and verifies: walk
// from a version's root along the key's path; inside each 16-ary node, descend its 4
// binary levels, collecting the other half's hash at each, until the range holding the key
// holds at most one key (the terminal: EMPTY, the key's leaf, or another key's leaf).
import { assert } from '../../core/errors.js';
import { toHex } from '../../core/encoding.js';
import type { StateProof } from '../../core/smt.js';
import { comparePaths, hashText, heapHash, heapKind, leafHashOf, nibbleAt, NIBBLES, type LeafRef, type Ref } from './node.js';
import type { TreeReader } from './update.js';

const HEX = '0123456789abcdef';

/** Where a key's path ends in a tree: the siblings top-down and the terminal leaf, if any. */
export function provePath(reader: TreeReader, root: Ref | undefined, path: Uint8Array): { siblings: string[]; leaf: LeafRef | undefined } {
  const siblings: string[] = [];
  let ref = root;
  let npath = '';
  for (;;) {
    if (!ref) return { siblings, leaf: undefined };
    if (ref.leaf) return { siblings, leaf: ref };
    const node = reader.node(ref.version, npath);
    const c = nibbleAt(path, npath.length);
    // Down the node's 4 binary levels (heap positions 1, 2-3, 4-7, 8-15, then slot 16 + c).
    let i = 1;
    for (let level = 0; ; level++) {
      const kind = heapKind(node, i);
      if (kind === 'empty') return { siblings, leaf: undefined };
      if (kind === 'lone') return { siblings, leaf: loneLeaf(node, level, c) };
      if (i >= 16) break;
      const bit = (c >> (3 - level)) & 1;
      siblings.push(toHex(heapHash(node, 2 * i + (1 - bit))));
      i = 2 * i + bit;
    }
    ref = node.children[c];
    npath += HEX[c];
    assert(npath.length <= NIBBLES, 'a path has 64 nibbles');
  }
}

/** The one leaf under the range of slots that `c` shares its first `level` bits with. */
function loneLeaf(node: { children: Array<Ref | undefined> }, level: number, c: number): LeafRef {
  const width = 16 >> level;
  const lo = c & ~(width - 1);
  for (let s = lo; s < lo + width; s++) {
    const child = node.children[s];
    if (child) {
      assert(child.leaf, 'a lone position holds a leaf');
      return child;
    }
  }
  throw new Error('invariant violated: a lone position has a leaf below it');
}

/**
 * The proof for `key` under `root`. `valueAt(path, version)` returns the value text a leaf
 * stands for (its value row): a membership proof carries the value as it was at that height.
 */
export function proveKey(reader: TreeReader, root: Ref | undefined, key: string, valueAt: (path: Uint8Array, version: number) => string): StateProof {
  const path = hashText(key);
  const { siblings, leaf } = provePath(reader, root, path);
  if (leaf && comparePaths(leaf.path, path) === 0) {
    const value = valueAt(leaf.path, leaf.version);
    assert(comparePaths(leafHashOf(path, hashText(value)), leaf.hash) === 0, 'a stored value matches its leaf');
    return { key, value, siblings };
  }
  const proof: StateProof = { key, value: null, siblings };
  if (leaf) {
    // The other key's value hash: from its value row (tree rows keep only the leaf hash).
    const valueHash = hashText(valueAt(leaf.path, leaf.version));
    assert(comparePaths(leafHashOf(leaf.path, valueHash), leaf.hash) === 0, 'a stored value matches its leaf');
    proof.leaf = { path: toHex(leaf.path), valueHash: toHex(valueHash) };
  }
  return proof;
}
