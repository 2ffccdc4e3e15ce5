import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { nobleBls, type BlsScheme } from '../../core/bls.js';
import { errorCode } from '../../core/testing.js';
import { blstBls } from './bls-native.js';
import { buildCertificate, hasQuorum, signersBitmap, signersOf, verifyCertificate, type BlsValidator, type CommitCertificate } from './certificate.js';

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const secretKeys = Array.from({ length: 10 }, (_, i) => blstBls.keygen(new Uint8Array(32).fill(i + 1)));
const set = (powers: number[]): BlsValidator[] => powers.map((power, i) => ({ blsKey: b64u(blstBls.publicKey(secretKeys[i]!)), power }));
const message: Uint8Array = utf8ToBytes('commit: block 5, round 0');
const votesOf = (indices: number[], m: Uint8Array = message) => indices.map((i) => ({ validator: i, signature: blstBls.sign(secretKeys[i]!, m) }));
const check = (scheme: BlsScheme, validators: BlsValidator[], cert: unknown, m: Uint8Array = message) => verifyCertificate(scheme, validators, m, cert);
const codeOf = (r: ReturnType<typeof verifyCertificate>) => (r.ok ? 'ok' : r.code);

test('the bitmap: bit i of the set is bit i % 8 of byte i / 8, LSB first', () => {
  assert.equal(signersBitmap([0], 1), '01');
  assert.equal(signersBitmap([0, 1, 3], 4), '0b');
  assert.equal(signersBitmap([7], 8), '80');
  assert.equal(signersBitmap([0, 1, 2, 3, 4, 5, 8], 9), '3f01');
  assert.equal(signersBitmap([], 10), '0000');
  assert.deepEqual(signersOf('3f01', 9), [0, 1, 2, 3, 4, 5, 8]);
  assert.deepEqual(signersOf('80', 8), [7]);
  assert.equal(errorCode(() => signersBitmap([3, 3], 4)), 'duplicate_signer');
  assert.equal(errorCode(() => signersBitmap([4], 4)), 'unknown_validator');
  assert.equal(errorCode(() => signersBitmap([-1], 4)), 'unknown_validator');
  // A stray bit past the set, a bitmap of the wrong length, not hex.
  assert.equal(errorCode(() => signersOf('10', 4)), 'bad_certificate_signers');
  assert.equal(errorCode(() => signersOf('3f03', 9)), 'bad_certificate_signers');
  assert.equal(errorCode(() => signersOf('0b00', 4)), 'bad_certificate_signers');
  assert.equal(errorCode(() => signersOf('', 4)), 'bad_certificate_signers');
  assert.equal(errorCode(() => signersOf('0B', 4)), 'bad_certificate_signers');
  assert.equal(errorCode(() => signersOf(11, 4)), 'bad_certificate_signers');
});

test('more than two thirds: 3 * signed > 2 * total', () => {
  assert.equal(hasQuorum(3, 4), true);
  assert.equal(hasQuorum(2, 3), false, 'exactly 2/3 is not enough');
  assert.equal(hasQuorum(7, 10), true);
  assert.equal(hasQuorum(6, 9), false);
  assert.equal(hasQuorum(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), true, 'no rounding at the top of the range');
  // 2/3 of MAX_SAFE_INTEGER is 6,004,799,503,160,660.67: the next integer up is enough, that one is not.
  assert.equal(hasQuorum(6_004_799_503_160_660, 9_007_199_254_740_991), false);
  assert.equal(hasQuorum(6_004_799_503_160_661, 9_007_199_254_740_991), true);
});

test('a certificate made with one implementation verifies with both', () => {
  const validators = set([1, 1, 1, 1]);
  for (const maker of [nobleBls, blstBls]) {
    const cert = buildCertificate(maker, validators, votesOf([3, 0, 1]));
    assert.equal(cert.signers, '0b');
    assert.equal(Buffer.from(cert.signature, 'base64url').length, 96);
    for (const checker of [nobleBls, blstBls]) {
      assert.deepEqual(check(checker, validators, cert), { ok: true, signers: [0, 1, 3], signedPower: 3, totalPower: 4 }, `${maker.name} -> ${checker.name}`);
    }
  }
  // Power counts, not heads: one validator alone is enough with 5 of 7, not with 3 of 5.
  const alone = buildCertificate(blstBls, set([5, 1, 1]), votesOf([0]));
  assert.equal(check(blstBls, set([5, 1, 1]), alone).ok, true);
  assert.equal(codeOf(check(blstBls, set([3, 1, 1]), alone)), 'insufficient_power');
});

