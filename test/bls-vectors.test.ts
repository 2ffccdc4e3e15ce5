// The README's BLS vectors ("BLS signatures (validators)") are what both implementations
// compute (src/core/bls.ts on noble, src/chain/consensus/bls-native.ts on blst), and they
// check out by the README's text alone: the outside verifier below runs KeyGen with
// node:crypto's HKDF and checks each signature as the pairing equation
// e(pk, H(m)) = e(g1, sig), with the README's tags, on noble's bare curve arithmetic and
// nothing of ours. So the spec can drift from neither.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { nobleBls } from '../src/core/bls.js';
import { blstBls } from '../src/chain/consensus/bls-native.js';
import { verifyCertificate } from '../src/chain/consensus/certificate.js';
import { BLS_BEGIN, BLS_END, buildBlsVectors, type BlsVectors } from './bls-vectors.js';
import { readmeJsonBlock } from './helpers.js';

const readmeVectors = (): BlsVectors => readmeJsonBlock<BlsVectors>(BLS_BEGIN, BLS_END);

test('the README BLS vectors are exactly what noble and blst compute', () => {
  const v = readmeVectors();
  for (const scheme of [nobleBls, blstBls]) {
    assert.deepEqual(v, buildBlsVectors(scheme), `README vectors drifted (${scheme.name}): regenerate with \`node dist/test/bls-vectors.js\` and paste the block`);
    const pk = Buffer.from(v.key.publicKey, 'hex');
    assert.equal(scheme.verify(pk, Buffer.from(v.message), Buffer.from(v.signature, 'hex')), true);
    assert.equal(scheme.popVerify(pk, Buffer.from(v.key.pop, 'hex')), true);
    const c = v.certificate;
    assert.deepEqual(verifyCertificate(scheme, c.validators, Buffer.from(c.message), c.certificate), { ok: true, signers: c.signed, signedPower: 9, totalPower: 11 });
  }
});

// ---------------------------------------------------------------------------------------
// An outside verifier written from the README's "BLS signatures (validators)" section.

const { G1, G2, fields, pairing } = bls12_381;
const unhex = (h: string) => Buffer.from(h, 'hex');

/** KeyGen: HKDF-SHA-256, salt = SHA-256("BLS-SIG-KEYGEN-SALT-"), IKM ‖ 0x00, info 0x0030, 48 bytes mod r. */
function keygen(ikm: Uint8Array): bigint {
  let salt = Buffer.from('BLS-SIG-KEYGEN-SALT-');
  for (;;) {
    salt = crypto.createHash('sha256').update(salt).digest();
    const okm = Buffer.from(crypto.hkdfSync('sha256', Buffer.concat([ikm, Buffer.of(0)]), salt, Buffer.of(0, 48), 48));
    const sk = BigInt('0x' + okm.toString('hex')) % fields.Fr.ORDER;
    if (sk !== 0n) return sk;
  }
}

/** e(pk, H(msg)) = e(g1, sig), H = hash-to-G2 under dst. */
function pairingHolds(pk: InstanceType<typeof G1.Point>, msg: Uint8Array, dst: string, sigHex: string): boolean {
  const sig = G2.Point.fromBytes(unhex(sigHex));
  sig.assertValidity();
  return fields.Fp12.eql(pairing(pk, G2.hashToCurve(msg, { DST: dst })), pairing(G1.Point.BASE, sig));
}

test('the README BLS vectors check out by the README rules alone', () => {
  const v = readmeVectors();
  assert.deepEqual(v.dst, { signature: 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_', pop: 'BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_' });
  const sk = keygen(unhex(v.key.ikm));
  assert.equal(v.key.secretKey, sk.toString(16).padStart(64, '0'));
  const pk = G1.Point.BASE.multiply(sk);
  assert.equal(v.key.publicKey, pk.toHex(true));
  assert.equal(unhex(v.key.publicKey).length, 48);
  assert.equal(unhex(v.signature).length, 96);
  assert.ok(pairingHolds(pk, Buffer.from(v.message, 'utf8'), v.dst.signature, v.signature), 'the signature');
  assert.ok(!pairingHolds(pk, Buffer.from(v.message + '.', 'utf8'), v.dst.signature, v.signature), 'not over another message');
  // The proof of possession signs the 48 bytes of the compressed public key under the PoP tag.
  assert.ok(pairingHolds(pk, unhex(v.key.publicKey), v.dst.pop, v.key.pop), 'the proof of possession');
  assert.ok(!pairingHolds(pk, unhex(v.key.publicKey), v.dst.signature, v.key.pop), 'not under the signing tag');

  // The certificate: validator i's IKM is 32 bytes of value i; bit i of signers (byte
  // floor(i/8), bit i mod 8 from the least significant) says validator i signed.
  const c = v.certificate;
  c.validators.forEach((val, i) => assert.equal(Buffer.from(val.blsKey, 'base64url').toString('hex'), G1.Point.BASE.multiply(keygen(Buffer.alloc(32, i))).toHex(true)));
  const bitmap = unhex(c.certificate.signers);
  assert.equal(bitmap.length, Math.ceil(c.validators.length / 8));
  const signed = c.validators.map((_, i) => i).filter((i) => (bitmap[Math.floor(i / 8)]! >> (i % 8)) & 1);
  assert.deepEqual(signed, c.signed);
  for (let i = c.validators.length; i < bitmap.length * 8; i++) assert.equal((bitmap[Math.floor(i / 8)]! >> (i % 8)) & 1, 0, 'no bit past the set');
  const total = c.validators.reduce((s, x) => s + x.power, 0);
  const power = signed.reduce((s, i) => s + c.validators[i]!.power, 0);
  assert.ok(3 * power > 2 * total, `${power} of ${total} is more than 2/3`);
  const aggregateKey = signed.map((i) => G1.Point.fromBytes(Buffer.from(c.validators[i]!.blsKey, 'base64url'))).reduce((a, b) => a.add(b));
  assert.ok(pairingHolds(aggregateKey, Buffer.from(c.message, 'utf8'), v.dst.signature, Buffer.from(c.certificate.signature, 'base64url').toString('hex')), 'the aggregate');
});
