import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { BLS_POP_DST, blsKeygen, isBlsIdentity, nobleBls } from './bls.js';
import { errorCode } from './testing.js';

// Ethereum's consensus test vectors (ethereum/bls12-381-tests, sign/ and sk_to_pk; the
// same `_POP_` ciphersuite): secret key, message, signature, and the keys' public keys.
const ETH_VECTORS = [
  {
    sk: '263dbd792f5b1be47ed85f8938c0f29586af0d3ac7b977f21c278fe1462040e3',
    pk: 'a491d1b0ecd9bb917989f0e74f0dea0422eac4a873e5e2644f368dffb9a6e20fd6e10c1b77654d067c0618f6e5a7f79a',
    msg: '00'.repeat(32),
    sig: 'b6ed936746e01f8ecf281f020953fbf1f01debd5657c4a383940b020b26507f6076334f91e2366c96e9ab279fb5158090352ea1c5b0c9274504f4f0e7053af24802e51e4568d164fe986834f41e55c8e850ce1f98458c0cfc9ab380b55285a55',
  },
  {
    sk: '47b8192d77bf871b62e87859d653922725724a5c031afeabc60bcef5ff665138',
    pk: 'b301803f8b5ac4a1133581fc676dfedc60d891dd5fa99028805e5ea5b08d3491af75d0707adab3b70c6a6a580217bf81',
    msg: '56'.repeat(32),
    sig: 'af1390c3c47acdb37131a51216da683c509fce0e954328a59f93aebda7e4ff974ba208d9a4a2a2389f892a9d418d618418dd7f7a6bc7aa0da999a9d3a5b815bc085e14fd001f6a1948768a3f4afefc8b8240dda329f984cb345c6363272ba4fe',
  },
  {
    sk: '328388aff0d4a5b7dc9205abd374e7e98f3cd9f3418edb4eafda5fb16473d216',
    pk: 'b53d21a4cfd562c469cc81514d4ce5a6b577d8403d32a394dc265dd190b47fa9f829fdd7963afdf972e5e77854051f6f',
    msg: '56'.repeat(32),
    sig: 'a4efa926610b8bd1c8330c918b7a5e9bf374e53435ef8b7ec186abf62e1b1f65aeaaeb365677ac1d1172a1f5b44b4e6d022c252c58486c0a759fbdc7de15a756acc4d343064035667a594b4c2a6f0b0b421975977f297dba63ee2f63ffe47bb6',
  },
];

// EIP-2333's master keys: derive_master_SK(seed) is KeyGen(seed) of the BLS draft.
const EIP2333_VECTORS = [
  ['c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04', 6083874454709270928345386274498605044986640685124978867557563392430687146096n],
  ['3141592653589793238462643383279502884197169399375105820974944592', 29757020647961307431480504535336562678282505419141012933316116377660817309383n],
  ['0099ff991111002299dd7744ee3355bbdd8844115566cc55663355668888cc00', 27580842291869792442942448775674722299803720648445448686099262467207037398656n],
] as const;

const msg = (s: string) => utf8ToBytes(s);

test('Ethereum consensus vectors: public keys and signatures', () => {
  for (const v of ETH_VECTORS) {
    const sk = hexToBytes(v.sk);
    assert.equal(bytesToHex(nobleBls.publicKey(sk)), v.pk);
    assert.equal(bytesToHex(nobleBls.sign(sk, hexToBytes(v.msg))), v.sig);
    assert.equal(nobleBls.verify(hexToBytes(v.pk), hexToBytes(v.msg), hexToBytes(v.sig)), true);
    assert.equal(nobleBls.verify(hexToBytes(v.pk), hexToBytes('ab'.repeat(32)), hexToBytes(v.sig)), false);
  }
});

test('KeyGen gives EIP-2333\'s master keys', () => {
  for (const [seed, sk] of EIP2333_VECTORS) assert.equal(bytesToHex(blsKeygen(hexToBytes(seed))), sk.toString(16).padStart(64, '0'));
  assert.equal(errorCode(() => blsKeygen(new Uint8Array(31))), 'bad_bls_seed');
  assert.equal(bytesToHex(nobleBls.keygen(hexToBytes(EIP2333_VECTORS[0][0]))), EIP2333_VECTORS[0][1].toString(16).padStart(64, '0'));
});

