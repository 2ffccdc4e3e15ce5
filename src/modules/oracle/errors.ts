// The oracle module's error codes: stable, snake_case, each with its HTTP status. The
// README's oracle error table lists the same codes.
import { fail } from '../../core/errors.js';

export const ORACLE_ERRORS = {
  oracle_invalid: { status: 400, text: 'a field of an oracle transaction is malformed (bad hex, an out-of-range digit shape, ...)' },
  bad_proof: { status: 403, text: 'oracle.register: the proof of possession does not verify for the key, chain and account' },
  oracle_exists: { status: 409, text: 'oracle.register: this public key is already registered' },
  unknown_oracle: { status: 404, text: 'no oracle with this public key' },
  not_oracle_owner: { status: 403, text: 'oracle.announce: only the account that registered the oracle announces for it' },
  oracle_frozen: { status: 409, text: 'the oracle was frozen by nonce-reuse evidence: it can neither announce nor attest' },
  event_exists: { status: 409, text: 'oracle.announce: the oracle already announced an event with this id' },
  nonce_reused: { status: 409, text: 'oracle.announce: a nonce was announced before by this oracle (or twice in one announcement)' },
  bad_announcement: { status: 403, text: "oracle.announce: the announcement signature does not verify under the oracle's key and profile" },
  unknown_event: { status: 404, text: 'the oracle announced no event with this id' },
  event_not_mature: { status: 409, text: "oracle.attest: the block's time is before the event's maturity" },
  already_attested: { status: 409, text: 'oracle.attest: the event is already attested' },
  nonce_mismatch: { status: 403, text: "oracle.attest: a signature's R is not the nonce announced for its digit" },
  bad_attestation: { status: 403, text: "oracle.attest: a digit's signature does not verify under the oracle's key and profile" },
  bad_evidence: { status: 403, text: 'oracle.evidence: the two signatures do not verify, differ in R, or sign the same message' },
} as const;

export type OracleErrorCode = keyof typeof ORACLE_ERRORS;

export function oracleFail(code: OracleErrorCode, message: string, details?: Record<string, unknown>): never {
  fail(code, message, { status: ORACLE_ERRORS[code].status, ...(details ? { details } : {}) });
}
