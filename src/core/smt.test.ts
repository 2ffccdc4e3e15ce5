import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex } from '@noble/hashes/utils.js';
import { SMT_EMPTY_HEX, smtPath, smtProveSorted, smtRootOfSorted, smtSortEntries, smtValueHash, verifyStateProof, type StateProof } from './smt.js';

// A seeded generator, so a failure names the case that made it.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

function tree(map: Map<string, string>) {
  const sorted = smtSortEntries([...map].map(([k, v]) => ({ path: smtPath(k), valueHash: smtValueHash(v) })));
  return { sorted, root: bytesToHex(smtRootOfSorted(sorted)) };
}

const flip = (h: string): string => (h[0] === '0' ? '1' : '0') + h.slice(1);

test('the empty tree has root EMPTY and proves every key absent with no siblings', () => {
  const { sorted, root } = tree(new Map());
  assert.equal(root, SMT_EMPTY_HEX);
  const p = smtProveSorted(sorted, 'ledger/acct/x', null);
  assert.deepEqual(p.siblings, []);
  assert.deepEqual(verifyStateProof(root, p), { ok: true, key: 'ledger/acct/x', value: null });
});

test('random sets: members and absent keys prove; any tampering fails', () => {
  for (let seed = 1; seed <= 30; seed++) {
    const r = rng(seed);
    const map = new Map<string, string>();
    const n = Math.floor(r() * 60);
    for (let i = 0; i < n; i++) map.set(`k/${Math.floor(r() * 1000)}`, JSON.stringify(Math.floor(r() * 100)));
    const { sorted, root } = tree(map);
    for (const [k, v] of map) {
      const p = smtProveSorted(sorted, k, v);
      assert.equal(verifyStateProof(root, p).ok, true, `seed ${seed} member ${k}`);
      assert.equal(verifyStateProof(root, { ...p, value: v + ' ' }).ok, false, 'another value');
      assert.equal(verifyStateProof(root, { ...p, value: null }).ok, false, 'claimed absent');
      if (p.siblings.length > 0) {
        const s = [...p.siblings];
        s[s.length - 1] = flip(s[s.length - 1]!);
        assert.equal(verifyStateProof(root, { ...p, siblings: s }).ok, false, 'a flipped sibling');
        assert.equal(verifyStateProof(root, { ...p, siblings: p.siblings.slice(1) }).ok, false, 'a dropped sibling');
      }
    }
    for (let i = 0; i < 10; i++) {
      const k = `absent/${seed}/${i}`;
      const p = smtProveSorted(sorted, k, null);
      assert.equal(verifyStateProof(root, p).ok, true, `seed ${seed} absent ${k}`);
      const asMember: StateProof = { ...p, value: '1' };
      delete asMember.leaf;
      assert.equal(verifyStateProof(root, asMember).ok, false, 'an absent key claimed present');
      if (p.leaf) assert.equal(verifyStateProof(root, { ...p, leaf: { ...p.leaf, valueHash: flip(p.leaf.valueHash) } }).ok, false, 'a changed neighbour');
    }
  }
});

test('depth stays near log2(n) (compaction)', () => {
  const map = new Map<string, string>();
  for (let i = 0; i < 4096; i++) map.set(`k/${i}`, '1');
  const { sorted } = tree(map);
  let total = 0;
  for (let i = 0; i < 64; i++) total += smtProveSorted(sorted, `k/${i}`, '1').siblings.length;
  const mean = total / 64;
  assert.ok(mean > 10 && mean < 16, `mean depth ${mean} for 4096 keys`);
});

test('malformed proofs are refused with a reason, never thrown', () => {
  const root = SMT_EMPTY_HEX;
  for (const p of [null, {}, { key: 1, value: null, siblings: [] }, { key: 'a', value: null, siblings: ['zz'] }, { key: 'a', value: 3, siblings: [] }]) {
    const r = verifyStateProof(root, p as unknown as StateProof);
    assert.equal(r.ok, false);
  }
  assert.equal(verifyStateProof('XYZ', { key: 'a', value: null, siblings: [] }).ok, false);
});
