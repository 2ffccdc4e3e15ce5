// blst (the node's) against noble (the browser's and the spec's text): the same keys, the
// same bytes for every signature (BLS signing is deterministic), each accepting what the
// other makes, and the same refusal with the same code for every hostile input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { blsKeygen, nobleBls, type BlsScheme } from '../../core/bls.js';
import { errorCode } from '../../core/testing.js';
import { blstBls } from './bls-native.js';

const SCHEMES: Array<[BlsScheme, BlsScheme]> = [[nobleBls, blstBls], [blstBls, nobleBls]];
const hex = (b: Uint8Array) => bytesToHex(b);
const ikmOf = (i: number) => crypto.createHash('sha256').update(`bls-native.test ${i}`).digest();

// ethereum/bls12-381-tests sign/, and EIP-2333's first master key (KeyGen of its seed).
const ETH_SK = '263dbd792f5b1be47ed85f8938c0f29586af0d3ac7b977f21c278fe1462040e3';
const ETH_PK = 'a491d1b0ecd9bb917989f0e74f0dea0422eac4a873e5e2644f368dffb9a6e20fd6e10c1b77654d067c0618f6e5a7f79a';
const ETH_SIG = 'b6ed936746e01f8ecf281f020953fbf1f01debd5657c4a383940b020b26507f6076334f91e2366c96e9ab279fb5158090352ea1c5b0c9274504f4f0e7053af24802e51e4568d164fe986834f41e55c8e850ce1f98458c0cfc9ab380b55285a55';
const EIP2333_SEED = '3141592653589793238462643383279502884197169399375105820974944592';
const EIP2333_SK = 29757020647961307431480504535336562678282505419141012933316116377660817309383n;

test('blst loads and reproduces the published vectors', () => {
  assert.equal(blstBls.name, 'blst');
  assert.equal(hex(blstBls.publicKey(hexToBytes(ETH_SK))), ETH_PK);
  assert.equal(hex(blstBls.sign(hexToBytes(ETH_SK), new Uint8Array(32))), ETH_SIG);
  assert.equal(blstBls.verify(hexToBytes(ETH_PK), new Uint8Array(32), hexToBytes(ETH_SIG)), true);
  assert.equal(hex(blstBls.keygen(hexToBytes(EIP2333_SEED))), EIP2333_SK.toString(16).padStart(64, '0'));
});

test('same keys, same signatures, same aggregates from blst and noble', () => {
  for (let i = 0; i < 8; i++) {
    const ikm = ikmOf(i);
    const longIkm = Buffer.concat([ikm, ikmOf(i + 100)]); // KeyGen takes any length from 32 bytes
    assert.equal(hex(blstBls.keygen(longIkm)), hex(blsKeygen(longIkm)));
    const sk = blstBls.keygen(ikm);
    assert.equal(hex(sk), hex(nobleBls.keygen(ikm)));
    assert.equal(hex(blstBls.publicKey(sk)), hex(nobleBls.publicKey(sk)));
    const m = utf8ToBytes(`vote ${i}`);
    assert.equal(hex(blstBls.sign(sk, m)), hex(nobleBls.sign(sk, m)));
    assert.equal(hex(blstBls.popProve(sk)), hex(nobleBls.popProve(sk)));
  }
  const sks = [0, 1, 2, 3, 4].map((i) => blstBls.keygen(ikmOf(i)));
  const pks = sks.map((sk) => blstBls.publicKey(sk));
  const m = utf8ToBytes('block 12');
  const sigs = sks.map((sk) => blstBls.sign(sk, m));
  assert.equal(hex(blstBls.aggregateSignatures(sigs)), hex(nobleBls.aggregateSignatures(sigs)));
  assert.equal(hex(blstBls.aggregatePublicKeys(pks)), hex(nobleBls.aggregatePublicKeys(pks)));
});

