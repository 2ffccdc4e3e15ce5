// The oracle module's transaction types: register, announce, attest, evidence. parse()
// checks shapes (a refusal at admission changes nothing); apply() checks against state
// and verifies signatures (a failure is recorded, uses the nonce, changes nothing else).
// The signatures are the authority: anyone may submit an attestation or evidence.
import { array, bool, decode, int, object, oneOf, optional, string, type Decoder } from '../../core/decode.js';
import type { TxContext, TxType } from '../../chain/module.js';
import { assert } from '../../core/errors.js';
import { serializeEvent, type EventFields } from './announcement.js';
import {
  announcementMessage, ORACLE_PROFILES, outcomeMessage, recoverSecret, registrationMessage, validXOnly, verifyBip340, type OracleProfile,
} from './bip340.js';
import { BASE_MAX, BASE_MIN, composeOutcome, DIGITS_MAX, magnitudeMax, nonceCount, OUTCOME_ABS_MAX, validDigitText } from './digits.js';
import { oracleFail } from './errors.js';
import {
  attestedAtKey, EVENT_ID, eventKey, frozenAtKey, getEvent, getOracle, HEX32, HEX64, nonceKey, oracleKey, type EventRecord, type OracleRecord,
} from './state.js';

/** Longest oracle name and event unit, in UTF-8 bytes. */
export const ORACLE_NAME_BYTES_MAX = 64;
export const UNIT_BYTES_MAX = 32;
/** dlcspecs precision is an int32; Tally keeps it to what a price can mean. */
export const PRECISION_ABS_MAX = 18;
/** Maturity is a u32 in the serialized event. */
export const MATURITY_MAX = 0xffff_ffff;
/** Longest outcome text in an evidence pair (UTF-8 bytes). */
export const EVIDENCE_OUTCOME_BYTES_MAX = 64;

const body = <T>(schema: Decoder<T>) => (raw: unknown): T => decode(schema, raw, 'bad_body', 'body');
const hex32 = (what: string) => string({ pattern: HEX32, maxLength: 64, what: `${what}: 64 lowercase hex` });
const hex64 = (what: string) => string({ pattern: HEX64, maxLength: 128, what: `${what}: 128 lowercase hex` });
const oracleId = hex32('the oracle\'s x-only public key');
const eventId = string({ pattern: EVENT_ID, maxLength: 64, what: 'an event id: 1-64 of A-Z a-z 0-9 . _ : -, starting with a letter or digit' });
const hexBytes = (h: string): Buffer => Buffer.from(h, 'hex');

function activeOracle(ctx: TxContext, pub: string): OracleRecord {
  const o = getOracle(ctx.state, pub);
  if (!o) oracleFail('unknown_oracle', `no oracle ${pub}`);
  if (o.status === 'frozen') oracleFail('oracle_frozen', `oracle ${pub} was frozen at height ${o.frozen!.height} by nonce-reuse evidence`);
  return o;
}

// ---------------------------------------------------------------------------------------
// register

export interface RegisterBody {
  pubkey: string;
  profile: OracleProfile;
  name: string;
  /** BIP340 signature of registrationMessage(chain, sender) by the oracle key */
  proof: string;
}

const registerBody = body(object({
  pubkey: hex32('pubkey'),
  profile: oneOf(ORACLE_PROFILES),
  name: string({ nonBlank: true, maxBytes: ORACLE_NAME_BYTES_MAX, what: `a name of 1-${ORACLE_NAME_BYTES_MAX} bytes` }),
  proof: hex64('proof'),
}));

