// The ledger's transaction types. parse() runs at admission (a refusal changes nothing);
// apply() runs in the sequencer and in replay (a failure is recorded, uses the nonce and
// changes nothing else). Everything apply() decides on is in the state, so a replay
// decides the same.
import { formatAmount, parsePositiveAmount } from '../../core/amount.js';
import { fail } from '../../core/errors.js';
import { decode, int, map, object, oneOf, optional, string, unknownValue, withCode, type Decoder } from '../../core/decode.js';
import { toHex } from '../../core/encoding.js';
import { hashText } from '../../core/hash.js';
import { ACCOUNT_ID } from '../../core/keys.js';
import { limits } from '../../core/limits.js';
import type { TxContext, TxType } from '../../chain/module.js';
import type { StateReader } from '../../chain/state.js';
import type { AccountKeys } from '../../chain/module.js';
import { adminIds, type LedgerGenesis } from './genesis.js';
import { inviteSignatureValid, parseInvite, type Invite, type InvitePayload } from './invites.js';
import {
  adjustHeld, availableOf, createAccount, disputeCount, DISPUTE_COUNT_KEY, disputeKey, getAccount, getDispute, heldOf, inviteKey, MINT_ID, MINT_NAME,
  NAME_PATTERN, nameKey, resolveAccount, transfer, transferKey, validName, accountKey,
  type Dispute, type LedgerAccount, type TransferRecord,
} from './state.js';

type Event = { type: string; [k: string]: unknown };

/** Longest contest reason, resolution note and statement label, in UTF-8 bytes. */
export const NOTE_BYTES_MAX = 256;
/** Longest statement text in UTF-8 bytes (the whole transaction must fit limits.txBytesMax). */
export const STATEMENT_BYTES_MAX = 2048;
export const DIGEST_PATTERN = /^(blake3|sha256):[0-9a-f]{64}$/;
const TX_ID = /^[0-9a-f]{64}$/;
const RECIPIENT = new RegExp(`${ACCOUNT_ID.source}|${NAME_PATTERN.source}`);

// Body schemas: an unknown field is `bad_body`; each field refuses with the code clients
// already switch on (`bad_recipient`, `memo_too_long`, ...).
const body = <T>(schema: Decoder<T>) => (raw: unknown): T => decode(schema, raw, 'bad_body', 'body');

/** A non-blank note of at most maxBytes: `<field>_invalid`, `<field>_too_long`. */
const note = (field: string, maxBytes: number) =>
  withCode(`${field}_invalid`, string({ nonBlank: true, maxBytes, tooLongCode: `${field}_too_long`, what: 'a non-empty string' }));

/** A dispute number is a JSON integer (the CLI turns "#3" into 3 before signing). */
const disputeNumber = withCode('bad_dispute_id', int({ min: 1, what: 'a dispute number (1, 2, ...)' }));

const name = map(unknownValue, (v) => validName(v));

function genesisOf(ctx: { params: TxContext['params'] }): LedgerGenesis {
  return ctx.params.moduleGenesis('ledger') as LedgerGenesis;
}

function member(ctx: TxContext): LedgerAccount {
  const acct = getAccount(ctx.state, ctx.tx.from);
  if (!acct) fail('not_registered', 'the signing key has no ledger account; register first', { status: 403 });
  return acct;
}

const amountText = (ctx: TxContext, minor: bigint | string): string => formatAmount(BigInt(minor), ctx.params.decimals);

// ---------------------------------------------------------------------------------------
// register, rename

function registrationOpen(g: LedgerGenesis): void {
  if (g.registration.policy === 'closed') fail('registration_closed', 'this chain does not accept new registrations', { status: 403 });
}

/** An invite's checks against state and a time (block time in apply, the clock at admission); its payload if it may be used. */
function checkInvite(state: StateReader, accounts: AccountKeys, chain: string, g: LedgerGenesis, invite: Invite | undefined, timeMs: number): InvitePayload {
  if (!invite) fail('invite_required', 'this chain registers members by invitation: ask an admin for an invite code', { status: 403 });
  const p = invite.payload;
  if (p.chain !== chain) fail('invite_invalid', `the invite is for chain "${p.chain}"`, { status: 403 });
  if (!adminIds(g).has(p.admin)) fail('invite_invalid', 'the invite is not from an admin of this chain', { status: 403 });
  const adminPub = accounts.pubOf(p.admin);
  if (!adminPub || !inviteSignatureValid(invite, adminPub)) fail('invite_invalid', 'the invite signature does not verify', { status: 403 });
  if (p.expires * 1000 < timeMs) fail('invite_expired', 'the invite has expired; ask the admin for a new one', { status: 403 });
  if (state.get(inviteKey(p.id)) !== undefined) fail('invite_used', 'the invite has already been used', { status: 409 });
  return p;
}
const registerBody = body(object({ name, invite: optional(map(unknownValue, (v) => parseInvite(v))) }));