test('each accepts what the other signs, aggregates and proves; both refuse the same forgeries', () => {
  const sks = [0, 1, 2, 3].map((i) => nobleBls.keygen(ikmOf(i)));
  const pks = sks.map((sk) => nobleBls.publicKey(sk));
  const m = utf8ToBytes('block 13, round 2');
  const other = utf8ToBytes('block 13, round 3');
  for (const [maker, checker] of SCHEMES) {
    const sigs = sks.map((sk) => maker.sign(sk, m));
    const agg = maker.aggregateSignatures(sigs);
    const what = `${maker.name} -> ${checker.name}`;
    assert.equal(checker.verify(pks[0]!, m, sigs[0]!), true, what);
    assert.equal(checker.verify(pks[0]!, other, sigs[0]!), false, `${what}: another message`);
    assert.equal(checker.verify(pks[1]!, m, sigs[0]!), false, `${what}: another key`);
    assert.equal(checker.fastAggregateVerify(pks, m, agg), true, what);
    assert.equal(checker.verify(maker.aggregatePublicKeys(pks), m, agg), true, what);
    assert.equal(checker.fastAggregateVerify(pks, other, agg), false, `${what}: aggregate, another message`);
    assert.equal(checker.fastAggregateVerify(pks.slice(1), m, agg), false, `${what}: a key left out`);
    assert.equal(checker.fastAggregateVerify(pks, m, maker.aggregateSignatures(sigs.slice(1))), false, `${what}: a signature left out`);
    assert.equal(checker.popVerify(pks[2]!, maker.popProve(sks[2]!)), true, what);
    assert.equal(checker.popVerify(pks[2]!, maker.popProve(sks[3]!)), false, `${what}: another key's proof`);
    assert.equal(checker.popVerify(pks[2]!, maker.sign(sks[2]!, pks[2]!)), false, `${what}: a signature over the key is no proof`);
  }
});