export const register: TxType<RegisterBody> = {
  type: 'oracle.register',
  parse(raw) {
    const b = registerBody(raw);
    if (!validXOnly(hexBytes(b.pubkey))) oracleFail('oracle_invalid', 'pubkey is not the x coordinate of a secp256k1 point');
    return b;
  },
  admit(ctx, b) {
    if (getOracle(ctx.state, b.pubkey)) oracleFail('oracle_exists', `oracle ${b.pubkey} is already registered`);
  },
  apply(ctx, b) {
    if (getOracle(ctx.state, b.pubkey)) oracleFail('oracle_exists', `oracle ${b.pubkey} is already registered`);
    if (!verifyBip340(hexBytes(b.proof), registrationMessage(ctx.params.chain, ctx.tx.from), hexBytes(b.pubkey))) {
      oracleFail('bad_proof', 'the proof does not verify: sign registrationMessage(chain, account) with the oracle key');
    }
    ctx.state.set(oracleKey(b.pubkey), {
      pubkey: b.pubkey, owner: ctx.tx.from, name: b.name, profile: b.profile, status: 'active', registered: ctx.height, events: 0,
    } satisfies OracleRecord);
    return [{ type: 'oracle.registered', oracle: b.pubkey, owner: ctx.tx.from, name: b.name, profile: b.profile }];
  },
};

// ---------------------------------------------------------------------------------------
// announce

export interface AnnounceBody extends EventFields {
  oracle: string;
  nonces: string[];
  /** the announcement signature over the serialized event (announcement.ts), hashed per profile */
  sig: string;
}

const announceBody = body(object({
  oracle: oracleId,
  eventId,
  maturity: int({ min: 0, max: MATURITY_MAX, what: 'unix seconds (0 to 2^32-1)' }),
  base: int({ min: BASE_MIN, max: BASE_MAX }),
  signed: bool(),
  digits: int({ min: 1, max: DIGITS_MAX }),
  unit: string({ nonBlank: true, maxBytes: UNIT_BYTES_MAX, what: `a unit of 1-${UNIT_BYTES_MAX} bytes` }),
  precision: int({ min: -PRECISION_ABS_MAX, max: PRECISION_ABS_MAX }),
  nonces: array(hex32('a nonce'), { minItems: 1, maxItems: DIGITS_MAX + 1 }),
  sig: hex64('sig'),
}));

export const announce: TxType<AnnounceBody> = {
  type: 'oracle.announce',
  parse(raw) {
    const b = announceBody(raw);
    if (magnitudeMax(b) > OUTCOME_ABS_MAX) oracleFail('oracle_invalid', `base^digits - 1 must fit a signed 64-bit integer (${b.base}^${b.digits} does not)`);
    const want = nonceCount(b);
    if (b.nonces.length !== want) oracleFail('oracle_invalid', `${b.digits} digits${b.signed ? ' and a sign' : ''} need ${want} nonces, got ${b.nonces.length}`);
    if (new Set(b.nonces).size !== b.nonces.length) oracleFail('nonce_reused', 'the announcement repeats a nonce');
    b.nonces.forEach((r, i) => {
      if (!validXOnly(hexBytes(r))) oracleFail('oracle_invalid', `nonces[${i}] is not the x coordinate of a secp256k1 point`);
    });
    return b;
  },
  /** Cheap, final refusals only (no signature work before the envelope's is checked): a frozen oracle, a taken id, a used nonce stay so. */
  admit(ctx, b) {
    if (getOracle(ctx.state, b.oracle)?.status === 'frozen') oracleFail('oracle_frozen', `oracle ${b.oracle} is frozen`);
    if (ctx.state.get(eventKey(b.oracle, b.eventId)) !== undefined) oracleFail('event_exists', `oracle ${b.oracle} already announced event "${b.eventId}"`);
    b.nonces.forEach((r, i) => {
      if (ctx.state.get(nonceKey(b.oracle, r)) !== undefined) oracleFail('nonce_reused', `nonces[${i}] was announced before`, { index: i });
    });
  },
  apply(ctx, b) {
    const o = activeOracle(ctx, b.oracle);
    if (o.owner !== ctx.tx.from) oracleFail('not_oracle_owner', `oracle ${b.oracle} is owned by account ${o.owner}`);
    if (ctx.state.get(eventKey(b.oracle, b.eventId)) !== undefined) oracleFail('event_exists', `oracle ${b.oracle} already announced event "${b.eventId}"`);
    b.nonces.forEach((r, i) => {
      const used = ctx.state.get<string>(nonceKey(b.oracle, r));
      if (used !== undefined) oracleFail('nonce_reused', `nonces[${i}] was announced before, for event "${used}"`, { index: i, event: used });
    });
    if (!verifyBip340(hexBytes(b.sig), announcementMessage(o.profile, serializeEvent(b)), hexBytes(b.oracle))) {
      oracleFail('bad_announcement', `the announcement signature does not verify under the oracle's key (profile ${o.profile})`);
    }
    for (const r of b.nonces) ctx.state.set(nonceKey(b.oracle, r), b.eventId);
    const { sig, ...fields } = b;
    ctx.state.set(eventKey(b.oracle, b.eventId), { ...fields, announcementSig: sig, announced: ctx.height, status: 'announced' } satisfies EventRecord);
    ctx.state.set(oracleKey(b.oracle), { ...o, events: o.events + 1 } satisfies OracleRecord);
    return [{ type: 'oracle.announced', oracle: b.oracle, eventId: b.eventId, maturity: b.maturity }];
  },
};