export const register: TxType<{ name: string; invite?: Invite }> = {
  type: 'ledger.register',
  opensAccount: true,
  parse(raw) {
    return registerBody(raw);
  },
  /**
   * A key the chain has never seen is refused here what apply() would certainly fail: on a
   * closed chain, or without a valid unused invite. Such a refusal writes nothing (a failed
   * registration would leave the key an auth row and take a block slot). Only checks whose
   * answer cannot turn to success later: the policy is fixed, admins' keys are genesis
   * keys, an invite once used stays used, block time never runs behind this clock. The
   * name is not checked: a rename ahead in the same block may free it. A known key keeps
   * today's behaviour (its registration fails in a block and uses its nonce).
   */
  admit(ctx, { invite }) {
    if (ctx.known) return;
    const g = genesisOf(ctx);
    registrationOpen(g);
    if (g.registration.policy === 'invite') checkInvite(ctx.state, ctx.accounts, ctx.params.chain, g, invite, ctx.nowMs);
  },
  apply(ctx, { name, invite }) {
    const g = genesisOf(ctx);
    registrationOpen(g);
    if (getAccount(ctx.state, ctx.tx.from)) fail('already_registered', 'this key already has an account', { status: 409 });
    if (ctx.state.get(nameKey(name)) !== undefined) fail('name_taken', `the name "${name}" is taken`, { status: 409 });
    const events: Event[] = [];
    if (g.registration.policy === 'invite') {
      const p = checkInvite(ctx.state, ctx.accounts, ctx.params.chain, g, invite, ctx.timeMs);
      ctx.state.set(inviteKey(p.id), { account: ctx.tx.from, height: ctx.height });
      events.push({ type: 'ledger.invite_used', invite: p.id, admin: p.admin });
    }
    createAccount(ctx.state, ctx.tx.from, name, ctx.height);
    events.unshift({ type: 'ledger.registered', account: ctx.tx.from, name });
    const grant = g.registration.grant === '0' ? 0n : parsePositiveAmount(g.registration.grant, ctx.params.decimals);
    if (grant > 0n) {
      transfer(ctx.state, MINT_ID, ctx.tx.from, grant);
      events.push({ type: 'ledger.transfer', from: MINT_ID, to: ctx.tx.from, amount: amountText(ctx, grant) });
    }
    return events;
  },
};

const renameBody = body(object({ name }));

export const rename: TxType<{ name: string }> = {
  type: 'ledger.rename',
  parse(raw) {
    return renameBody(raw);
  },
  apply(ctx, { name }) {
    const acct = member(ctx);
    if (acct.name === name) fail('name_unchanged', `the account is already named "${name}"`, { status: 409 });
    if (ctx.state.get(nameKey(name)) !== undefined) fail('name_taken', `the name "${name}" is taken`, { status: 409 });
    ctx.state.delete(nameKey(acct.name));
    ctx.state.set(nameKey(name), ctx.tx.from);
    ctx.state.set(accountKey(ctx.tx.from), { ...acct, name });
    return [{ type: 'ledger.renamed', account: ctx.tx.from, old: acct.name, name }];
  },
};

// ---------------------------------------------------------------------------------------
// send

export interface SendBody {
  to: string;
  amount: bigint;
  memo?: string;
}

const sendBody = body(object({
  to: withCode('bad_recipient', string({ pattern: RECIPIENT, maxLength: 40, what: 'an account name or a 40-hex account id' })),
  amount: unknownValue, // parsePositiveAmount gives amount_invalid / amount_zero
  memo: optional(withCode('memo_invalid', string({ nonEmpty: false, maxBytes: limits.memoBytesMax, tooLongCode: 'memo_too_long', what: 'a string' }))),
}));

