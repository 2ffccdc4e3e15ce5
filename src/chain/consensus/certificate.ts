// Commit certificates: what makes a block final once validators vote. One aggregate BLS
// signature over the block's commit message, by validators that hold more than 2/3 of
// the voting power, and a bitmap that names them (README, "BLS signatures (validators)"):
//
//   signers    lowercase hex of ceil(n/8) bytes for n validators: validator i signed when
//              bit i mod 8 of byte floor(i/8) is set, bits counted from the least
//              significant (LSB-first). Bits at n and past are zero. Validator i is the
//              i-th of the set in its canonical order.
//   signature  base64url of the 96-byte aggregate of the signers' signatures.
//
// A certificate is valid when 3 * signed power > 2 * total power and the signature
// fast-aggregate-verifies under the signers' keys. The power is checked first: a
// certificate short of it is refused without a pairing.
import { fail, TallyError } from '../../core/errors.js';
import { fromB64u, fromHex, toB64u } from '../../core/encoding.js';
import { limits } from '../../core/limits.js';
import type { BlsScheme } from '../../core/bls.js';

export interface BlsValidator {
  /** base64url of the 48-byte BLS public key; its proof of possession was checked when it joined */
  blsKey: string;
  /** a positive safe integer */
  power: number;
}

export interface CommitCertificate {
  /** hex bitmap of the validators that signed (LSB-first in each byte) */
  signers: string;
  /** base64url of the 96-byte aggregate signature */
  signature: string;
}

export type CertificateCheck =
  | { ok: true; signers: number[]; signedPower: number; totalPower: number }
  | { ok: false; code: string; reason: string };

/** The bitmap of `indices` among `count` validators. */
export function signersBitmap(indices: readonly number[], count: number): string {
  const bytes = new Uint8Array(Math.ceil(count / 8));
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= count) fail('unknown_validator', `there is no validator ${i} in a set of ${count}`);
    const bit = 1 << (i % 8);
    if (bytes[i >> 3]! & bit) fail('duplicate_signer', `validator ${i} is named twice`);
    bytes[i >> 3]! |= bit;
  }
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The validators a bitmap names, in order; refuses a bitmap of the wrong length or with a bit past the set. */
export function signersOf(bitmap: unknown, count: number): number[] {
  const bytes = (() => {
    try {
      return fromHex(bitmap, 'signers', Math.ceil(count / 8));
    } catch (err) {
      return fail('bad_certificate_signers', `${(err as Error).message} for ${count} validators`);
    }
  })();
  const out: number[] = [];
  for (let i = 0; i < bytes.length * 8; i++) {
    if (!((bytes[i >> 3]! >> (i % 8)) & 1)) continue;
    if (i >= count) fail('bad_certificate_signers', `signers names validator ${i}, but the set has ${count} (bits past the set must be zero)`);
    out.push(i);
  }
  return out;
}

/** More than two thirds: 3 * signed > 2 * total, in bigint so that no sum can round. */
export const hasQuorum = (signedPower: number, totalPower: number): boolean => 3n * BigInt(signedPower) > 2n * BigInt(totalPower);

/** The set's total power; refuses a set that no certificate could be checked against. */
export function totalPowerOf(validators: readonly BlsValidator[]): number {
  if (!Array.isArray(validators) || validators.length === 0) fail('bad_validators', 'a validator set has at least one validator');
  if (validators.length > limits.blsAggregateCountMax) fail('bad_validators', `a validator set has at most ${limits.blsAggregateCountMax} validators`);
  const keys = new Set<string>();
  let total = 0;
  validators.forEach((v, i) => {
    if (!Number.isSafeInteger(v.power) || v.power < 1) fail('bad_validators', `validator ${i}: power must be a positive safe integer`);
    try {
      fromB64u(v.blsKey, `validator ${i}'s BLS key`, 48);
    } catch (err) {
      fail('bad_validators', (err as Error).message);
    }
    // The same key twice would let one signature count for both validators' power.
    if (keys.has(v.blsKey)) fail('bad_validators', `validator ${i}: its BLS key is another validator's too`);
    keys.add(v.blsKey);
    total += v.power;
  });
  if (!Number.isSafeInteger(total)) fail('bad_validators', 'the total voting power must be a safe integer');
  return total;
}

/**
 * The certificate of the votes gathered for one message: each vote's signature was
 * verified when the vote came in, so this only checks the power and adds them up.
 */
export function buildCertificate(
  scheme: BlsScheme,
  validators: readonly BlsValidator[],
  votes: ReadonlyArray<{ validator: number; signature: Uint8Array }>,
): CommitCertificate {
  const total = totalPowerOf(validators);
  const signers = signersBitmap(votes.map((v) => v.validator), validators.length);
  const signed = votes.reduce((sum, v) => sum + validators[v.validator]!.power, 0);
  if (!hasQuorum(signed, total)) fail('insufficient_power', `the votes hold ${signed} of ${total} voting power; a certificate needs more than 2/3`);
  const ordered = [...votes].sort((a, b) => a.validator - b.validator);
  return { signers, signature: toB64u(scheme.aggregateSignatures(ordered.map((v) => v.signature))) };
}

/**
 * Is `certificate` a valid certificate of `message` by `validators`? Never throws on a
 * malformed certificate: it says what was wrong, with a stable code.
 */
export function verifyCertificate(scheme: BlsScheme, validators: readonly BlsValidator[], message: Uint8Array, certificate: unknown): CertificateCheck {
  try {
    const total = totalPowerOf(validators);
    const c = certificate as Partial<CommitCertificate> | null;
    if (typeof c !== 'object' || c === null || typeof c.signers !== 'string' || typeof c.signature !== 'string') {
      fail('bad_certificate', 'a certificate is {signers, signature}, two strings');
    }
    const signers = signersOf(c.signers, validators.length);
    const signed = signers.reduce((sum, i) => sum + validators[i]!.power, 0);
    if (!hasQuorum(signed, total)) fail('insufficient_power', `the signers hold ${signed} of ${total} voting power; a certificate needs more than 2/3`);
    const signature = (() => {
      try {
        return fromB64u(c.signature, 'the certificate signature', 96);
      } catch (err) {
        return fail('bad_bls_signature', (err as Error).message);
      }
    })();
    const keys = signers.map((i) => fromB64u(validators[i]!.blsKey, `validator ${i}'s BLS key`, 48));
    if (!scheme.fastAggregateVerify(keys, message, signature)) fail('bad_certificate_signature', 'the aggregate signature does not verify under the signers\' keys');
    return { ok: true, signers, signedPower: signed, totalPower: total };
  } catch (err) {
    if (err instanceof TallyError) return { ok: false, code: err.code, reason: err.message };
    throw err;
  }
}