// ---------------------------------------------------------------------------------------
// attest

export interface AttestBody {
  oracle: string;
  eventId: string;
  /** one string per nonce: "+"/"-" first when signed, then each digit in base 10 */
  outcomes: string[];
  sigs: string[];
}

const attestBody = body(object({
  oracle: oracleId,
  eventId,
  outcomes: array(string({ maxLength: 2, what: 'a digit ("0" .. "15") or a sign ("+", "-")' }), { minItems: 1, maxItems: DIGITS_MAX + 1 }),
  sigs: array(hex64('a signature'), { minItems: 1, maxItems: DIGITS_MAX + 1 }),
}));

export const attest: TxType<AttestBody> = {
  type: 'oracle.attest',
  parse(raw) {
    const b = attestBody(raw);
    if (b.outcomes.length !== b.sigs.length) oracleFail('oracle_invalid', `${b.outcomes.length} outcomes but ${b.sigs.length} signatures`);
    return b;
  },
  /**
   * Cheap, final refusals against committed state: a frozen oracle, an attested event, a
   * signature whose R is not the announced nonce never succeed later. Signatures are
   * verified in the block only (admission runs before the envelope's own signature check,
   * and must not do expensive work for unauthenticated input). An unknown event passes:
   * it may be announced earlier in the same block.
   */
  admit(ctx, b) {
    if (getOracle(ctx.state, b.oracle)?.status === 'frozen') oracleFail('oracle_frozen', `oracle ${b.oracle} is frozen`);
    const e = getEvent(ctx.state, b.oracle, b.eventId);
    if (!e) return;
    if (e.status === 'attested') oracleFail('already_attested', `event "${b.eventId}" was attested at height ${e.attestation!.height}`);
    b.sigs.forEach((sig, i) => {
      if (sig.slice(0, 64) !== e.nonces[i]) oracleFail('nonce_mismatch', `sigs[${i}] uses R ${sig.slice(0, 64)}, not the announced nonce ${e.nonces[i] ?? '(none)'}`, { index: i });
    });
  },
  apply(ctx, b) {
    const o = activeOracle(ctx, b.oracle);
    const e = getEvent(ctx.state, b.oracle, b.eventId);
    if (!e) oracleFail('unknown_event', `oracle ${b.oracle} announced no event "${b.eventId}"`);
    if (e.status === 'attested') oracleFail('already_attested', `event "${b.eventId}" was attested at height ${e.attestation!.height}`);
    if (ctx.timeMs < e.maturity * 1000) oracleFail('event_not_mature', `event "${b.eventId}" matures at ${e.maturity} (unix s); the block is at ${Math.floor(ctx.timeMs / 1000)}`);
    if (b.outcomes.length !== e.nonces.length) oracleFail('oracle_invalid', `the event has ${e.nonces.length} nonces; got ${b.outcomes.length} outcomes`);
    b.outcomes.forEach((text, i) => {
      if (!validDigitText(e, i, text)) oracleFail('oracle_invalid', `outcomes[${i}] "${text}" is not a ${e.signed && i === 0 ? 'sign ("+" or "-")' : `base-${e.base} digit written in base 10`}`);
    });
    const pub = hexBytes(b.oracle);
    b.sigs.forEach((sig, i) => {
      if (sig.slice(0, 64) !== e.nonces[i]) oracleFail('nonce_mismatch', `sigs[${i}] uses R ${sig.slice(0, 64)}, not the announced nonce ${e.nonces[i]}`, { index: i });
      if (!verifyBip340(hexBytes(sig), outcomeMessage(o.profile, b.outcomes[i]!), pub)) {
        oracleFail('bad_attestation', `sigs[${i}] does not verify for outcome "${b.outcomes[i]}" (profile ${o.profile})`, { index: i });
      }
    });
    const { outcome, atBound } = composeOutcome(e, b.outcomes);
    ctx.state.set(eventKey(b.oracle, b.eventId), {
      ...e, status: 'attested',
      attestation: { outcomes: b.outcomes, sigs: b.sigs, outcome: outcome.toString(), atBound, height: ctx.height, tx: ctx.id },
    } satisfies EventRecord);
    ctx.state.set(attestedAtKey(ctx.height, ctx.index), { oracle: b.oracle, eventId: b.eventId });
    return [{ type: 'oracle.attested', oracle: b.oracle, eventId: b.eventId, outcome: outcome.toString(), atBound }];
  },
};

