// BLS12-381 signatures for validators' votes and commit certificates: min-pk (48-byte
// compressed G1 public keys, 96-byte compressed G2 signatures) with the proof-of-possession
// ciphersuite of draft-irtf-cfrg-bls-signature-05, the one Ethereum's consensus layer uses.
// A key is admitted only with a valid proof of possession, which is what makes adding
// keys safe for fast-aggregate-verify (no rogue-key attack).
//
// BlsScheme is the interface. `nobleBls` here implements it with @noble/curves (pure JS,
// browser-safe: for code that runs in a browser, and the cross-check in tests);
// src/chain/consensus/bls-native.ts implements it with blst for the node. Both make the
// same checks in the same order with the same codes, and the tests hold them to it:
// malformed input throws a TallyError (`bad_bls_secret_key`, `bad_bls_seed`,
// `bad_bls_public_key`, `bad_bls_signature`, `bad_bls_aggregate`); a well-formed signature
// that does not verify is `false`.
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { fail } from './errors.js';
import { limits } from './limits.js';

/** Hash-to-G2 tag of every message signature (the `_POP_` suite's signing tag). */
export const BLS_SIG_DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';
/** Hash-to-G2 tag of proofs of possession: a different tag, so no vote can pass for a proof. */
export const BLS_POP_DST = 'BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';
export const BLS_SECRET_KEY_BYTES = 32;
export const BLS_PUBLIC_KEY_BYTES = 48;
export const BLS_SIGNATURE_BYTES = 96;
/** KeyGen needs at least this much secret input keying material. */
export const BLS_IKM_BYTES_MIN = 32;

export interface BlsScheme {
  /** 'noble' or 'blst': which implementation this is (benches and tests print it). */
  readonly name: string;
  /** KeyGen(IKM) of draft-05 §2.3, key_info empty (= EIP-2333's master key): a 32-byte big-endian secret key. */
  keygen(ikm: Uint8Array): Uint8Array;
  /** SkToPk: the 48-byte compressed public key. */
  publicKey(secretKey: Uint8Array): Uint8Array;
  /** KeyValidate: throws bad_bls_public_key unless a canonical point of G1's prime-order subgroup, not the identity. */
  checkPublicKey(publicKey: Uint8Array): void;
  /** A 96-byte signature over message (BLS_SIG_DST). Deterministic: one key, one message, one signature. */
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /** PopProve: the key's signature over its own 48-byte public key, with BLS_POP_DST. */
  popProve(secretKey: Uint8Array): Uint8Array;
  popVerify(publicKey: Uint8Array, proof: Uint8Array): boolean;
  /** The sum of 1..blsAggregateCountMax signatures; refused if it is the identity (they cancel out). */
  aggregateSignatures(signatures: readonly Uint8Array[]): Uint8Array;
  /** The sum of 1..blsAggregateCountMax public keys; refused if it is the identity. */
  aggregatePublicKeys(publicKeys: readonly Uint8Array[]): Uint8Array;
  /**
   * One message signed by every key, checked against the aggregate signature with one
   * pairing check. Sound only for keys whose proof of possession was checked.
   */
  fastAggregateVerify(publicKeys: readonly Uint8Array[], message: Uint8Array, signature: Uint8Array): boolean;
}

// ---------------------------------------------------------------------------------------
// Checks both implementations make first, so they refuse the same input with the same words.

const R = bls12_381.fields.Fr.ORDER;

function checkBytes(bytes: unknown, length: number, code: string, what: string): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) fail(code, `${what} must be bytes`);
  if (bytes.length !== length) fail(code, `${what} must be ${length} bytes, got ${bytes.length}`);
}

/** The compressed identity (a key or signature): flags 0b110 and every other bit zero. */
export function isBlsIdentity(bytes: Uint8Array): boolean {
  return bytes[0] === 0xc0 && bytes.every((b, i) => i === 0 || b === 0);
}

/** A secret key: 32 bytes, big-endian, 0 < sk < r. Returns the scalar. */
export function blsSecretKeyScalar(secretKey: Uint8Array): bigint {
  checkBytes(secretKey, BLS_SECRET_KEY_BYTES, 'bad_bls_secret_key', 'a BLS secret key');
  const sk = bytesToNumberBE(secretKey);
  if (sk === 0n || sk >= R) fail('bad_bls_secret_key', 'a BLS secret key must be a number from 1 to r-1 (big-endian)');
  return sk;
}

export function checkBlsIkm(ikm: Uint8Array): void {
  if (!(ikm instanceof Uint8Array) || ikm.length < BLS_IKM_BYTES_MIN) {
    fail('bad_bls_seed', `BLS key generation needs at least ${BLS_IKM_BYTES_MIN} bytes of secret seed`);
  }
}

/** Length and identity; the curve and subgroup checks are the implementation's decoder. */
export function precheckBlsPublicKey(publicKey: Uint8Array): void {
  checkBytes(publicKey, BLS_PUBLIC_KEY_BYTES, 'bad_bls_public_key', 'a BLS public key');
  if (isBlsIdentity(publicKey)) fail('bad_bls_public_key', 'a BLS public key may not be the identity point');
}

export function precheckBlsSignature(signature: Uint8Array): void {
  checkBytes(signature, BLS_SIGNATURE_BYTES, 'bad_bls_signature', 'a BLS signature');
  // No honest signature is the identity (sk > 0 and H(m) is not the identity).
  if (isBlsIdentity(signature)) fail('bad_bls_signature', 'a BLS signature may not be the identity point');
}