test('a proof of possession under a _NUL_ tag is refused by both', () => {
  const L = bls12_381.longSignatures;
  const sk = nobleBls.keygen(ikmOf(40));
  const pk = nobleBls.publicKey(sk);
  for (const dst of ['BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_', 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_', undefined]) {
    const proof = L.Signature.toBytes(L.sign(L.hash(pk, dst), sk));
    for (const s of [nobleBls, blstBls]) assert.equal(s.popVerify(pk, proof), false, `${s.name}, ${dst ?? 'noble default'}`);
  }
});

/** A compressed G2 point on the curve but outside the prime-order subgroup (small x, c1 = 0). */
function g2OutsideSubgroup(): Uint8Array {
  for (let x = 1; x < 100; x++) {
    const bytes = new Uint8Array(96);
    bytes[0] = 0x80;
    bytes[95] = x;
    try {
      bls12_381.longSignatures.Signature.fromBytes(bytes);
    } catch (err) {
      if (/subgroup/.test((err as Error).message)) return bytes;
    }
  }
  throw new Error('no small x found');
}

test('hostile input: both refuse it with the same code', () => {
  const sk = nobleBls.keygen(ikmOf(50));
  const pk = nobleBls.publicKey(sk);
  const m = utf8ToBytes('m');
  const sig = nobleBls.sign(sk, m);
  const flip = (b: Uint8Array, at: number, mask: number) => {
    const c = Uint8Array.from(b);
    c[at]! ^= mask;
    return c;
  };
  const id48 = flip(new Uint8Array(48), 0, 0xc0);
  const id96 = flip(new Uint8Array(96), 0, 0xc0);
  const r = bls12_381.fields.Fr.ORDER;
  const cases: Array<[string, (s: BlsScheme) => unknown, string]> = [
    ['short key', (s) => s.checkPublicKey(pk.subarray(0, 47)), 'bad_bls_public_key'],
    ['uncompressed-length key', (s) => s.checkPublicKey(new Uint8Array(96)), 'bad_bls_public_key'],
    ['identity key', (s) => s.checkPublicKey(id48), 'bad_bls_public_key'],
    ['identity key, verify', (s) => s.verify(id48, m, sig), 'bad_bls_public_key'],
    ['identity key, fast-aggregate-verify', (s) => s.fastAggregateVerify([pk, id48], m, sig), 'bad_bls_public_key'],
    ['identity key, proof of possession', (s) => s.popVerify(id48, id96), 'bad_bls_public_key'],
    ['identity with stray bits', (s) => s.checkPublicKey(flip(id48, 47, 1)), 'bad_bls_public_key'],
    ['key without the compression flag', (s) => s.checkPublicKey(flip(pk, 0, 0x80)), 'bad_bls_public_key'],
    ['key with x = p', (s) => s.checkPublicKey(hexToBytes('9a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab')), 'bad_bls_public_key'],
    ['key off the curve', (s) => s.checkPublicKey(hexToBytes('80' + '00'.repeat(46) + '01')), 'bad_bls_public_key'],
    ['key outside the subgroup', (s) => s.checkPublicKey(hexToBytes('80' + '00'.repeat(47))), 'bad_bls_public_key'],
    ['short signature', (s) => s.verify(pk, m, sig.subarray(0, 95)), 'bad_bls_signature'],
    ['long signature', (s) => s.verify(pk, m, new Uint8Array(97)), 'bad_bls_signature'],
    ['identity signature', (s) => s.verify(pk, m, id96), 'bad_bls_signature'],
    ['signature without the compression flag', (s) => s.verify(pk, m, flip(sig, 0, 0x80)), 'bad_bls_signature'],
    ['signature off the curve', (s) => s.verify(pk, m, hexToBytes('80' + '00'.repeat(95))), 'bad_bls_signature'],
    ['signature outside the subgroup', (s) => s.verify(pk, m, g2OutsideSubgroup()), 'bad_bls_signature'],
    ['signature outside the subgroup, aggregated', (s) => s.aggregateSignatures([sig, g2OutsideSubgroup()]), 'bad_bls_signature'],
    ['proof outside the subgroup', (s) => s.popVerify(pk, g2OutsideSubgroup()), 'bad_bls_signature'],
    ['zero secret key', (s) => s.sign(new Uint8Array(32), m), 'bad_bls_secret_key'],
    ['secret key = r', (s) => s.publicKey(hexToBytes(r.toString(16).padStart(64, '0'))), 'bad_bls_secret_key'],
    ['short secret key', (s) => s.popProve(sk.subarray(1)), 'bad_bls_secret_key'],
    ['short seed', (s) => s.keygen(new Uint8Array(31)), 'bad_bls_seed'],
    ['no signatures', (s) => s.aggregateSignatures([]), 'bad_bls_aggregate'],
    ['no keys', (s) => s.aggregatePublicKeys([]), 'bad_bls_aggregate'],
    ['no keys, fast-aggregate-verify', (s) => s.fastAggregateVerify([], m, sig), 'bad_bls_aggregate'],
    ['too many keys', (s) => s.fastAggregateVerify(new Array<Uint8Array>(10_001).fill(pk), m, sig), 'bad_bls_aggregate'],
    ['keys that cancel out', (s) => s.aggregatePublicKeys([pk, flip(pk, 0, 0x20)]), 'bad_bls_aggregate'],
    ['signatures that cancel out', (s) => s.aggregateSignatures([sig, flip(sig, 0, 0x20)]), 'bad_bls_aggregate'],
  ];
  for (const [what, call, code] of cases) {
    for (const s of [nobleBls, blstBls]) assert.equal(errorCode(() => call(s)), code, `${s.name}: ${what}`);
  }
});

test('a flipped bit anywhere in a signature never verifies, in either', () => {
  const sk = nobleBls.keygen(ikmOf(60));
  const pk = nobleBls.publicKey(sk);
  const m = utf8ToBytes('m');
  const sig = nobleBls.sign(sk, m);
  for (let bit = 3; bit < 768; bit += 53) {
    const bad = Uint8Array.from(sig);
    bad[bit >> 3]! ^= 1 << (bit & 7);
    const outcomes = [nobleBls, blstBls].map((s) => {
      try {
        return String(s.verify(pk, m, bad));
      } catch (err) {
        return (err as { code: string }).code;
      }
    });
    assert.notEqual(outcomes[0], 'true', `bit ${bit}`);
    assert.equal(outcomes[0], outcomes[1], `bit ${bit}: noble and blst disagree`);
  }
});
