import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blake3 } from '@noble/hashes/blake3.js';
import { EMPTY_ROOT, leafHash, levelHash, merkleLevels, merkleProof, merkleRoot, proofFromLevels, rootFromProof, rootOfLevels, type MerkleProof } from './merkle.js';

// Independent reference built directly on @noble/hashes, not on ./hash.js.
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const H = (...parts: Uint8Array[]): Uint8Array => blake3(Buffer.concat(parts));
const refLeaf = (leaf: Uint8Array): Uint8Array => H(Uint8Array.of(0), leaf);
const refNode = (l: Uint8Array, r: Uint8Array): Uint8Array => H(Uint8Array.of(1), l, r);

function leaves(n: number, tag = 'tx'): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`${tag}-${i}`)));
}

/** A proof "verifies" when it yields the expected root without throwing. */
function verifies(leaf: Uint8Array, proof: MerkleProof, root: string): boolean {
  try {
    return rootFromProof(leaf, proof) === root;
  } catch {
    return false;
  }
}

function flipHex(h: string, nibble = 0): string {
  const c = (parseInt(h[nibble]!, 16) ^ 1).toString(16);
  return h.slice(0, nibble) + c + h.slice(nibble + 1);
}

test('EMPTY_ROOT is BLAKE3 of nothing and the root of no leaves', () => {
  assert.equal(EMPTY_ROOT, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
  assert.equal(merkleRoot([]), EMPTY_ROOT);
});

test('leafHash is H(0x00 || leaf)', () => {
  for (const leaf of [new Uint8Array(0), Uint8Array.of(1), Buffer.from('hello'), new Uint8Array(2000).fill(7)]) {
    assert.equal(hex(leafHash(leaf)), hex(refLeaf(leaf)));
    assert.equal(leafHash(leaf).length, 32);
  }
  // Domain separation: a leaf hash is not a plain hash of the leaf.
  assert.notEqual(hex(leafHash(Buffer.from('x'))), hex(blake3(Buffer.from('x'))));
});

test('root of one leaf is that leaf hash', () => {
  const [a] = leaves(1);
  assert.equal(merkleRoot([a!]), hex(a!));
  const proof = merkleProof([a!], 0);
  assert.deepEqual(proof, { index: 0, count: 1, siblings: [] });
  assert.equal(rootFromProof(a!, proof), hex(a!));
});

test('two leaves: H(0x01 || a || b)', () => {
  const [a, b] = leaves(2) as [Uint8Array, Uint8Array];
  assert.equal(merkleRoot([a, b]), hex(refNode(a, b)));
  assert.notEqual(merkleRoot([b, a]), merkleRoot([a, b]));
});

test('odd promotion: root of [a,b,c] = H(0x01 || H(0x01||a||b) || c)', () => {
  const [a, b, c] = leaves(3) as [Uint8Array, Uint8Array, Uint8Array];
  const expected = hex(H(Uint8Array.of(1), H(Uint8Array.of(1), a, b), c));
  assert.equal(merkleRoot([a, b, c]), expected);
  assert.deepEqual(merkleProof([a, b, c], 2).siblings, [hex(refNode(a, b))]);
});

test('[a,b,c] and [a,b,c,c] have different roots (no duplication of the odd node)', () => {
  const [a, b, c] = leaves(3) as [Uint8Array, Uint8Array, Uint8Array];
  assert.notEqual(merkleRoot([a, b, c]), merkleRoot([a, b, c, c]));
  assert.equal(merkleRoot([a, b, c, c]), hex(refNode(refNode(a, b), refNode(c, c))));
  // Same for a wider tree: [1..5] vs [1..5, 5] vs [1..6 with 5,6 duplicated]
  const l = leaves(5);
  const roots = new Set([merkleRoot(l), merkleRoot([...l, l[4]!]), merkleRoot([...l, l[4]!, l[4]!, l[4]!])]);
  assert.equal(roots.size, 3);
});

test('merkleRoot matches an independent reference for sizes 1..40', () => {
  const refRoot = (level: Uint8Array[]): string => {
    while (level.length > 1) {
      const next: Uint8Array[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? refNode(level[i]!, level[i + 1]!) : level[i]!);
      level = next;
    }
    return hex(level[0]!);
  };
  for (let n = 1; n <= 40; n++) {
    const l = Array.from({ length: n }, (_, i) => refLeaf(Buffer.from(`leaf ${i}`)));
    assert.equal(merkleRoot(l), refRoot(l), `size ${n}`);
  }
  // A hand-built five-leaf tree: ((ab)(cd))e
  const [a, b, c, d, e] = leaves(5) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  assert.equal(merkleRoot([a, b, c, d, e]), hex(refNode(refNode(refNode(a, b), refNode(c, d)), e)));
});

test('proofs verify for every index of sizes 1..33', () => {
  for (let n = 1; n <= 33; n++) {
    const l = leaves(n);
    const root = merkleRoot(l);
    for (let i = 0; i < n; i++) {
      const proof = merkleProof(l, i);
      assert.equal(proof.index, i);
      assert.equal(proof.count, n);
      assert.ok(proof.siblings.length <= Math.ceil(Math.log2(n)), `size ${n} index ${i} has too many siblings`);
      for (const s of proof.siblings) assert.match(s, /^[0-9a-f]{64}$/);
      assert.equal(rootFromProof(l[i]!, proof), root, `size ${n} index ${i}`);
      // Proofs are plain JSON and survive a round trip.
      const copy = JSON.parse(JSON.stringify(proof)) as MerkleProof;
      assert.equal(rootFromProof(l[i]!, copy), root);
    }
  }
});

test('a proof with a changed sibling fails', () => {
  for (let n = 2; n <= 33; n++) {
    const l = leaves(n);
    const root = merkleRoot(l);
    for (let i = 0; i < n; i++) {
      const proof = merkleProof(l, i);
      for (let s = 0; s < proof.siblings.length; s++) {
        for (const nibble of [0, 63]) {
          const siblings = [...proof.siblings];
          siblings[s] = flipHex(siblings[s]!, nibble);
          assert.equal(verifies(l[i]!, { ...proof, siblings }, root), false, `size ${n} index ${i} sibling ${s}`);
        }
      }
      // Swapping two siblings also fails.
      if (proof.siblings.length >= 2 && proof.siblings[0] !== proof.siblings[1]) {
        const siblings = [proof.siblings[1]!, proof.siblings[0]!, ...proof.siblings.slice(2)];
        assert.equal(verifies(l[i]!, { ...proof, siblings }, root), false);
      }
    }
  }
});

test('a proof with a wrong index fails (including out of range)', () => {
  for (let n = 1; n <= 33; n++) {
    const l = leaves(n);
    const root = merkleRoot(l);
    for (let i = 0; i < n; i++) {
      const proof = merkleProof(l, i);
      for (let j = -1; j <= n; j++) {
        if (j === i) continue;
        assert.equal(verifies(l[i]!, { ...proof, index: j }, root), false, `size ${n} index ${i} claimed as ${j}`);
      }
      for (const j of [0.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1, Infinity]) {
        assert.equal(verifies(l[i]!, { ...proof, index: j }, root), false);
      }
    }
  }
  assert.throws(() => rootFromProof(leaves(1)[0]!, { index: 1, count: 1, siblings: [] }), /out of range/);
  assert.throws(() => rootFromProof(leaves(1)[0]!, { index: -1, count: 1, siblings: [] }), /out of range/);
});

test('a proof with an extra or missing sibling fails', () => {
  const filler = hex(refLeaf(Buffer.from('filler')));
  for (let n = 1; n <= 33; n++) {
    const l = leaves(n);
    const root = merkleRoot(l);
    for (let i = 0; i < n; i++) {
      const proof = merkleProof(l, i);
      assert.equal(verifies(l[i]!, { ...proof, siblings: [...proof.siblings, filler] }, root), false);
      assert.equal(verifies(l[i]!, { ...proof, siblings: [filler, ...proof.siblings] }, root), false);
      if (proof.siblings.length > 0) {
        assert.equal(verifies(l[i]!, { ...proof, siblings: proof.siblings.slice(1) }, root), false);
        assert.equal(verifies(l[i]!, { ...proof, siblings: proof.siblings.slice(0, -1) }, root), false);
      }
    }
  }
  const [a] = leaves(1);
  assert.throws(() => rootFromProof(a!, { index: 0, count: 1, siblings: [filler] }), /unused siblings/);
});

test('a proof for one leaf does not verify another leaf', () => {
  const l = leaves(9);
  const root = merkleRoot(l);
  for (let i = 0; i < l.length; i++) {
    const proof = merkleProof(l, i);
    for (let j = 0; j < l.length; j++) if (j !== i) assert.equal(verifies(l[j]!, proof, root), false);
    assert.equal(verifies(leafHash(Buffer.from('not in the tree')), proof, root), false);
  }
});

test('malformed sibling hex is refused with bad_encoding', () => {
  const l = leaves(4);
  const proof = merkleProof(l, 1);
  const bad = [proof.siblings[0]!.toUpperCase(), proof.siblings[0]!.slice(2), proof.siblings[0]! + '00', 'zz'.repeat(32)];
  for (const s of bad) {
    assert.throws(
      () => rootFromProof(l[1]!, { ...proof, siblings: [s, ...proof.siblings.slice(1)] }),
      (e: unknown) => (e as { code?: string }).code === 'bad_encoding',
    );
  }
});

test('proofFromLevels gives exactly merkleProof, and rootOfLevels merkleRoot, for sizes 1..70, 127..129, 1000 and 4000', () => {
  const sizes = [...Array.from({ length: 70 }, (_, i) => i + 1), 127, 128, 129, 1000, 4000];
  for (const n of sizes) {
    const l = leaves(n, `s${n}`);
    const levels = merkleLevels(l);
    assert.equal(levels.length, Math.ceil(Math.log2(n)) + 1, `size ${n}: every level down to the root`);
    assert.equal(rootOfLevels(levels), merkleRoot(l), `size ${n}`);
    assert.equal(levels[0]!.length, 32 * n);
    assert.equal(hex(levelHash(levels[0]!, n - 1)), hex(l[n - 1]!), 'the first level is the leaves, packed');
    // Every index of the small trees; a spread of indexes (ends, odd ones) of the big ones.
    const indexes = n <= 129 ? Array.from({ length: n }, (_, i) => i) : [0, 1, 2, n >> 1, (n >> 1) + 1, n - 2, n - 1, 777 % n];
    for (const i of indexes) assert.deepEqual(proofFromLevels(levels, i), merkleProof(l, i), `size ${n} index ${i}`);
  }
});

test('merkleLevels of no leaves is empty; proofFromLevels refuses an index out of range', () => {
  assert.deepEqual(merkleLevels([]), []);
  assert.equal(rootOfLevels([]), EMPTY_ROOT);
  const levels = merkleLevels(leaves(5));
  for (const i of [-1, 5, 0.5, Number.NaN]) assert.throws(() => proofFromLevels(levels, i), RangeError);
  assert.throws(() => proofFromLevels([], 0), RangeError);
});