export const send: TxType<SendBody> = {
  type: 'ledger.send',
  parse(raw, params) {
    const b = sendBody(raw);
    // Coins sent to the mint would be burnt where no dispute can bring them back.
    if (b.to === MINT_NAME || b.to === MINT_ID) fail('cannot_send_to_mint', 'the mint cannot receive transfers', { status: 422 });
    const out: SendBody = { to: b.to, amount: parsePositiveAmount(b.amount, params.decimals, 'body.amount') };
    if (b.memo !== undefined) out.memo = b.memo;
    return out;
  },
  apply(ctx, { to, amount, memo }) {
    const from = ctx.tx.from;
    const sender = member(ctx);
    const toId = resolveAccount(ctx.state, to);
    if (!toId) fail('unknown_account', `no account "${to}"`, { status: 404 });
    if (toId === from) fail('self_transfer', 'an account cannot send to itself', { status: 422 });
    const available = availableOf(sender);
    if (available < amount) {
      const held = heldOf(sender);
      fail('insufficient_funds', `available ${amountText(ctx, available)}${held > 0n ? ` (${amountText(ctx, held)} more is held by disputes)` : ''}, needed ${amountText(ctx, amount)}`, { status: 422 });
    }
    transfer(ctx.state, from, toId, amount);
    ctx.state.set(transferKey(ctx.height, ctx.index), { id: ctx.id, from, to: toId, amount: amount.toString(), time: ctx.timeMs } satisfies TransferRecord);
    const event: Event = { type: 'ledger.transfer', from, to: toId, amount: amountText(ctx, amount) };
    if (memo !== undefined) event.memo = memo;
    return [event];
  },
};

// ---------------------------------------------------------------------------------------
// sign: a statement recorded on chain

export interface SignBody {
  text?: string;
  digest?: string;
  label?: string;
}

/** The digest a statement commits to: the given one, or BLAKE3 of its UTF-8 text. */
export function statementDigest(body: SignBody): string {
  return body.digest ?? `blake3:${toHex(hashText(body.text!))}`;
}

const signBody = body(object({
  text: optional(withCode('statement_invalid', string({ maxBytes: STATEMENT_BYTES_MAX, tooLongCode: 'statement_too_long' }))),
  digest: optional(withCode('statement_invalid', string({ pattern: DIGEST_PATTERN, maxLength: 71, what: '"blake3:<64 hex>" or "sha256:<64 hex>"' }))),
  label: optional(note('label', NOTE_BYTES_MAX)),
}));

export const sign: TxType<SignBody> = {
  type: 'ledger.sign',
  parse(raw) {
    const b = signBody(raw);
    if ((b.text === undefined) === (b.digest === undefined)) fail('statement_invalid', 'a statement has exactly one of "text" or "digest"');
    return b;
  },
  apply(ctx, body) {
    member(ctx);
    return [{ type: 'ledger.statement', account: ctx.tx.from, digest: statementDigest(body) }];
  },
};

// ---------------------------------------------------------------------------------------
// disputes: contest, second, resolve

export interface ContestBody {
  transfer: string;
  /** where the transfer is in the chain: its receipt's height and index */
  height: number;
  index: number;
  reason: string;
}

const contestBody = body(object({
  transfer: withCode('bad_transfer_id', string({ pattern: TX_ID, maxLength: 64, what: 'the 64-hex id of a ledger.send transaction' })),
  // where the transfer is in the chain: its receipt's block height and index
  height: withCode('bad_transfer_id', int({ min: 1, what: "the transfer receipt's block height (>= 1)" })),
  index: withCode('bad_transfer_id', int({ min: 0, max: 4095, what: "the transfer receipt's index (0-4095)" })),
  reason: note('reason', NOTE_BYTES_MAX),
}));

export const contest: TxType<ContestBody> = {
  type: 'ledger.contest',
  parse(raw) {
    return contestBody(raw);
  },
  apply(ctx, { transfer: txId, height, index, reason }) {
    member(ctx);
    const g = genesisOf(ctx);
    const key = transferKey(height, index);
    const t = ctx.state.get<TransferRecord>(key);
    if (!t || t.id !== txId) fail('transfer_not_found', `no committed ledger.send ${txId} at block ${height}, index ${index} (only ledger.send transfers can be contested)`, { status: 404 });
    if (ctx.tx.from !== t.from && ctx.tx.from !== t.to) fail('not_a_party', 'only the sender or the receiver of a transfer may contest it', { status: 403 });
    if (t.dispute !== undefined) fail('already_contested', `the transfer is already disputed (dispute ${t.dispute})`, { status: 409, details: { dispute: t.dispute } });
    const windowMs = g.disputes.contestWindowSecs * 1000;
    if (ctx.timeMs - t.time > windowMs) {
      fail('contest_window_closed', `transfers may be contested for ${g.disputes.contestWindowSecs} s; this one is ${Math.floor((ctx.timeMs - t.time) / 1000)} s old`, { status: 409 });
    }
    const receiver = getAccount(ctx.state, t.to)!;
    const available = availableOf(receiver);
    const amount = BigInt(t.amount);
    const hold = available <= 0n ? 0n : available < amount ? available : amount;
    const id = disputeCount(ctx.state) + 1;
    const dispute: Dispute = {
      id, transfer: txId, from: t.from, to: t.to, amount: t.amount, openedBy: ctx.tx.from, reason,
      opened: { height: ctx.height, time: ctx.timeMs }, status: 'open', seconds: [], hold: hold.toString(),
    };
    ctx.state.set(DISPUTE_COUNT_KEY, id);
    ctx.state.set(disputeKey(id), dispute);
    ctx.state.set(key, { ...t, dispute: id });
    if (hold > 0n) adjustHeld(ctx.state, t.to, hold);
    return [{ type: 'ledger.dispute_opened', dispute: id, transfer: txId, from: t.from, to: t.to, amount: amountText(ctx, amount), held: amountText(ctx, hold) }];
  },
};

