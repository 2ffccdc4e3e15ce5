// What an oracle operator signs, as transaction bodies: the CLI, the price feed and tests
// build them here. Nonce secrets are the caller's to keep and to use once.
import { toHex } from '../../core/encoding.js';
import { serializeEvent, type EventFields } from './announcement.js';
import { announcementMessage, outcomeMessage, randomScalar, registrationMessage, signWithNonce, xOnly, type OracleProfile } from './bip340.js';
import { decomposeValue, nonceCount, type DigitShape } from './digits.js';
import type { AnnounceBody, AttestBody, RegisterBody } from './txs.js';

/** A BIP340 signature with a fresh random nonce (the nonce is discarded at once). */
function signOnce(message: Uint8Array, secret: Uint8Array): string {
  return toHex(signWithNonce(message, secret, randomScalar()));
}

export function registerBodyFor(secret: Uint8Array, chain: string, account: string, profile: OracleProfile, name: string): RegisterBody {
  return { pubkey: toHex(xOnly(secret)), profile, name, proof: signOnce(registrationMessage(chain, account), secret) };
}

/** Fresh nonce secrets for an event of this shape (one per digit, one more for the sign). */
export function newNonceSecrets(shape: DigitShape): Uint8Array[] {
  return Array.from({ length: nonceCount(shape) }, () => randomScalar());
}

export function announceBodyFor(secret: Uint8Array, profile: OracleProfile, fields: Omit<EventFields, 'nonces'>, nonceSecrets: readonly Uint8Array[]): AnnounceBody {
  const e: EventFields = { ...fields, nonces: nonceSecrets.map((k) => toHex(xOnly(k))) };
  const sig = signOnce(announcementMessage(profile, serializeEvent(e)), secret);
  return { oracle: toHex(xOnly(secret)), ...e, nonces: [...e.nonces], sig };
}

/** The attestation of `value` (clamped to the event's range; `clamped` says it was beyond). */
export function attestBodyFor(
  secret: Uint8Array, profile: OracleProfile, event: DigitShape & { eventId: string }, value: bigint, nonceSecrets: readonly Uint8Array[],
): AttestBody & { clamped: boolean } {
  const { outcomes, clamped } = decomposeValue(event, value);
  const sigs = outcomes.map((o, i) => toHex(signWithNonce(outcomeMessage(profile, o), secret, nonceSecrets[i]!)));
  return { oracle: toHex(xOnly(secret)), eventId: event.eventId, outcomes, sigs, clamped };
}