export function checkBlsCount(items: readonly unknown[], what: string): void {
  if (!Array.isArray(items) || items.length === 0) fail('bad_bls_aggregate', `nothing to aggregate: no ${what}`);
  if (items.length > limits.blsAggregateCountMax) fail('bad_bls_aggregate', `at most ${limits.blsAggregateCountMax} ${what} in one aggregate, got ${items.length}`);
}

export const badBlsPublicKey = (reason: string): never => fail('bad_bls_public_key', `a BLS public key must be a compressed point of G1's subgroup: ${reason}`);
export const badBlsSignature = (reason: string): never => fail('bad_bls_signature', `a BLS signature must be a compressed point of G2's subgroup: ${reason}`);
export const cancelledOut = (what: string): never => fail('bad_bls_aggregate', `the ${what} add up to the identity point (they cancel out)`);

/**
 * KeyGen of draft-irtf-cfrg-bls-signature-05 §2.3 (blst's blst_keygen; EIP-2333's
 * derive_master_SK): HKDF-SHA-256 with the salt "BLS-SIG-KEYGEN-SALT-" hashed once per
 * try, 48 bytes of output reduced mod r, tried again with the salt hashed again in the
 * (2^-255) case that gives 0.
 */
export function blsKeygen(ikm: Uint8Array, keyInfo: Uint8Array = new Uint8Array(0)): Uint8Array {
  checkBlsIkm(ikm);
  const okmBytes = 48; // ceil(3 * ceil(log2(r)) / 16): enough that the reduction mod r is unbiased
  let salt = utf8ToBytes('BLS-SIG-KEYGEN-SALT-');
  for (;;) {
    salt = sha256(salt);
    const prk = extract(sha256, concatBytes(ikm, Uint8Array.of(0)), salt);
    const sk = bytesToNumberBE(expand(sha256, prk, concatBytes(keyInfo, Uint8Array.of(0, okmBytes)), okmBytes)) % R;
    if (sk !== 0n) return numberToBytesBE(sk, BLS_SECRET_KEY_BYTES);
  }
}

// ---------------------------------------------------------------------------------------
// @noble/curves

const L = bls12_381.longSignatures;
type G1 = ReturnType<typeof L.getPublicKey>;
type G2 = ReturnType<typeof L.sign>;

// Decoding a key is a square root and a subgroup check (milliseconds in pure JS), and a
// validator set's keys are decoded for every certificate: keys found valid are remembered.
const PUBLIC_KEY_CACHE_MAX = 10_000;
const publicKeys = new Map<string, G1>();

function decodePublicKey(bytes: Uint8Array): G1 {
  precheckBlsPublicKey(bytes);
  const hex = bytesToHex(bytes);
  let point = publicKeys.get(hex);
  if (point) return point;
  try {
    point = bls12_381.G1.Point.fromBytes(bytes); // canonical x < p, on the curve, in the subgroup
  } catch (err) {
    return badBlsPublicKey((err as Error).message);
  }
  if (publicKeys.size >= PUBLIC_KEY_CACHE_MAX) publicKeys.clear();
  publicKeys.set(hex, point);
  return point;
}

function decodeSignature(bytes: Uint8Array): G2 {
  precheckBlsSignature(bytes);
  try {
    return L.Signature.fromBytes(bytes); // compressed, canonical, on the curve, in the subgroup
  } catch (err) {
    return badBlsSignature((err as Error).message);
  }
}

function sum<P extends { add(other: P): P; is0(): boolean }>(points: P[], what: string): P {
  const total = points.slice(1).reduce((acc, p) => acc.add(p), points[0]!);
  if (total.is0()) cancelledOut(what);
  return total;
}

function secretKeyBytes(secretKey: Uint8Array): Uint8Array {
  blsSecretKeyScalar(secretKey); // noble would reduce an out-of-range key mod r: refuse it instead
  return secretKey;
}

export const nobleBls: BlsScheme = Object.freeze({
  name: 'noble',
  keygen: (ikm: Uint8Array) => blsKeygen(ikm),
  publicKey: (secretKey: Uint8Array) => L.getPublicKey(secretKeyBytes(secretKey)).toBytes(),
  checkPublicKey: (publicKey: Uint8Array) => void decodePublicKey(publicKey),
  sign: (secretKey: Uint8Array, message: Uint8Array) => L.Signature.toBytes(L.sign(L.hash(message, BLS_SIG_DST), secretKeyBytes(secretKey))),
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    const pk = decodePublicKey(publicKey);
    return L.verify(decodeSignature(signature), L.hash(message, BLS_SIG_DST), pk);
  },
  popProve(secretKey: Uint8Array): Uint8Array {
    const sk = secretKeyBytes(secretKey);
    return L.Signature.toBytes(L.sign(L.hash(L.getPublicKey(sk).toBytes(), BLS_POP_DST), sk));
  },
  popVerify(publicKey: Uint8Array, proof: Uint8Array): boolean {
    const pk = decodePublicKey(publicKey);
    return L.verify(decodeSignature(proof), L.hash(publicKey, BLS_POP_DST), pk);
  },
  aggregateSignatures(signatures: readonly Uint8Array[]): Uint8Array {
    checkBlsCount(signatures, 'signatures');
    return L.Signature.toBytes(sum(signatures.map(decodeSignature), 'signatures'));
  },
  aggregatePublicKeys(keys: readonly Uint8Array[]): Uint8Array {
    checkBlsCount(keys, 'public keys');
    return sum(keys.map(decodePublicKey), 'public keys').toBytes();
  },
  fastAggregateVerify(keys: readonly Uint8Array[], message: Uint8Array, signature: Uint8Array): boolean {
    checkBlsCount(keys, 'public keys');
    const pk = sum(keys.map(decodePublicKey), 'public keys');
    return L.verify(decodeSignature(signature), L.hash(message, BLS_SIG_DST), pk);
  },
});
