// The node's BLS: src/core/bls.ts's BlsScheme on blst (supranational, through
// @chainsafe/blst), native code prebuilt per platform inside the npm package (no build
// step, no download). About 25 times faster than noble's pure JS on a verify, which is
// what a validator does for every vote. Same checks, same order, same codes as
// `nobleBls`: the shared prechecks first, then blst's decoders (canonical, on the curve,
// in the subgroup).
//
// The binding signs and verifies under one tag only, BLS_SIG_DST (fixed inside it), so
// proofs of possession, under BLS_POP_DST, are noble's. A proof is checked once per
// validator key, when the key is registered, never per vote.
import { PublicKey, SecretKey, Signature, aggregatePublicKeys, aggregateSignatures, verify } from '@chainsafe/blst';
import {
  badBlsPublicKey, badBlsSignature, blsSecretKeyScalar, cancelledOut, checkBlsCount, checkBlsIkm,
  isBlsIdentity, nobleBls, precheckBlsPublicKey, precheckBlsSignature, type BlsScheme,
} from '../../core/bls.js';

// A validator set's keys are decoded for every certificate; the subgroup check is most of
// the cost, so keys found valid are remembered (bounded).
const PUBLIC_KEY_CACHE_MAX = 10_000;
const publicKeys = new Map<string, PublicKey>();

function decodePublicKey(bytes: Uint8Array): PublicKey {
  precheckBlsPublicKey(bytes);
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  let key = publicKeys.get(hex);
  if (key) return key;
  try {
    key = PublicKey.fromBytes(bytes, true); // true: infinity and subgroup checks
  } catch (err) {
    return badBlsPublicKey((err as Error).message);
  }
  if (publicKeys.size >= PUBLIC_KEY_CACHE_MAX) publicKeys.clear();
  publicKeys.set(hex, key);
  return key;
}

function decodeSignature(bytes: Uint8Array): Signature {
  precheckBlsSignature(bytes);
  try {
    return Signature.fromBytes(bytes, true, true); // subgroup check, infinity check
  } catch (err) {
    return badBlsSignature((err as Error).message);
  }
}

function secretKey(bytes: Uint8Array): SecretKey {
  blsSecretKeyScalar(bytes);
  return SecretKey.fromBytes(bytes);
}

function sumOfKeys(keys: readonly Uint8Array[]): PublicKey {
  checkBlsCount(keys, 'public keys');
  const total = aggregatePublicKeys(keys.map(decodePublicKey), false); // each already validated
  if (isBlsIdentity(total.toBytes(true))) cancelledOut('public keys');
  return total;
}

export const blstBls: BlsScheme = Object.freeze({
  name: 'blst',
  keygen(ikm: Uint8Array): Uint8Array {
    checkBlsIkm(ikm);
    return SecretKey.fromKeygen(ikm).toBytes();
  },
  publicKey: (sk: Uint8Array) => secretKey(sk).toPublicKey().toBytes(true),
  checkPublicKey: (publicKey: Uint8Array) => void decodePublicKey(publicKey),
  sign: (sk: Uint8Array, message: Uint8Array) => secretKey(sk).sign(message).toBytes(true),
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    const pk = decodePublicKey(publicKey);
    return verify(message, pk, decodeSignature(signature), false, false);
  },
  popProve: (sk: Uint8Array) => nobleBls.popProve(sk),
  popVerify: (publicKey: Uint8Array, proof: Uint8Array) => nobleBls.popVerify(publicKey, proof),
  aggregateSignatures(signatures: readonly Uint8Array[]): Uint8Array {
    checkBlsCount(signatures, 'signatures');
    const total = aggregateSignatures(signatures.map(decodeSignature), false).toBytes(true);
    if (isBlsIdentity(total)) cancelledOut('signatures');
    return total;
  },
  aggregatePublicKeys: (keys: readonly Uint8Array[]) => sumOfKeys(keys).toBytes(true),
  fastAggregateVerify(keys: readonly Uint8Array[], message: Uint8Array, signature: Uint8Array): boolean {
    // blst's own fastAggregateVerify adds the keys and verifies too; done here in two steps
    // so that keys that cancel out are refused as noble refuses them.
    const pk = sumOfKeys(keys);
    return verify(message, pk, decodeSignature(signature), false, false);
  },
});
