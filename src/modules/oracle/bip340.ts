// BIP340 Schnorr over secp256k1 for oracles (@noble/curves), and the messages an oracle
// signs in each profile. Verification is noble's; signing with a nonce chosen in advance
// (what an oracle announces) is written here because BIP340's sign() derives its own
// nonce: s = k + e·d with R = k·G, both negated to even y as BIP340 requires.
import { schnorr } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8 } from '../../core/encoding.js';

export type OracleProfile = 'dlcspecs-v0' | 'sha256-plain';
export const ORACLE_PROFILES: readonly OracleProfile[] = ['dlcspecs-v0', 'sha256-plain'];

const N = schnorr.Point.CURVE().n;
const G = schnorr.Point.BASE;

export const taggedHash = (tag: string, ...parts: Uint8Array[]): Uint8Array => schnorr.utils.taggedHash(tag, ...parts);

/** BIP340 verification; false (never a throw) for any malformed key, signature or point. */
export function verifyBip340(sig: Uint8Array, message: Uint8Array, pub: Uint8Array): boolean {
  if (sig.length !== 64 || pub.length !== 32) return false;
  try {
    return schnorr.verify(sig, message, pub);
  } catch {
    return false;
  }
}

/** Whether 32 bytes are the x coordinate of a curve point (a usable x-only key or nonce). */
export function validXOnly(x: Uint8Array): boolean {
  if (x.length !== 32) return false;
  try {
    schnorr.utils.lift_x(bytesToBig(x));
    return true;
  } catch {
    return false;
  }
}

/** The 32-byte message an oracle signs for one outcome string ("+", "-", "0" .. "15"). */
export function outcomeMessage(profile: OracleProfile, outcome: string): Uint8Array {
  const bytes = utf8.encode(outcome.normalize('NFC'));
  return profile === 'dlcspecs-v0' ? taggedHash('DLC/oracle/attestation/v0', bytes) : sha256(bytes);
}

/** The 32-byte message an announcement signature covers: the serialized event, hashed as the profile says. */
export function announcementMessage(profile: OracleProfile, serializedEvent: Uint8Array): Uint8Array {
  return profile === 'dlcspecs-v0' ? taggedHash('DLC/oracle/announcement/v0', serializedEvent) : sha256(serializedEvent);
}

/** The message a registration's proof of possession signs: the key is bound to this chain and account. */
export function registrationMessage(chain: string, account: string): Uint8Array {
  return taggedHash('Tally/oracle/register/v0', utf8.encode(`${chain}\n${account}`));
}

export function bytesToBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b).toString('hex'));
}

export function bigToBytes(n: bigint): Uint8Array {
  return Buffer.from(n.toString(16).padStart(64, '0'), 'hex');
}

const mod = (a: bigint): bigint => ((a % N) + N) % N;

/** The BIP340 challenge e = H_challenge(R.x || P.x || m) mod n. */
export function challenge(rx: Uint8Array, px: Uint8Array, message: Uint8Array): bigint {
  return mod(bytesToBig(taggedHash('BIP0340/challenge', rx, px, message)));
}

/** A fresh secret scalar in [1, n-1] (keys and nonces). */
export function randomScalar(): Uint8Array {
  return schnorr.utils.randomSecretKey();
}

/** x-only public point of a secret scalar (a key's public key, a nonce's R). */
export function xOnly(secret: Uint8Array): Uint8Array {
  return schnorr.getPublicKey(secret);
}

/** BIP340 signature of a 32-byte message with secret key `secret` and the nonce `k` announced as R = xOnly(k). */
export function signWithNonce(message: Uint8Array, secret: Uint8Array, k: Uint8Array): Uint8Array {
  const d0 = bytesToBig(secret);
  const k0 = bytesToBig(k);
  if (d0 <= 0n || d0 >= N || k0 <= 0n || k0 >= N) throw new Error('secret and nonce must be scalars in [1, n-1]');
  const P = G.multiply(d0);
  const R = G.multiply(k0);
  const d = P.y % 2n === 0n ? d0 : N - d0;
  const kk = R.y % 2n === 0n ? k0 : N - k0;
  const px = bigToBytes(P.x);
  const rx = bigToBytes(R.x);
  const s = mod(kk + challenge(rx, px, message) * d);
  return Buffer.concat([rx, bigToBytes(s)]);
}

/**
 * Two valid signatures under one key with the same R over different messages give the
 * key away: s1 - s2 = (e1 - e2)·d. Returns d (the even-y secret of the x-only key), or
 * undefined when the pair does not determine it (same R is required, e1 ≠ e2).
 */
export function recoverSecret(pub: Uint8Array, m1: Uint8Array, sig1: Uint8Array, m2: Uint8Array, sig2: Uint8Array): bigint | undefined {
  const rx = sig1.subarray(0, 32);
  if (Buffer.compare(rx, sig2.subarray(0, 32)) !== 0) return undefined;
  const e1 = challenge(rx, pub, m1);
  const e2 = challenge(rx, pub, m2);
  if (e1 === e2) return undefined;
  const ds = mod(bytesToBig(sig1.subarray(32)) - bytesToBig(sig2.subarray(32)));
  const d = mod(ds * invert(mod(e1 - e2)));
  if (d === 0n) return undefined;
  return Buffer.compare(bigToBytes(G.multiply(d).x), pub) === 0 ? d : undefined;
}

/** Modular inverse by Fermat (n is prime). */
function invert(a: bigint): bigint {
  let result = 1n;
  let base = a;
  let e = N - 2n;
  while (e > 0n) {
    if (e & 1n) result = (result * base) % N;
    base = (base * base) % N;
    e >>= 1n;
  }
  return result;
}