test('sign, verify, aggregate and fast-aggregate-verify', () => {
  const sks = [1, 2, 3].map((i) => nobleBls.keygen(new Uint8Array(32).fill(i)));
  const pks = sks.map((sk) => nobleBls.publicKey(sk));
  const m = msg('block 7, round 0');
  const sigs = sks.map((sk) => nobleBls.sign(sk, m));
  sigs.forEach((s, i) => assert.equal(nobleBls.verify(pks[i]!, m, s), true));
  assert.equal(nobleBls.verify(pks[0]!, m, sigs[1]!), false, 'another key\'s signature');
  const agg = nobleBls.aggregateSignatures(sigs);
  assert.equal(agg.length, 96);
  assert.equal(nobleBls.fastAggregateVerify(pks, m, agg), true);
  assert.equal(nobleBls.verify(nobleBls.aggregatePublicKeys(pks), m, agg), true, 'FastAggregateVerify = Verify under the summed key');
  assert.equal(nobleBls.fastAggregateVerify(pks.slice(0, 2), m, agg), false, 'a key left out');
  assert.equal(nobleBls.fastAggregateVerify(pks, msg('block 7, round 1'), agg), false, 'another message');
  assert.equal(nobleBls.fastAggregateVerify([pks[0]!], m, sigs[0]!), true);
});

test('proof of possession: its own tag, not a signature over the key', () => {
  const sk = nobleBls.keygen(new Uint8Array(32).fill(9));
  const pk = nobleBls.publicKey(sk);
  const pop = nobleBls.popProve(sk);
  assert.equal(nobleBls.popVerify(pk, pop), true);
  // A vote on the key's bytes (the signing tag) is no proof, and a proof is no vote.
  assert.equal(nobleBls.popVerify(pk, nobleBls.sign(sk, pk)), false);
  assert.equal(nobleBls.verify(pk, pk, pop), false);
  // Proofs under a `_NUL_` tag (noble's default is the basic scheme's) are refused.
  const L = bls12_381.longSignatures;
  const proveUnder = (dst?: string) => L.Signature.toBytes(L.sign(L.hash(pk, dst), sk));
  assert.equal(bytesToHex(proveUnder(BLS_POP_DST)), bytesToHex(pop));
  assert.equal(nobleBls.popVerify(pk, proveUnder('BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_')), false);
  assert.equal(nobleBls.popVerify(pk, proveUnder('BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_')), false);
  assert.equal(nobleBls.popVerify(pk, proveUnder()), false);
  // Another key's proof.
  assert.equal(nobleBls.popVerify(nobleBls.publicKey(nobleBls.keygen(new Uint8Array(32).fill(8))), pop), false);
});

test('strict decoding: lengths, flags, field, curve, subgroup, identity', () => {
  const sk = nobleBls.keygen(new Uint8Array(32).fill(5));
  const pk = nobleBls.publicKey(sk);
  const m = msg('m');
  const sig = nobleBls.sign(sk, m);
  const key = (bytes: Uint8Array) => errorCode(() => nobleBls.checkPublicKey(bytes));
  const signature = (bytes: Uint8Array) => errorCode(() => nobleBls.verify(pk, m, bytes));
  assert.equal(key(pk), 'no error');
  for (const bad of [pk.subarray(1), new Uint8Array(0), new Uint8Array(49), new Uint8Array(96)]) assert.equal(key(bad), 'bad_bls_public_key');
  for (const bad of [sig.subarray(1), new Uint8Array(48), new Uint8Array(97)]) assert.equal(signature(bad), 'bad_bls_signature');
  const identity = new Uint8Array(48);
  identity[0] = 0xc0;
  assert.equal(key(identity), 'bad_bls_public_key');
  assert.ok(isBlsIdentity(identity));
  const identitySig = new Uint8Array(96);
  identitySig[0] = 0xc0;
  assert.equal(signature(identitySig), 'bad_bls_signature');
  const unflagged = Uint8Array.from(pk);
  unflagged[0]! &= 0x7f;
  assert.equal(key(unflagged), 'bad_bls_public_key', 'compression flag missing');
  // x = p (not reduced), x = 1 (no point), x = 0 (the point (0, 2): on the curve, outside the subgroup)
  assert.equal(key(hexToBytes('9a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab')), 'bad_bls_public_key');
  assert.equal(key(hexToBytes('80' + '00'.repeat(46) + '01')), 'bad_bls_public_key');
  assert.equal(key(hexToBytes('80' + '00'.repeat(47))), 'bad_bls_public_key');
  for (const bad of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(32), hexToBytes(bls12_381.fields.Fr.ORDER.toString(16).padStart(64, '0'))]) {
    assert.equal(errorCode(() => nobleBls.sign(bad, m)), 'bad_bls_secret_key');
  }
  assert.equal(errorCode(() => nobleBls.aggregateSignatures([])), 'bad_bls_aggregate');
  assert.equal(errorCode(() => nobleBls.fastAggregateVerify([], m, sig)), 'bad_bls_aggregate');
});

test('core/bls.ts imports nothing Node-only, so a browser runs it unchanged', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const file = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../src/core/bls.ts');
  const text = fs.readFileSync(file, 'utf8');
  const imports = [...text.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
  assert.deepEqual(imports.filter((s) => !s.startsWith('@noble/') && !['./errors.js', './limits.js'].includes(s)), []);
  assert.doesNotMatch(text, /\bBuffer\b/);
});
