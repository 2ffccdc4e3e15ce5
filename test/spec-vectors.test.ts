// The README's test vectors ("Verifying Tally yourself") are what the code computes, and
// they check out by the README's rules alone: a small outside verifier below recomputes
// every hash, root, signature and proof with its own BLAKE3 (@noble/hashes, not the
// node's hash-wasm) and its own Merkle fold. So the spec can drift from neither.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import canonicalizeImpl from 'canonicalize';
import { blake3 } from '@noble/hashes/blake3.js';
import { verifyChain, type ChainSource } from '../src/chain/replay.js';
import { VerifierPool } from '../src/chain/verifier.js';
import { chainModules } from '../src/modules/index.js';
import { BEGIN, buildSpecVectors, END, type SpecVectors } from './spec-chain.js';
import { readmeJsonBlock } from './helpers.js';

const readmeVectors = (): SpecVectors => readmeJsonBlock<SpecVectors>(BEGIN, END);

test('the README vectors are exactly what the code computes', () => {
  const built = JSON.parse(JSON.stringify(buildSpecVectors())) as SpecVectors;
  assert.deepEqual(readmeVectors(), built, 'README vectors drifted: regenerate with `node dist/test/spec-chain.js` and paste the block');
});

test('the vector chain passes `tally chain verify` (replay through the executor)', async () => {
  const v = buildSpecVectors();
  const source: ChainSource = {
    genesis: async () => v.genesis,
    tipHeight: async () => v.blocks.length - 1,
    block: async (h) => ({ hash: v.blocks[h]!.hash, header: v.blocks[h]!.header, sig: v.blocks[h]!.sig }),
    blockTxs: async (h) => v.blocks[h]!.txs,
  };
  const pool = new VerifierPool(1);
  try {
    const report = await verifyChain(source, chainModules, pool, () => {}, { genesis: v.genesis, nodeKey: v.keys.node.pub });
    assert.deepEqual(report.issues, []);
    assert.equal(report.txs, 6);
  } finally {
    await pool.close();
  }
});

// ---------------------------------------------------------------------------------------
// An outside verifier written from the README: JCS, BLAKE3, Ed25519 and nothing of ours.

const jcs = canonicalizeImpl as unknown as (v: unknown) => string;
const enc = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const b3 = (...parts: Uint8Array[]) => blake3(Buffer.concat(parts));
const tagged = (tag: string, value: unknown) => enc(`tally/${tag}/v1\n${jcs(value)}`);
const ed25519Verify = (pub: string, msg: Uint8Array, sig: string) =>
  crypto.verify(null, msg, crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pub }, format: 'jwk' }), Buffer.from(sig, 'base64url'));

const leafOf = (receipt: unknown) => b3(Uint8Array.of(0), tagged('receipt', receipt));
const nodeOf = (l: Uint8Array, r: Uint8Array) => b3(Uint8Array.of(1), l, r);