function openDispute(ctx: TxContext, n: number): Dispute {
  const d = getDispute(ctx.state, n);
  if (!d) fail('dispute_not_found', `no dispute ${n}`, { status: 404 });
  if (d.status !== 'open' && d.status !== 'escalated') fail('dispute_closed', `dispute ${n} is already ${d.status}`, { status: 409 });
  return d;
}

const secondBody = body(object({ dispute: disputeNumber }));

export const second: TxType<{ dispute: number }> = {
  type: 'ledger.second',
  parse(raw) {
    return secondBody(raw);
  },
  apply(ctx, { dispute: n }) {
    member(ctx);
    const d = openDispute(ctx, n);
    const me = ctx.tx.from;
    if (me === d.from || me === d.to) fail('party_cannot_second', 'a party to the transfer cannot second its dispute', { status: 403 });
    if (d.seconds.includes(me)) fail('already_seconded', `this account already seconded dispute ${n}`, { status: 409 });
    const seconds = [...d.seconds, me];
    const required = genesisOf(ctx).disputes.secondsRequired;
    const status = d.status === 'open' && seconds.length >= required ? 'escalated' : d.status;
    ctx.state.set(disputeKey(n), { ...d, seconds, status } satisfies Dispute);
    const events: Event[] = [{ type: 'ledger.dispute_seconded', dispute: n, account: me, seconds: seconds.length }];
    if (status !== d.status) events.push({ type: 'ledger.dispute_escalated', dispute: n });
    return events;
  },
};

export type ResolveAction = 'reverse' | 'dismiss';

const resolveBody = body(object({
  dispute: disputeNumber,
  action: withCode('bad_action', oneOf(['reverse', 'dismiss'] as const)),
  note: note('note', NOTE_BYTES_MAX),
}));

export const resolve: TxType<{ dispute: number; action: ResolveAction; note: string }> = {
  type: 'ledger.resolve',
  parse(raw) {
    return resolveBody(raw);
  },
  apply(ctx, { dispute: n, action, note }) {
    member(ctx);
    if (!adminIds(genesisOf(ctx)).has(ctx.tx.from)) fail('not_admin', 'only an admin of this chain may resolve disputes', { status: 403 });
    const d = openDispute(ctx, n);
    const hold = BigInt(d.hold);
    if (hold > 0n) adjustHeld(ctx.state, d.to, -hold);
    const events: Event[] = [];
    let reversed = 0n;
    if (action === 'reverse' && hold > 0n) {
      // A compensating entry: what the hold secured goes back. History is not edited.
      transfer(ctx.state, d.to, d.from, hold);
      reversed = hold;
      events.push({ type: 'ledger.transfer', from: d.to, to: d.from, amount: amountText(ctx, hold), dispute: n });
    }
    const shortfall = action === 'reverse' ? BigInt(d.amount) - reversed : 0n;
    const status = action === 'reverse' ? 'reversed' : 'dismissed';
    ctx.state.set(disputeKey(n), {
      ...d, status,
      resolution: { by: ctx.tx.from, action, note, height: ctx.height, time: ctx.timeMs, reversed: reversed.toString(), shortfall: shortfall.toString() },
    } satisfies Dispute);
    events.unshift({ type: 'ledger.dispute_resolved', dispute: n, action, from: d.from, to: d.to, reversed: amountText(ctx, reversed), shortfall: amountText(ctx, shortfall) });
    return events;
  },
};

export const ledgerTxTypes = [register, rename, send, sign, contest, second, resolve] as TxType[];
