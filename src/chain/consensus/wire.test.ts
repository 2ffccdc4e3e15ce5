import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nobleBls } from '../../core/bls.js';
import { toB64u } from '../../core/encoding.js';
import { blstBls } from './bls-native.js';
import { verifyCertificate, type BlsValidator } from './certificate.js';
import { certificateMessage, certificateOf, checkEvidence, checkSigned, signBytes, signMessage, type Signed } from './wire.js';
import type { Proposal, Vote } from './types.js';

const CHAIN = 'tally-test';
const BLOCK = 'ab'.repeat(32);
const OTHER = 'cd'.repeat(32);
const secrets = [1, 2, 3, 4].map((i) => blstBls.keygen(new Uint8Array(32).fill(i)));
const validators: BlsValidator[] = secrets.map((sk) => ({ blsKey: toB64u(blstBls.publicKey(sk)), power: 1 }));
const precommit = (validator: number, value: string | null = BLOCK, round = 2): Vote => ({ type: 'precommit', height: 7, round, value, validator });
const signed = <M extends Proposal | Vote>(m: M): Signed<M> => signMessage(blstBls, secrets[m.validator]!, CHAIN, m);

test('sign bytes: the domain tag and the canonical JSON of the body, with no validator index', () => {
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(text(signBytes(CHAIN, precommit(3))), `tally/consensus/v1\n{"chainId":"tally-test","height":7,"round":2,"type":"precommit","value":"${BLOCK}"}`);
  assert.equal(text(signBytes(CHAIN, precommit(3, null))), 'tally/consensus/v1\n{"chainId":"tally-test","height":7,"round":2,"type":"precommit","value":null}');
  const proposal: Proposal = { type: 'proposal', height: 7, round: 2, value: BLOCK, validRound: -1, validator: 1 };
  assert.equal(text(signBytes(CHAIN, proposal)), `tally/consensus/v1\n{"chainId":"tally-test","height":7,"round":2,"type":"proposal","validRound":-1,"value":"${BLOCK}"}`);
  assert.deepEqual(signBytes(CHAIN, precommit(0)), signBytes(CHAIN, precommit(3)), 'every precommit for a block signs the same bytes');
});

test('a signed message checks out under blst and noble, and nothing else does', () => {
  const s = signed(precommit(2));
  for (const scheme of [blstBls, nobleBls]) assert.deepEqual(checkSigned(scheme, validators, CHAIN, s), { ok: true, value: s });
  const refused = (input: unknown) => { const c = checkSigned(blstBls, validators, CHAIN, input); return c.ok ? 'ok' : c.code; };
  assert.equal(refused({ ...s, message: { ...s.message, round: 3 } }), 'bad_consensus_signature');
  assert.equal(refused({ ...s, message: { ...s.message, validator: 1 } }), 'bad_consensus_signature', 'another validator\'s key');
  assert.equal(refused(signMessage(blstBls, secrets[2]!, 'other-chain', precommit(2))), 'bad_consensus_signature', 'another chain');
  assert.equal(refused({ ...s, message: { ...s.message, validator: 4 } }), 'bad_consensus_message');
  assert.equal(refused({ ...s, message: { ...s.message, value: 'AB'.repeat(32) } }), 'bad_consensus_message');
  assert.equal(refused({ ...s, message: { ...s.message, extra: 1 } }), 'bad_consensus_message');
  assert.equal(refused({ ...s, message: { ...s.message, type: 'vote' } }), 'bad_consensus_message');
  assert.equal(refused({ ...s, message: { ...s.message, height: -1 } }), 'bad_consensus_message');
  assert.equal(refused({ message: { type: 'proposal', height: 7, round: 2, value: BLOCK, validRound: 2, validator: 1 }, signature: s.signature }), 'bad_consensus_message');
  assert.equal(refused({ ...s, signature: s.signature.slice(2) }), 'bad_bls_signature');
  assert.equal(refused(null), 'bad_consensus_message');
});

test('evidence: two signed votes of one validator in one slot for different values', () => {
  const ok = checkEvidence(blstBls, validators, CHAIN, { first: signed(precommit(1)), second: signed(precommit(1, null)) });
  assert.deepEqual(ok, { ok: true, value: { validator: 1, height: 7, round: 2 } });
  const code = (first: unknown, second: unknown) => { const c = checkEvidence(blstBls, validators, CHAIN, { first, second }); return c.ok ? 'ok' : c.code; };
  assert.equal(code(signed(precommit(1)), signed(precommit(1))), 'bad_evidence', 'the same vote twice');
  assert.equal(code(signed(precommit(1)), signed(precommit(1, OTHER, 3))), 'bad_evidence', 'different rounds');
  assert.equal(code(signed(precommit(1)), signed(precommit(2, OTHER))), 'bad_evidence', 'different validators');
  assert.equal(code(signed(precommit(1)), { ...signed(precommit(1, OTHER)), signature: signed(precommit(1, null)).signature }), 'bad_consensus_signature', 'a forged second vote');
  const proposal: Proposal = { type: 'proposal', height: 7, round: 2, value: BLOCK, validRound: -1, validator: (7 + 2) % 4 };
  assert.equal(code(signed(proposal), signed({ ...proposal, value: OTHER })), 'bad_evidence', 'proposals are not vote evidence');
});

test('a decision\'s precommits make a commit certificate any node can check', () => {
  const votes = [0, 2, 3].map((v) => signed(precommit(v)));
  const certificate = certificateOf(blstBls, validators, votes);
  assert.equal(certificate.signers, '0d');
  const message = certificateMessage(CHAIN, 7, 2, BLOCK);
  for (const scheme of [blstBls, nobleBls]) assert.equal(verifyCertificate(scheme, validators, message, certificate).ok, true);
  assert.equal(verifyCertificate(blstBls, validators, certificateMessage(CHAIN, 7, 3, BLOCK), certificate).ok, false, 'another round');
  assert.throws(() => certificateOf(blstBls, validators, votes.slice(0, 2)), { code: 'insufficient_power' });
  assert.throws(() => certificateOf(blstBls, validators, [...votes.slice(0, 2), signed(precommit(3, BLOCK, 1))]), { code: 'bad_certificate' });
  assert.throws(() => certificateOf(blstBls, validators, [signed(precommit(0, null))]), { code: 'insufficient_power' });
});