// ---------------------------------------------------------------------------------------
// evidence: two signatures with one R over different messages

export interface EvidenceSig {
  /** the 32-byte BIP340 message, hex; or an outcome string, hashed by the oracle's profile */
  message?: string;
  outcome?: string;
  sig: string;
}

export interface EvidenceBody {
  oracle: string;
  a: EvidenceSig;
  b: EvidenceSig;
}

const evidenceSig = object({
  message: optional(hex32('message')),
  outcome: optional(string({ maxBytes: EVIDENCE_OUTCOME_BYTES_MAX })),
  sig: hex64('sig'),
});
const evidenceBody = body(object({ oracle: oracleId, a: evidenceSig, b: evidenceSig }));

function evidenceMessage(profile: OracleProfile, s: EvidenceSig): Uint8Array {
  return s.message !== undefined ? hexBytes(s.message) : outcomeMessage(profile, s.outcome!);
}

export const evidence: TxType<EvidenceBody> = {
  type: 'oracle.evidence',
  parse(raw) {
    const b = evidenceBody(raw);
    for (const [name, s] of [['a', b.a], ['b', b.b]] as const) {
      if ((s.message === undefined) === (s.outcome === undefined)) oracleFail('oracle_invalid', `body.${name} has exactly one of "message" or "outcome"`);
    }
    if (b.a.sig.slice(0, 64) !== b.b.sig.slice(0, 64)) oracleFail('bad_evidence', 'the two signatures have different R: that is no evidence of reuse');
    return b;
  },
  admit(ctx, b) {
    if (getOracle(ctx.state, b.oracle)?.status === 'frozen') oracleFail('oracle_frozen', `oracle ${b.oracle} is frozen already`);
  },
  apply(ctx, b) {
    const o = activeOracle(ctx, b.oracle);
    const pub = hexBytes(b.oracle);
    const m1 = evidenceMessage(o.profile, b.a);
    const m2 = evidenceMessage(o.profile, b.b);
    if (Buffer.compare(m1, m2) === 0) oracleFail('bad_evidence', 'both signatures sign the same message');
    if (!verifyBip340(hexBytes(b.a.sig), m1, pub) || !verifyBip340(hexBytes(b.b.sig), m2, pub)) oracleFail('bad_evidence', 'a signature does not verify under the oracle key');
    // Both verify with one R over different messages, so the key follows; recovering it
    // checks the arithmetic end to end (it must reproduce the oracle's public key).
    assert(recoverSecret(pub, m1, hexBytes(b.a.sig), m2, hexBytes(b.b.sig)) !== undefined, 'two valid signatures with one R recover the key');
    ctx.state.set(oracleKey(b.oracle), { ...o, status: 'frozen', frozen: { height: ctx.height, evidence: ctx.id } } satisfies OracleRecord);
    ctx.state.set(frozenAtKey(ctx.height, ctx.index), b.oracle);
    return [{ type: 'oracle.frozen', oracle: b.oracle, nonce: b.a.sig.slice(0, 64) }];
  },
};

export const oracleTxTypes = [register, announce, attest, evidence] as TxType[];