function merkleRoot(leaves: Uint8Array[]): string {
  if (leaves.length === 0) return hex(b3());
  let level = leaves;
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? nodeOf(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return hex(level[0]!);
}

/**
 * The state tree's root by the README's definition, straight from the set: paths are
 * BLAKE3(key), EMPTY / leaf / node are domain-tagged, a lone key sits as high as it can.
 */
function smtRoot(state: Map<string, string>): string {
  const entries = [...state].map(([k, v]) => ({ path: b3(enc(k)), valueHash: b3(enc(v)) }));
  const bit = (p: Uint8Array, i: number) => (p[i >> 3]! >> (7 - (i & 7))) & 1;
  const root = (set: typeof entries, depth: number): Uint8Array => {
    if (set.length === 0) return b3(enc('tally/smt/empty/v1\n'));
    if (set.length === 1) return b3(enc('tally/smt/leaf/v1\n'), set[0]!.path, set[0]!.valueHash);
    return b3(enc('tally/smt/node/v1\n'), root(set.filter((e) => bit(e.path, depth) === 0), depth + 1), root(set.filter((e) => bit(e.path, depth) === 1), depth + 1));
  };
  return hex(root(entries, 0));
}

/** The README's fold, step by step. */
function fold(leaf: Uint8Array, index: number, count: number, siblings: string[]): string {
  let h = leaf;
  let s = 0;
  for (let i = index, n = count; n > 1; i >>= 1, n = (n + 1) >> 1) {
    if ((i ^ 1) >= n) continue; // the last node of an odd level is promoted: no sibling
    const sib = Buffer.from(siblings[s++]!, 'hex');
    h = i % 2 === 0 ? nodeOf(h, sib) : nodeOf(sib, h);
  }
  assert.equal(s, siblings.length, 'every sibling is used');
  return hex(h);
}

test('the README vectors check out by the README rules alone', () => {
  const v = readmeVectors();
  assert.equal(v.emptyRoot, hex(b3()));
  for (const k of Object.values(v.keys)) {
    assert.equal(k.id, hex(b3(enc('tally/account/v1\n'), Buffer.from(k.pub, 'base64url')).subarray(0, 20)));
  }
  assert.equal(v.statement.digest, `blake3:${hex(b3(enc(v.statement.text)))}`);
  assert.equal(v.genesisHash, hex(b3(tagged('genesis', v.genesis))));

  // Each account's key: genesis accounts' and openers' own, then what auth.rotate moves it to.
  const keyOf = new Map<string, string>((v.genesis.modules.ledger as { accounts: Array<{ pub: string }> }).accounts.map((a) => [hex(b3(enc('tally/account/v1\n'), Buffer.from(a.pub, 'base64url')).subarray(0, 20)), a.pub]));
  const state = new Map<string, string>();
  v.blocks.forEach((b, h) => {
    const head = b.header;
    assert.equal(b.hash, hex(b3(tagged('block', head))), `block ${h} hash`);
    assert.ok(ed25519Verify(v.keys.node.pub, tagged('block', head), b.sig), `block ${h} signature`);
    assert.equal(head.proposer, v.keys.node.pub);
    assert.equal(head.height, h);
    assert.equal(head.prevHash, h === 0 ? v.genesisHash : v.blocks[h - 1]!.hash, `block ${h} link`);
    if (h === 0) assert.equal(head.time, v.genesis.time);
    else assert.ok(head.time >= v.blocks[h - 1]!.header.time);

    const keys = b.writes.map(([k]) => k);
    assert.deepEqual(keys, [...keys].sort(), 'writes are sorted by key');
    for (const [, value] of b.writes) if (value !== null) assert.equal(value, jcs(JSON.parse(value)), 'state values are canonical JSON');
    for (const [k, value] of b.writes) {
      if (value === null) state.delete(k);
      else state.set(k, value);
    }
    assert.equal(head.version, 3, `block ${h} is a version 3 block`);
    // "Block headers": the node key alone as the validator set; the previous block's commit.
    assert.equal(head.validatorsHash, hex(b3(enc('tally/validators/v1\n' + jcs({ validators: [{ key: v.keys.node.pub, power: 1 }] })))));
    const prev = v.blocks[h - 1];
    const commit = prev && { height: h - 1, blockHash: prev.hash, signatures: [{ validator: prev.header.proposer, sig: prev.sig }] };
    assert.equal(head.lastCommitHash, commit ? hex(b3(enc('tally/commit/v1\n' + jcs(commit)))) : '0'.repeat(64), `block ${h} lastCommitHash`);
    assert.equal(head.stateRoot, smtRoot(state), `block ${h} stateRoot`);

    assert.equal(head.txCount, b.txs.length);
    b.txs.forEach((t, i) => {
      assert.equal(t.id, hex(b3(tagged('tx', t.envelope.tx))));
      assert.ok(ed25519Verify(t.envelope.pub, tagged('tx', t.envelope.tx), t.envelope.sig), `tx ${t.id} signature`);
      assert.deepEqual([t.receipt.id, t.receipt.height, t.receipt.index], [t.id, h, i]);
      const { tx, pub } = t.envelope;
      if (!keyOf.has(tx.from)) keyOf.set(tx.from, pub); // an opening transaction: from is pub's account id (checked above for the keys)
      assert.equal(pub, keyOf.get(tx.from), `tx ${t.id} is signed by the account's current key`);
      if (tx.type === 'auth.rotate' && t.receipt.status === 'ok') {
        const body = tx.body as { pub: string; proof: string };
        const proofText = enc('tally/rotate/v1\n' + jcs({ account: tx.from, chain: tx.chain, nonce: tx.nonce, pub: body.pub }));
        assert.ok(ed25519Verify(body.pub, proofText, body.proof), 'the new key\'s proof of possession');
        keyOf.set(tx.from, body.pub);
      }
    });
    assert.equal(head.txRoot, merkleRoot(b.txs.map((t) => leafOf(t.receipt))), `block ${h} txRoot`);
  });

  const last = v.blocks[2]!; // the README's proofs are of block 2
  for (const p of v.proofs) {
    const t = last.txs.find((x) => x.id === p.tx)!;
    assert.equal(p.leaf, hex(leafOf(t.receipt)));
    assert.equal(p.proof.index, t.receipt.index);
    assert.equal(p.proof.count, last.header.txCount);
    assert.equal(fold(Buffer.from(p.leaf, 'hex'), p.proof.index, p.proof.count, p.proof.siblings), last.header.txRoot);
  }
});