test('build refuses a duplicate vote, an unknown validator and too little power', () => {
  const validators = set([1, 1, 1, 1]);
  assert.equal(errorCode(() => buildCertificate(blstBls, validators, votesOf([0, 1, 1, 2]))), 'duplicate_signer');
  assert.equal(errorCode(() => buildCertificate(blstBls, validators, votesOf([0, 1, 2]).concat({ validator: 4, signature: new Uint8Array(96) }))), 'unknown_validator');
  assert.equal(errorCode(() => buildCertificate(blstBls, validators, votesOf([0, 1]))), 'insufficient_power');
  assert.equal(errorCode(() => buildCertificate(blstBls, set([2, 1]), votesOf([0]))), 'insufficient_power', 'exactly 2/3');
  assert.equal(errorCode(() => buildCertificate(blstBls, [], [])), 'bad_validators');
});

test('verify refuses hostile certificates with stable codes, in both implementations', () => {
  const validators = set([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  const good = buildCertificate(blstBls, validators, votesOf([0, 1, 2, 3, 4, 5, 6, 9]));
  assert.equal(good.signers, '7f02', 'validators 0-6 and 9');
  const withSigners = (signers: string): CommitCertificate => ({ ...good, signers });
  const aggregateOf = (indices: number[]) => b64u(blstBls.aggregateSignatures(votesOf(indices).map((v) => v.signature)));
  // Below the line with valid signatures: 6 of 10, and exactly 2/3 (6 of 9).
  const nine = set([1, 1, 1, 1, 1, 1, 1, 1, 1]);
  const sixOfTen = { signers: signersBitmap([0, 1, 2, 3, 4, 5], 10), signature: aggregateOf([0, 1, 2, 3, 4, 5]) };
  const sixOfNine = { signers: signersBitmap([0, 1, 2, 3, 4, 5], 9), signature: aggregateOf([0, 1, 2, 3, 4, 5]) };
  const replace = (i: number, v: Partial<BlsValidator>) => validators.map((x, j) => (j === i ? { ...x, ...v } : x));
  const cases: Array<[string, BlsValidator[], unknown, string, Uint8Array?]> = [
    ['valid', validators, good, 'ok'],
    ['another message', validators, good, 'bad_certificate_signature', utf8ToBytes('commit: block 5, round 1')],
    ['a stray bit past the set', validators, withSigners('7f06'), 'bad_certificate_signers'],
    ['bitmap one byte short', validators, withSigners('7f'), 'bad_certificate_signers'],
    ['bitmap one byte long', validators, withSigners('7f0200'), 'bad_certificate_signers'],
    ['uppercase hex', validators, withSigners('7F02'), 'bad_certificate_signers'],
    ['a signer added who did not sign', validators, withSigners('ff02'), 'bad_certificate_signature'],
    ['a signer dropped', validators, withSigners('7f00'), 'bad_certificate_signature'],
    ['one signer swapped for another', validators, withSigners('bf02'), 'bad_certificate_signature'],
    ['6 of 10', validators, sixOfTen, 'insufficient_power'],
    ['exactly 2/3', nine, sixOfNine, 'insufficient_power'],
    ['no signers', validators, withSigners('0000'), 'insufficient_power'],
    ['signature not base64url', validators, { ...good, signature: good.signature.replace(/.$/, '+') }, 'bad_bls_signature'],
    ['signature of 95 bytes', validators, { ...good, signature: b64u(Buffer.from(good.signature, 'base64url').subarray(1)) }, 'bad_bls_signature'],
    ['identity signature', validators, { ...good, signature: b64u(Uint8Array.from([0xc0, ...new Uint8Array(95)])) }, 'bad_bls_signature'],
    ['not an object', validators, '7f02', 'bad_certificate'],
    ['null', validators, null, 'bad_certificate'],
    ['signers a number', validators, { ...good, signers: 0x7f02 }, 'bad_certificate'],
    ['a BLS key twice in the set', replace(9, { blsKey: validators[0]!.blsKey }), good, 'bad_validators'],
    ['a validator with power 0', replace(9, { power: 0 }), good, 'bad_validators'],
    ['a validator with a short key', replace(9, { blsKey: validators[9]!.blsKey.slice(4) }), good, 'bad_validators'],
    ['a signer\'s key off the curve', replace(9, { blsKey: b64u(Uint8Array.from([0x80, ...new Uint8Array(46), 1])) }), good, 'bad_bls_public_key'],
    ['total power past 2^53', replace(9, { power: Number.MAX_SAFE_INTEGER }), good, 'bad_validators'],
  ];
  for (const [what, vs, cert, code, m] of cases) {
    for (const s of [nobleBls, blstBls]) assert.equal(codeOf(check(s, vs, cert, m)), code, `${s.name}: ${what}`);
  }
});
