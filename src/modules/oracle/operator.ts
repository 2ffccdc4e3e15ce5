// What an oracle operator does, shared by `tally oracle announce|attest` and the price
// feed: announce an event with fresh nonces (kept before the announcement leaves), and
// attest it once (the outcome recorded before the signatures leave; another outcome for
// the same event is refused for ever).
import { fail, TallyError } from '../../core/errors.js';
import { toHex } from '../../core/encoding.js';
import type { CliContext } from '../../chain/app-module.js';
import type { Receipt } from '../../chain/module.js';
import { randomScalar, xOnly, type OracleProfile } from './bip340.js';
import { decimalToOutcome, decomposeValue, nonceCount, type DigitShape } from './digits.js';
import { hasEventSecrets, loadEventSecrets, saveEventSecrets } from './keyfile.js';
import { announceBodyFor, attestBodyFor } from './sign.js';
import type { EventRecord, OracleRecord } from './state.js';

type Opts = Record<string, unknown>;

export interface Operator {
  home: string;
  keyName: string;
  secret: Uint8Array;
  pubkey: string;
}

export interface EventShape extends DigitShape {
  eventId: string;
  maturity: number;
  unit: string;
  precision: number;
}

async function maybe<T>(p: Promise<T>, code: string): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof TallyError && err.code === code) return undefined;
    throw err;
  }
}

export async function oracleOnChain(cli: CliContext, pubkey: string, opts: Opts): Promise<OracleRecord> {
  const o = await maybe(cli.query('oracle.get', { oracle: pubkey }, opts) as Promise<OracleRecord>, 'unknown_oracle');
  if (!o) fail('unknown_oracle', `oracle ${pubkey} is not registered on this chain`, { status: 404, hint: 'register it first: `tally oracle register`' });
  return o;
}

export async function eventOnChain(cli: CliContext, pubkey: string, eventId: string, opts: Opts): Promise<EventRecord | undefined> {
  return maybe(cli.query('oracle.event', { oracle: pubkey, eventId }, opts) as Promise<EventRecord>, 'unknown_event');
}

/** Announce an event with nonces made (and stored) here; a failed announcement may be retried with the same nonces. */
export async function announceEvent(cli: CliContext, op: Operator, event: EventShape, opts: Opts): Promise<{ receipt: Receipt; nonces: string[] }> {
  const o = await oracleOnChain(cli, op.pubkey, opts);
  if (o.status === 'frozen') fail('oracle_frozen', `oracle ${op.pubkey} was frozen by nonce-reuse evidence; it announces nothing more`, { status: 409 });
  if (await eventOnChain(cli, op.pubkey, event.eventId, opts)) fail('event_exists', `oracle ${op.pubkey} already announced event "${event.eventId}"`, { status: 409 });
  let secrets: Uint8Array[];
  if (hasEventSecrets(op.home, op.keyName, event.eventId)) {
    // Nonces made for an announcement that never landed: still unused, reuse them for this event only.
    const stored = loadEventSecrets(op.home, op.keyName, op.secret, op.pubkey, event.eventId);
    if (stored.signed || stored.nonces.length !== nonceCount(event)) fail('event_exists', `nonces for event "${event.eventId}" exist here and do not fit this announcement; choose another event id`, { status: 409 });
    secrets = stored.nonces.map((n) => Buffer.from(n, 'hex'));
  } else {
    secrets = Array.from({ length: nonceCount(event) }, () => randomScalar());
    saveEventSecrets(op.home, op.keyName, op.secret, op.pubkey, { eventId: event.eventId, nonces: secrets.map((k) => toHex(k)) }, true);
  }
  const body = announceBodyFor(op.secret, o.profile, event, secrets);
  const receipt = await cli.submitTx('oracle.announce', body as unknown as Opts, opts);
  return { receipt, nonces: secrets.map((k) => toHex(xOnly(k))) };
}

export interface AttestResult {
  eventId: string;
  outcomes: string[];
  outcome: string;
  clamped: boolean;
  receipt?: Receipt;
  /** already attested on chain (nothing was submitted) */
  already?: boolean;
}

/** Attest `value` (decimal text, in the event's unit) for an event announced from this keystore. */
export async function attestEvent(cli: CliContext, op: Operator, eventId: string, value: string, opts: Opts, nowMs: number): Promise<AttestResult> {
  const o = await oracleOnChain(cli, op.pubkey, opts);
  const e = await eventOnChain(cli, op.pubkey, eventId, opts);
  if (!e) fail('unknown_event', `oracle ${op.pubkey} announced no event "${eventId}"`, { status: 404 });
  if (e.attestation) return { eventId, outcomes: e.attestation.outcomes, outcome: e.attestation.outcome, clamped: false, already: true };
  if (o.status === 'frozen') fail('oracle_frozen', `oracle ${op.pubkey} is frozen`, { status: 409 });
  if (nowMs < e.maturity * 1000) fail('event_not_mature', `event "${eventId}" matures at ${new Date(e.maturity * 1000).toISOString()}; nothing was signed`, { status: 409 });
  const stored = loadEventSecrets(op.home, op.keyName, op.secret, op.pubkey, eventId);
  const secrets = stored.nonces.map((n) => Buffer.from(n, 'hex'));
  if (secrets.length !== e.nonces.length || secrets.some((k, i) => toHex(xOnly(k)) !== e.nonces[i])) {
    fail('nonce_mismatch', `the nonces stored for "${eventId}" are not the ones the chain has for it; nothing was signed`, { status: 409 });
  }
  let outcome: bigint;
  try {
    outcome = decimalToOutcome(value, e.precision);
  } catch (err) {
    fail('bad_value', `${(err as Error).message}: give the value in ${e.unit} as a decimal number`);
  }
  const { outcomes, clamped } = decomposeValue(e, outcome);
  if (stored.signed && stored.signed.join(',') !== outcomes.join(',')) {
    fail('already_signed', `event "${eventId}" was already signed here for outcome ${stored.signed.join(' ')}; a nonce signs one outcome only (another would reveal the oracle key)`, {
      status: 409, hint: `re-run with the value first signed to resubmit it`,
    });
  }
  if (!stored.signed) saveEventSecrets(op.home, op.keyName, op.secret, op.pubkey, { ...stored, signed: outcomes }, false);
  const { clamped: _c, ...body } = attestBodyFor(op.secret, o.profile as OracleProfile, { ...e, eventId }, outcome, secrets);
  const receipt = await cli.submitTx('oracle.attest', body as unknown as Opts, opts);
  const attested = receipt.events.find((ev) => ev.type === 'oracle.attested') as { outcome?: string } | undefined;
  return { eventId, outcomes, outcome: attested?.outcome ?? '', clamped, receipt };
}
