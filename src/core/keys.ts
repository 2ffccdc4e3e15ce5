// Ed25519 through OpenSSL (node:crypto). Public keys are imported once and cached:
// building a KeyObject costs more than a verify.
import crypto, { type KeyObject } from 'node:crypto';
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { fail } from './errors.js';
import { fromB64u, toB64u, toHex, utf8 } from './encoding.js';
import { hash } from './hash.js';

const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_MAX = 100_000;

export function publicKeyObject(pubB64u: string): KeyObject {
  let key = keyCache.get(pubB64u);
  if (!key) {
    fromB64u(pubB64u, 'public key', 32); // refuse malformed keys with a precise error
    // JWK import is ~18x faster than DER under OpenSSL 3 (no decoder lookup).
    key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pubB64u }, format: 'jwk' });
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    keyCache.set(pubB64u, key);
  }
  return key;
}

export function verifySignature(pubB64u: string, message: Uint8Array, sigB64u: string): boolean {
  const sig = fromB64u(sigB64u, 'signature', 64);
  return crypto.verify(null, message, publicKeyObject(pubB64u), sig);
}

export interface Signer {
  /** base64url of the raw 32-byte public key */
  readonly pub: string;
  sign(message: Uint8Array): string;
}

export function signerFromPrivateKey(privateKey: KeyObject): Signer {
  const pub = rawPublicKey(crypto.createPublicKey(privateKey));
  return {
    pub,
    sign: (message) => toB64u(crypto.sign(null, message, privateKey)),
  };
}

export function rawPublicKey(publicKey: KeyObject): string {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return toB64u(der.subarray(der.length - 32));
}

export function generateSigner(): { signer: Signer; privateKey: KeyObject } {
  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  return { signer: signerFromPrivateKey(privateKey), privateKey };
}

/** An account id is derived from the key that opened the account and never changes. */
export function accountIdFromPub(pubB64u: string): string {
  const raw = fromB64u(pubB64u, 'public key', 32);
  return toHex(hash(utf8.encode('tally/account/v1\n'), raw).subarray(0, 20));
}

export const ACCOUNT_ID = /^[0-9a-f]{40}$/;

/**
 * Refuse public keys that OpenSSL would accept but that make forgeries trivial: a
 * non-canonical point encoding, or a point of small order (any signature with R = the
 * identity and s = 0 verifies). Checked once, when an account is opened.
 */
export function assertStrongPublicKey(pubB64u: string): void {
  // Admission and the executor both check a new account's key: decompressing the point
  // is a field square root (about 0.1 ms), so keys found strong are remembered (bounded).
  if (strongKeys.has(pubB64u)) return;
  const raw = fromB64u(pubB64u, 'public key', 32);
  let point;
  try {
    point = ed25519.Point.fromBytes(raw);
  } catch {
    fail('weak_key', 'the public key is not a canonical Ed25519 point', { status: 400 });
  }
  if (point.isSmallOrder()) fail('weak_key', 'the public key is a small-order point; generate a new key', { status: 400 });
  rememberStrongKey(pubB64u);
}

/**
 * assertStrongPublicKey's answer for a key under which OpenSSL has just verified a
 * signature, without its field square root (the verifier threads spent more on that root
 * than on the signature). OpenSSL decoded the point to verify, so it is on the curve;
 * what is left is the encoding: y below p (canonical), and y not one of the five values
 * the eight small-order points have (either sign bit: with x = 0 the set bit is itself
 * non-canonical). Same answer as the full check for every point on the curve
 * (src/core/keys.test.ts compares them); never call it for a key without that signature.
 */
export function isStrongVerifiedKey(pubB64u: string): boolean {
  const raw = fromB64u(pubB64u, 'public key', 32);
  const y = Buffer.from(raw);
  y[31]! &= 0x7f;
  return !yAtLeastP(y) && !SMALL_ORDER_Y.has(y.toString('hex'));
}

/** y (little-endian, sign bit cleared) >= p = 2^255 - 19: bytes ed ff ... ff 7f and up. */
function yAtLeastP(y: Uint8Array): boolean {
  if (y[31] !== 0x7f || y[0]! < 0xed) return false;
  for (let i = 1; i < 31; i++) if (y[i] !== 0xff) return false;
  return true;
}

/** The y of each small-order point (hex, little-endian, sign bit cleared): 0, 1, p - 1 and the two of order 8. */
const SMALL_ORDER_Y = new Set(ED25519_TORSION_SUBGROUP.map((hex) => {
  const y = Buffer.from(hex, 'hex');
  y[31]! &= 0x7f;
  return y.toString('hex');
}));

/** Whether the next assertStrongPublicKey of this key is a lookup (tests). */
export function isRememberedStrongKey(pubB64u: string): boolean {
  return strongKeys.has(pubB64u);
}

/** A key found strong elsewhere (the verifier threads run the same check): the next assert is a lookup. */
export function rememberStrongKey(pubB64u: string): void {
  if (strongKeys.size >= STRONG_KEYS_MAX) strongKeys.clear();
  strongKeys.add(pubB64u);
}

const STRONG_KEYS_MAX = 100_000;
const strongKeys = new Set<string>();
