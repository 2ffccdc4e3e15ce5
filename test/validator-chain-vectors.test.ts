// The README's validator-chain vectors are what the code computes, and they check out by
// the README's text alone: the outside verifier below uses its own BLAKE3 (@noble/hashes),
// JCS (canonicalize) and BLS (@noble/curves' bls12-381 with the _POP_ tag), nothing of ours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import canonicalizeImpl from 'canonicalize';
import { blake3 } from '@noble/hashes/blake3.js';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { buildValidatorChainVectors, VALIDATOR_CHAIN_BEGIN, VALIDATOR_CHAIN_END, type ValidatorChainVectors } from './validator-chain-vectors.js';
import { readmeJsonBlock } from './helpers.js';

const jcs = canonicalizeImpl as unknown as (v: unknown) => string;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const utf8 = (s: string) => new TextEncoder().encode(s);
const b64u = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));
const readme = (): ValidatorChainVectors => readmeJsonBlock<ValidatorChainVectors>(VALIDATOR_CHAIN_BEGIN, VALIDATOR_CHAIN_END);

test('the README validator-chain vectors are exactly what the code computes', () => {
  assert.deepEqual(readme(), buildValidatorChainVectors(), 'README vectors drifted: regenerate with `node dist/test/validator-chain-vectors.js` and paste the block');
});

test('an outside verifier reproduces validatorsHash, the precommit bytes, the certificate and its hash', () => {
  const v = readme();
  const keys = v.set.validators.map((x) => x.key);
  assert.deepEqual(keys, [...keys].sort(), 'the set is sorted by key');
  assert.equal(jcs({ validators: v.set.validators }), v.set.jcs);
  assert.equal(hex(blake3(utf8(v.tags.validators + v.set.jcs))), v.set.hash);
  const m = v.precommit.message;
  assert.equal(v.precommit.signBytes, v.tags.consensus + jcs({ chainId: v.chain, type: m.type, height: m.height, round: m.round, value: m.value }));
  const c = v.commit.commit;
  assert.equal(hex(blake3(utf8(v.tags.commit + jcs(c)))), v.commit.hash);
  // signers: LSB-first bitmap; both signed, so 0b11
  assert.equal(c.signers, '03');
  const dst = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';
  const sigs = bls12_381.longSignatures;
  const msg = sigs.hash(utf8(v.precommit.signBytes), dst);
  const agg = sigs.aggregatePublicKeys(v.set.validators.map((x) => b64u(x.blsKey)));
  assert.equal(sigs.verify(b64u(c.signature), msg, agg), true, 'the aggregate verifies under the signers\' summed keys');
  const wrong = sigs.hash(utf8(v.precommit.signBytes.replace('"round":0', '"round":1')), dst);
  assert.equal(sigs.verify(b64u(c.signature), wrong, agg), false);
});
