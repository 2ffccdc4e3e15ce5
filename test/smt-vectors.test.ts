// The README's state tree vectors ("State tree") are what src/core/smt.ts computes, and
// they check out by the README's text alone: the small outside verifier below builds the
// root from the recursive definition (sets split by bit, no sorting, no code of ours) and
// folds each proof with the checks the README lists. So the spec can drift from neither.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blake3 } from '@noble/hashes/blake3.js';
import { verifyStateProof, type StateProof } from '../src/core/smt.js';
import { buildSmtVectors, SMT_BEGIN, SMT_END, type SmtVectors } from './smt-vectors.js';
import { readmeJsonBlock } from './helpers.js';

const readmeVectors = (): SmtVectors => readmeJsonBlock<SmtVectors>(SMT_BEGIN, SMT_END);

test('the README state tree vectors are exactly what src/core/smt.ts computes', () => {
  assert.deepEqual(readmeVectors(), buildSmtVectors(), 'README vectors drifted: regenerate with `node dist/test/smt-vectors.js` and paste the block');
  const v = readmeVectors();
  for (const { proof } of v.proofs) assert.deepEqual(verifyStateProof(v.root, proof), { ok: true, key: proof.key, value: proof.value });
});

// ---------------------------------------------------------------------------------------
// An outside verifier written from the README's "State tree" section.

const enc = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const b3 = (...parts: Uint8Array[]) => blake3(Buffer.concat(parts));
const leafHash = (p: Uint8Array, vh: Uint8Array) => b3(enc('tally/smt/leaf/v1\n'), p, vh);
const nodeHash = (l: Uint8Array, r: Uint8Array) => b3(enc('tally/smt/node/v1\n'), l, r);
const EMPTY = b3(enc('tally/smt/empty/v1\n'));
/** "bit 0 is the most significant bit of byte 0" */
const bit = (p: Uint8Array, i: number) => (p[Math.floor(i / 8)]! >> (7 - (i % 8))) & 1;

type Entry = { path: Uint8Array; valueHash: Uint8Array };
function root(set: Entry[], depth: number): Uint8Array {
  if (set.length === 0) return EMPTY;
  if (set.length === 1) return leafHash(set[0]!.path, set[0]!.valueHash);
  return nodeHash(root(set.filter((e) => bit(e.path, depth) === 0), depth + 1), root(set.filter((e) => bit(e.path, depth) === 1), depth + 1));
}

/** The fold and the checks, as the README lists them; answers the root the proof leads to, or why it is refused. */
function outsideFold(proof: StateProof): { root: string } | { refused: string } {
  const HEX = /^[0-9a-f]{64}$/;
  if (!Array.isArray(proof.siblings) || proof.siblings.length > 256 || !proof.siblings.every((s) => HEX.test(s))) return { refused: 'siblings' };
  if (proof.value !== null && typeof proof.value !== 'string') return { refused: 'value' };
  const p = b3(enc(proof.key));
  const k = proof.siblings.length;
  let h: Uint8Array;
  if (proof.value !== null) {
    if (proof.leaf) return { refused: 'a present key with a leaf' };
    h = leafHash(p, b3(enc(proof.value)));
  } else if (!proof.leaf) {
    h = EMPTY;
  } else {
    if (!HEX.test(proof.leaf.path) || !HEX.test(proof.leaf.valueHash)) return { refused: 'leaf fields' };
    const other = unhex(proof.leaf.path);
    if (proof.leaf.path === hex(p)) return { refused: 'the leaf is the key' };
    for (let i = 0; i < k; i++) if (bit(other, i) !== bit(p, i)) return { refused: 'the leaf does not share the prefix' };
    h = leafHash(other, unhex(proof.leaf.valueHash));
  }
  for (let i = k - 1; i >= 0; i--) h = bit(p, i) === 0 ? nodeHash(h, unhex(proof.siblings[i]!)) : nodeHash(unhex(proof.siblings[i]!), h);
  return { root: hex(h) };
}

test('the README state tree vectors check out by the README text alone', () => {
  const v = readmeVectors();
  assert.equal(v.empty, hex(EMPTY));
  assert.deepEqual(v.tags, { leaf: 'tally/smt/leaf/v1\n', node: 'tally/smt/node/v1\n', empty: 'tally/smt/empty/v1\n' });
  const entries: Entry[] = [];
  for (const e of v.entries) {
    assert.equal(e.path, hex(b3(enc(e.key))), `${e.key}: path`);
    assert.equal(e.valueHash, hex(b3(enc(e.value))), `${e.key}: valueHash`);
    assert.equal(e.leaf, hex(leafHash(unhex(e.path), unhex(e.valueHash))), `${e.key}: leaf`);
    assert.equal(e.value, JSON.stringify(JSON.parse(e.value)), `${e.key}: the value is its canonical text`);
    entries.push({ path: unhex(e.path), valueHash: unhex(e.valueHash) });
  }
  assert.equal(v.root, hex(root(entries, 0)), 'root');

  const [member, atEmpty, atLeaf] = v.proofs.map((x) => x.proof);
  const byKey = new Map(v.entries.map((e) => [e.key, e.value]));
  assert.equal(member!.value, byKey.get(member!.key), 'the membership proof is of a present key');
  assert.ok(atEmpty!.value === null && !atEmpty!.leaf && !byKey.has(atEmpty!.key), 'one proof ends at EMPTY');
  assert.ok(atLeaf!.value === null && atLeaf!.leaf && !byKey.has(atLeaf!.key), 'one proof ends at another leaf');
  assert.ok(v.entries.some((e) => e.path === atLeaf!.leaf!.path && e.valueHash === atLeaf!.leaf!.valueHash), 'the other leaf is an entry\'s');
  for (const proof of [member!, atEmpty!, atLeaf!]) assert.deepEqual(outsideFold(proof), { root: v.root }, proof.key);

  // What the checks are for: each forgery folds elsewhere or is refused, by both verifiers.
  const flip = (h: string) => (h[0] === '0' ? '1' : '0') + h.slice(1);
  const forged: StateProof[] = [
    { ...member!, value: member!.value!.replace('3', '4') },
    { ...member!, value: null },
    { ...atEmpty!, siblings: [atEmpty!.siblings[0]!, flip(atEmpty!.siblings[1]!)] },
    { ...atLeaf!, leaf: { ...atLeaf!.leaf!, valueHash: flip(atLeaf!.leaf!.valueHash) } },
    { ...atLeaf!, siblings: atLeaf!.siblings.slice(0, 3) },
    // alice's account record claimed absent with its own leaf: the key-differs check.
    { key: 'ledger/acct/373565bc9a059a2f03f58d907cfa199703e6205f', value: null, siblings: atLeaf!.siblings, leaf: atLeaf!.leaf! },
  ];
  for (const f of forged) {
    const r = outsideFold(f);
    assert.ok('refused' in r || r.root !== v.root, `outside verifier accepts a forgery of ${f.key}`);
    assert.equal(verifyStateProof(v.root, f).ok, false, `smt.ts accepts a forgery of ${f.key}`);
  }
});
