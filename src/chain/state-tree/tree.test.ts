// The incremental tree against the definition: random inserts, updates and deletes over
// many blocks, checked after every block against a naive Map and smt.ts's reference root
// (noble's BLAKE3, not hash-wasm); every proof verifies with verifyStateProof, tampered
// ones fail, absent keys prove non-membership, old versions prove their own values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex } from '@noble/hashes/utils.js';
import { SMT_EMPTY_HEX, smtPath, smtRootOfSorted, smtSortEntries, smtValueHash, verifyStateProof, type StateProof } from '../../core/smt.js';
import { MemoryTree } from './memory.js';
import { decodeNode, decodeRoot, encodeNode, encodeRoot, freshRow } from './node.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

function referenceRoot(map: Map<string, string>): string {
  const sorted = smtSortEntries([...map].map(([k, v]) => ({ path: smtPath(k), valueHash: smtValueHash(v) })));
  return bytesToHex(smtRootOfSorted(sorted));
}

const flip = (h: string): string => (h[0] === '0' ? '1' : '0') + h.slice(1);

function tamperings(p: StateProof): StateProof[] {
  const out: StateProof[] = [];
  if (p.value !== null) out.push({ ...p, value: p.value + ' ' }, { ...p, value: null });
  else out.push({ ...p, value: '"x"' });
  if (p.siblings.length > 0) {
    out.push({ ...p, siblings: p.siblings.slice(1) });
    out.push({ ...p, siblings: [flip(p.siblings[0]!), ...p.siblings.slice(1)] });
    const i = p.siblings.length - 1;
    out.push({ ...p, siblings: [...p.siblings.slice(0, i), flip(p.siblings[i]!)] });
  }
  out.push({ ...p, siblings: [...p.siblings, SMT_EMPTY_HEX] });
  if (p.leaf) out.push({ ...p, leaf: { ...p.leaf, valueHash: flip(p.leaf.valueHash) } });
  // (another key on a non-membership proof may be absent under the same prefix too: a true statement)
  if (p.value !== null) out.push({ ...p, key: p.key + 'x' });
  return out;
}

for (const seed of [1, 2, 3]) {
  test(`random blocks (seed ${seed}): root = reference, proofs verify, tampering fails`, () => {
    const r = rng(seed);
    const tree = new MemoryTree(4);
    const map = new Map<string, string>();
    const history: Array<{ version: number; root: string; map: Map<string, string> }> = [];
    const keySpace = 300;
    for (let version = 0; version < 60; version++) {
      const writes = new Map<string, string | null>();
      const n = 1 + Math.floor(r() * (version % 10 === 9 ? 200 : 25));
      for (let i = 0; i < n; i++) {
        const k = `k/${Math.floor(r() * keySpace)}`;
        const op = r();
        if (op < 0.25) writes.set(k, null);
        else if (op < 0.35 && map.has(k)) writes.set(k, map.get(k)!); // a rewrite of the same value
        else writes.set(k, JSON.stringify({ v: Math.floor(r() * 1000) }));
      }
      if (version === 30) for (const k of map.keys()) writes.set(k, null); // everything deleted at once
      const batch = tree.update(version, writes);
      tree.apply(batch);
      for (const [k, v] of writes) {
        if (v === null) map.delete(k);
        else map.set(k, v);
      }
      const root = referenceRoot(map);
      assert.equal(batch.rootHash, root, `version ${version}: root`);
      if (map.size === 0) assert.equal(root, SMT_EMPTY_HEX);
      history.push({ version, root, map: new Map(map) });

      // Proofs at this version and the kept older ones, for members and absent keys.
      for (const h of history.slice(-5)) {
        for (let j = 0; j < 8; j++) {
          const k = `k/${Math.floor(r() * keySpace * 1.2)}`;
          const p = tree.prove(k, h.version);
          assert.equal(p.value, h.map.get(k) ?? null, `version ${h.version} key ${k}: value at that height`);
          assert.deepEqual(verifyStateProof(h.root, p), { ok: true, key: k, value: p.value });
          for (const t of tamperings(p)) assert.equal(verifyStateProof(h.root, t).ok, false, `tampered proof of ${k} must fail: ${JSON.stringify(t)}`);
        }
      }
    }
    // Pruning: versions older than tip - 4 are gone, and the rows held stay bounded.
    assert.throws(() => tree.prove('k/1', 50), /no state tree at height 50/);
    assert.ok(tree.size.values <= map.size * 6, `value rows ${tree.size.values} for ${map.size} keys`);
  });
}

test('node and root rows round-trip', () => {
  const tree = new MemoryTree();
  const writes = new Map<string, string | null>();
  for (let i = 0; i < 50; i++) writes.set(`a/${i}`, String(i));
  const batch = tree.update(0, writes);
  assert.ok(batch.nodes.length > 1);
  for (const { node } of batch.nodes) {
    const back = decodeNode(encodeNode(node));
    assert.equal(bytesToHex(back.hash), bytesToHex(node.hash));
    assert.deepEqual(back.children.map((c) => c && [c.leaf, bytesToHex(c.hash), c.version]), node.children.map((c) => c && [c.leaf, bytesToHex(c.hash), c.version]));
  }
  assert.equal(bytesToHex(decodeRoot(encodeRoot(batch.root))!.hash), batch.rootHash);
  assert.equal(decodeRoot(encodeRoot(undefined)), undefined);
  const one = new MemoryTree().update(0, new Map([['x', '1']]));
  assert.equal(bytesToHex(decodeRoot(encodeRoot(one.root))!.hash), one.rootHash);
});

test('a new version\'s row, patched from the row it replaces, is the row encoded afresh', () => {
  const tree = new MemoryTree();
  const next = rng(11);
  const live = new Set<number>();
  let patched = 0;
  for (let h = 0; h < 30; h++) {
    const writes = new Map<string, string | null>();
    for (let i = 0; i < 300; i++) {
      const k = Math.floor(next() * 2000);
      // inserts, updates and deletes: slots appear, change and empty out
      writes.set(`k/${k}`, live.has(k) && next() < 0.3 ? null : `v${h}.${i}`);
    }
    for (const [k, v] of writes) {
      if (v === null) live.delete(Number(k.slice(2)));
      else live.add(Number(k.slice(2)));
    }
    const batch = tree.update(h, writes);
    for (const { node } of batch.nodes) {
      if (node.base) patched++;
      assert.equal(bytesToHex(encodeNode(node)), bytesToHex(freshRow(node)));
    }
    tree.apply(batch);
  }
  assert.ok(patched > 1000, `patched ${patched} rows`);
});
