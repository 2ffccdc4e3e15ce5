// The README's header vectors ("Block headers") are what src/core/header.ts computes, and
// they check out by the README's text alone: the outside verifier below hashes with its
// own BLAKE3 (@noble/hashes), JCS (canonicalize) and Ed25519 (node:crypto), and nothing
// of ours. So the spec can drift from neither.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import canonicalizeImpl from 'canonicalize';
import { blake3 } from '@noble/hashes/blake3.js';
import { checkHeaderLink, checkSignedHeader } from '../src/core/header.js';
import { ed25519VerifyPure } from '../src/core/state-bundle.js';
import { buildHeaderVectors, HEADER_BEGIN, HEADER_END, type HeaderVectors } from './header-vectors.js';
import { readmeJsonBlock } from './helpers.js';

const readmeVectors = (): HeaderVectors => readmeJsonBlock<HeaderVectors>(HEADER_BEGIN, HEADER_END);

test('the README header vectors are exactly what src/core/header.ts computes', () => {
  assert.deepEqual(readmeVectors(), buildHeaderVectors(), 'README vectors drifted: regenerate with `node dist/test/header-vectors.js` and paste the block');
  const v = readmeVectors();
  assert.deepEqual(checkSignedHeader(v.block0, v.nodeKey.pub, ed25519VerifyPure), { ok: true });
  assert.deepEqual(checkSignedHeader(v.block1, v.nodeKey.pub, ed25519VerifyPure), { ok: true });
  const { jcs: _, ...block1 } = v.block1;
  assert.deepEqual(checkHeaderLink(v.block0, block1), { ok: true });
});

// ---------------------------------------------------------------------------------------
// An outside verifier written from the README's "Block headers" section.

const jcs = canonicalizeImpl as unknown as (v: unknown) => string;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const b3text = (text: string) => hex(blake3(new TextEncoder().encode(text)));
const ed25519Verify = (pub: string, msg: string, sig: string) =>
  crypto.verify(null, Buffer.from(msg), crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pub }, format: 'jwk' }), Buffer.from(sig, 'base64url'));

test('the README header vectors check out by the README rules alone', () => {
  const v = readmeVectors();
  assert.deepEqual(v.tags, { block: 'tally/block/v1\n', validators: 'tally/validators/v1\n', commit: 'tally/commit/v1\n' });
  assert.equal(v.noCommitHash, '0'.repeat(64));
  // The validator set: {validators: [{key, power}]} sorted by key, JCS, tagged, BLAKE3.
  assert.deepEqual(v.validators.set, { validators: [{ key: v.nodeKey.pub, power: 1 }] });
  assert.equal(v.validators.jcs, jcs(v.validators.set));
  assert.equal(v.validators.hash, b3text('tally/validators/v1\n' + jcs(v.validators.set)));
  const keys = v.twoValidators.set.validators.map((x) => x.key);
  assert.deepEqual(keys, [...keys].sort(), 'sorted by key');
  assert.equal(v.twoValidators.hash, b3text('tally/validators/v1\n' + jcs(v.twoValidators.set)));
  // Block 0: no previous commit.
  for (const [b, h] of [[v.block0, 0], [v.block1, 1]] as const) {
    const header = b.header;
    assert.equal(header.version, 3);
    assert.equal(header.height, h);
    assert.equal(header.validatorsHash, v.validators.hash);
    assert.equal(b.hash, b3text('tally/block/v1\n' + jcs(header)), `block ${h} hash`);
    assert.ok(ed25519Verify(v.nodeKey.pub, 'tally/block/v1\n' + jcs(header), b.sig), `block ${h} signature`);
  }
  assert.equal(v.block0.header.lastCommitHash, '0'.repeat(64));
  // Block 0's commit: its one signature, by its proposer; block 1 names its hash.
  assert.deepEqual(v.commit0.commit, { height: 0, blockHash: v.block0.hash, signatures: [{ validator: v.nodeKey.pub, sig: v.block0.sig }] });
  assert.equal(v.commit0.jcs, jcs(v.commit0.commit));
  assert.equal(v.commit0.hash, b3text('tally/commit/v1\n' + jcs(v.commit0.commit)));
  assert.equal(v.block1.header.lastCommitHash, v.commit0.hash);
  assert.equal(v.block1.header.prevHash, v.block0.hash);
  assert.equal(v.block1.jcs, jcs(v.block1.header));
});
