// Consensus messages as validators sign and send them (README, "Consensus"). A message's
// sign bytes are the domain tag and the canonical JSON (RFC 8785) of its body:
//
//   "tally/consensus/v1\n" ‖ JCS({chainId, type, height, round, value[, validRound]})
//
// signed with the validator's BLS key (src/core/bls.ts). The validator's index is not in
// the bytes: every precommit for one block in one round signs the same bytes, so a quorum
// of them aggregates into one commit certificate (certificate.ts). Decoding is strict and
// says what was wrong; a signature is checked against the key of the validator it names.
import { canonicalJson } from '../../core/canonical.js';
import { fromB64u, toB64u, utf8 } from '../../core/encoding.js';
import { fail, TallyError } from '../../core/errors.js';
import type { BlsScheme } from '../../core/bls.js';
import { buildCertificate, type BlsValidator, type CommitCertificate } from './certificate.js';
import type { Message, Proposal, Vote } from './types.js';

export const CONSENSUS_DOMAIN = 'tally/consensus/v1\n';

/** A message and the base64url of its signer's 96-byte BLS signature. */
export interface Signed<M extends Message = Message> {
  message: M;
  signature: string;
}

/** Two signed votes of one validator in one slot for different values: grounds to jail it. */
export interface Evidence {
  first: Signed<Vote>;
  second: Signed<Vote>;
}

export type WireCheck<T> = { ok: true; value: T } | { ok: false; code: string; reason: string };

export function signBytes(chainId: string, m: Message): Uint8Array {
  const body = m.type === 'proposal'
    ? { chainId, type: m.type, height: m.height, round: m.round, value: m.value, validRound: m.validRound }
    : { chainId, type: m.type, height: m.height, round: m.round, value: m.value };
  return utf8.encode(CONSENSUS_DOMAIN + canonicalJson(body));
}

export function signMessage<M extends Message>(scheme: BlsScheme, secretKey: Uint8Array, chainId: string, message: M): Signed<M> {
  return { message, signature: toB64u(scheme.sign(secretKey, signBytes(chainId, message))) };
}

const HEX32 = /^[0-9a-f]{64}$/;
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const bad = (reason: string): never => fail('bad_consensus_message', reason);

/** The message inside untrusted input, every field checked (validator is an index into `count` validators). */
export function decodeMessage(input: unknown, count: number): Message {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) bad('a consensus message is an object');
  const m = input as Record<string, unknown>;
  const fields = m.type === 'proposal' ? ['type', 'height', 'round', 'value', 'validRound', 'validator'] : ['type', 'height', 'round', 'value', 'validator'];
  if (m.type !== 'proposal' && m.type !== 'prevote' && m.type !== 'precommit') bad('type must be proposal, prevote or precommit');
  const extra = Object.keys(m).filter((k) => !fields.includes(k));
  if (extra.length > 0) bad(`unknown field ${extra[0]}`);
  if (!isCount(m.height)) bad('height must be a non-negative safe integer');
  if (!isCount(m.round)) bad('round must be a non-negative safe integer');
  if (!isCount(m.validator) || (m.validator as number) >= count) bad(`validator must be an index below ${count}`);
  if (m.type === 'proposal') {
    if (typeof m.value !== 'string' || !HEX32.test(m.value)) bad('a proposal\'s value is a block hash: 64 lowercase hex digits');
    if (!Number.isSafeInteger(m.validRound) || (m.validRound as number) < -1 || (m.validRound as number) >= (m.round as number)) bad('validRound must be -1 or a round before round');
    return { type: 'proposal', height: m.height as number, round: m.round as number, value: m.value as string, validRound: m.validRound as number, validator: m.validator as number } satisfies Proposal;
  }
  if (m.value !== null && (typeof m.value !== 'string' || !HEX32.test(m.value))) bad('a vote\'s value is a block hash (64 lowercase hex digits) or null for nil');
  return { type: m.type as Vote['type'], height: m.height as number, round: m.round as number, value: m.value as string | null, validator: m.validator as number } satisfies Vote;
}

/** A signed message from the network: well formed and signed by the validator it names. */
export function checkSigned(scheme: BlsScheme, validators: readonly BlsValidator[], chainId: string, input: unknown): WireCheck<Signed> {
  return guarded(() => {
    const s = input as Partial<Signed> | null;
    if (typeof s !== 'object' || s === null || typeof s.signature !== 'string') bad('a signed message is {message, signature}');
    const message = decodeMessage(s!.message, validators.length);
    const signature = decodeSignature(s!.signature!);
    const key = fromB64u(validators[message.validator]!.blsKey, 'a validator BLS key', 48);
    if (!scheme.verify(key, signBytes(chainId, message), signature)) fail('bad_consensus_signature', `the signature is not validator ${message.validator}'s over this message`);
    return { message, signature: s!.signature! };
  });
}

/** Evidence of equivocation: both votes signed by one validator, in one slot, for different values. */
export function checkEvidence(scheme: BlsScheme, validators: readonly BlsValidator[], chainId: string, input: unknown): WireCheck<{ validator: number; height: number; round: number }> {
  return guarded(() => {
    const e = input as Partial<Evidence> | null;
    if (typeof e !== 'object' || e === null) fail('bad_evidence', 'evidence is {first, second}, two signed votes');
    const checked = [e!.first, e!.second].map((s) => {
      const c = checkSigned(scheme, validators, chainId, s);
      if (!c.ok) fail(c.code, c.reason);
      if (c.value.message.type === 'proposal') fail('bad_evidence', 'evidence is two votes, not proposals');
      return c.value.message as Vote;
    });
    const [a, b] = checked as [Vote, Vote];
    if (a.validator !== b.validator || a.height !== b.height || a.round !== b.round || a.type !== b.type) {
      fail('bad_evidence', 'the two votes must share validator, height, round and type');
    }
    if (a.value === b.value) fail('bad_evidence', 'the two votes are for the same value: no equivocation');
    return { validator: a.validator, height: a.height, round: a.round };
  });
}

/** The commit certificate of a decision: the signed precommits for its block in its round. */
export function certificateOf(scheme: BlsScheme, validators: readonly BlsValidator[], precommits: ReadonlyArray<Signed<Vote>>): CommitCertificate {
  const first = precommits[0]?.message;
  if (!first || first.value === null) fail('insufficient_power', 'a certificate needs precommits for a block');
  for (const p of precommits) {
    const m = p.message;
    if (m.type !== 'precommit' || m.height !== first.height || m.round !== first.round || m.value !== first.value) {
      fail('bad_certificate', 'a certificate\'s precommits share height, round and block');
    }
  }
  // One signature per validator: an equivocator's second precommit for the same block is the same bytes.
  const byValidator = new Map(precommits.map((p) => [p.message.validator, decodeSignature(p.signature)]));
  return buildCertificate(scheme, validators, [...byValidator].map(([validator, signature]) => ({ validator, signature })));
}

/** The bytes a certificate for (height, round, block) signs: a precommit's sign bytes. */
export const certificateMessage = (chainId: string, height: number, round: number, block: string): Uint8Array =>
  signBytes(chainId, { type: 'precommit', height, round, value: block, validator: 0 });

function decodeSignature(text: string): Uint8Array {
  try {
    return fromB64u(text, 'a consensus signature', 96);
  } catch (err) {
    return fail('bad_bls_signature', (err as Error).message);
  }
}

function guarded<T>(check: () => T): WireCheck<T> {
  try {
    return { ok: true, value: check() };
  } catch (err) {
    if (err instanceof TallyError) return { ok: false, code: err.code, reason: err.message };
    throw err;
  }
}
