// The ledger's state, under the "ledger/" key prefix. Balances are decimal strings of
// minor units in storage (JSON has no bigint) and bigint in code.
import { assert, fail } from '../../core/errors.js';
import { toHex } from '../../core/encoding.js';
import { hashText } from '../../core/hash.js';
import { ACCOUNT_ID } from '../../core/keys.js';
import { limits } from '../../core/limits.js';
import type { StateReader, StateView } from '../../chain/state.js';

export const MINT_ID = '0'.repeat(40);
export const MINT_NAME = 'mint';
export const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

export interface LedgerAccount {
  name: string;
  /** minor units, decimal string; only the mint may be negative */
  balance: string;
  /** height of the block that registered it (0 = genesis) */
  created: number;
  /** minor units held by open disputes (part of balance, not spendable); absent = 0 */
  held?: string;
}

/** A committed ledger.send, kept so it can be contested (the state alone decides a contest). */
export interface TransferRecord {
  /** its transaction id */
  id: string;
  from: string;
  to: string;
  /** minor units */
  amount: string;
  /** block time, unix ms */
  time: number;
  /** the dispute opened against it, if any */
  dispute?: number;
}

export type DisputeStatus = 'open' | 'escalated' | 'reversed' | 'dismissed';
export const DISPUTE_STATUSES: DisputeStatus[] = ['open', 'escalated', 'reversed', 'dismissed'];

export interface Dispute {
  id: number;
  /** the contested ledger.send */
  transfer: string;
  from: string;
  to: string;
  /** minor units of the transfer */
  amount: string;
  openedBy: string;
  reason: string;
  opened: { height: number; time: number };
  status: DisputeStatus;
  /** accounts that seconded, in order */
  seconds: string[];
  /** minor units held on the receiver when the dispute opened (at most its available balance) */
  hold: string;
  resolution?: { by: string; action: 'reverse' | 'dismiss'; note: string; height: number; time: number; reversed: string; shortfall: string };
}

export const accountKey = (id: string): string => `ledger/acct/${id}`;
export const nameKey = (name: string): string => `ledger/name/${name}`;
/**
 * Keyed by chain position, not by transaction id: positions only grow, so these records
 * append to the end of the state table instead of landing on random pages (measured with
 * `npm run bench:storage`: about 8 us more per transfer, against 56 us keyed by id).
 */
export const transferKey = (height: number, index: number): string => `ledger/xfer/${String(height).padStart(12, '0')}.${String(index).padStart(4, '0')}`;
export const disputeKey = (n: number): string => `ledger/dispute/${n}`;
/** How many disputes exist; dispute ids are 1..count. */
export const DISPUTE_COUNT_KEY = 'ledger/disputes';
export const inviteKey = (id: string): string => `ledger/invite/${id}`;

export function heldOf(acct: LedgerAccount): bigint {
  return BigInt(acct.held ?? '0');
}

/** What the account may spend: its balance less what disputes hold. */
export function availableOf(acct: LedgerAccount): bigint {
  return BigInt(acct.balance) - heldOf(acct);
}

export function disputeCount(state: StateReader): number {
  return state.get<number>(DISPUTE_COUNT_KEY) ?? 0;
}

export function getDispute(state: StateReader, n: number): Dispute | undefined {
  return state.get<Dispute>(disputeKey(n));
}

/** The hold of one owner (a module: "ledger" for disputes, "markets" for margin) on an account. */
export const holdKey = (id: string, owner: string): string => `ledger/hold/${id}/${owner}`;

/**
 * Change what `owner` holds on an account by delta (positive to hold, negative to
 * release). The account's `held` is the sum over owners, so the available balance is one
 * read; each owner's share is its own row, so invariants tell a dispute's hold from margin.
 */
export function adjustHeld(state: StateView, id: string, delta: bigint, owner = 'ledger'): void {
  const acct = getAccount(state, id)!;
  const held = heldOf(acct) + delta;
  const next: LedgerAccount = { ...acct };
  if (held === 0n) delete next.held;
  else next.held = held.toString();
  state.set(accountKey(id), next);
  const own = BigInt(state.get<string>(holdKey(id, owner)) ?? '0') + delta;
  if (own === 0n) state.delete(holdKey(id, owner));
  else state.set(holdKey(id, owner), own.toString());
}

export function getAccount(state: StateReader, id: string): LedgerAccount | undefined {
  return state.get<LedgerAccount>(accountKey(id));
}

/** Resolve "alice" or a 40-hex account id to an account id, or undefined. */
export function resolveAccount(state: StateReader, ref: string): string | undefined {
  if (ACCOUNT_ID.test(ref)) return getAccount(state, ref) ? ref : undefined;
  return state.get<string>(nameKey(ref));
}

export function createAccount(state: StateView, id: string, name: string, height: number): void {
  state.set(accountKey(id), { name, balance: '0', created: height } satisfies LedgerAccount);
  state.set(nameKey(name), id);
}

/** Double-entry move of minor units; the caller has checked the sender's funds. */
export function transfer(state: StateView, fromId: string, toId: string, amount: bigint): void {
  const from = getAccount(state, fromId)!;
  const to = getAccount(state, toId)!;
  const toBalance = BigInt(to.balance) + amount;
  if (toBalance > limits.amountMinorMax) fail('balance_overflow', 'the receiver balance would exceed the largest amount', { status: 422 });
  state.set(accountKey(fromId), { ...from, balance: (BigInt(from.balance) - amount).toString() });
  state.set(accountKey(toId), { ...to, balance: toBalance.toString() });
}

/** A module account's id: 40 hex of BLAKE3("tally/module-account/<module>/<label>"), never a key's id in practice. */
export function moduleAccountId(module: string, label: string): string {
  return toHex(hashText(`tally/module-account/${module}/${label}`)).slice(0, 40);
}

/** A module's own account: "<module>:<label>" (":" keeps it out of NAME_PATTERN, so no member takes the name). */
export const MODULE_ACCOUNT_NAME = /^[a-z][a-z0-9]*:[a-z][a-z0-9_-]{0,31}$/;

export function createModuleAccount(state: StateView, id: string, name: string, height: number): void {
  assert(MODULE_ACCOUNT_NAME.test(name), `module account name ${name}`);
  createAccount(state, id, name, height);
}

export function validName(name: unknown): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    fail('name_invalid', 'a name is 1-32 characters: a lowercase letter, then lowercase letters, digits, "_" or "-"', { status: 400 });
  }
  if (name === MINT_NAME) fail('name_reserved', `"${MINT_NAME}" is reserved`, { status: 400 });
  return name;
}

/**
 * Double entry: every balance, the mint's included, sums to zero; only the mint is
 * negative. Holds: never negative, never more than the balance, an account's `held` is the
 * sum of its holds by owner, and the ledger's own holds are exactly what its unresolved
 * disputes hold.
 */
export function ledgerInvariants(entries: Iterable<[string, string]>): string[] {
  const problems: string[] = [];
  let sum = 0n;
  const held = new Map<string, { name: string; held: bigint }>();
  const disputeHolds = new Map<string, bigint>();
  const ownerHolds = new Map<string, bigint>();
  const ledgerHolds = new Map<string, bigint>();
  for (const [k, v] of entries) {
    if (k.startsWith('ledger/acct/')) {
      const acct = JSON.parse(v) as LedgerAccount;
      const balance = BigInt(acct.balance);
      sum += balance;
      if (balance < 0n && k !== accountKey(MINT_ID)) problems.push(`account ${acct.name} has a negative balance ${acct.balance}`);
      const h = heldOf(acct);
      if (h < 0n) problems.push(`account ${acct.name} holds a negative amount ${h}`);
      if (h > 0n && h > balance) problems.push(`account ${acct.name} holds ${h}, more than its balance ${acct.balance}`);
      held.set(k.slice('ledger/acct/'.length), { name: acct.name, held: h });
    } else if (k.startsWith('ledger/hold/')) {
      const [id, owner] = k.slice('ledger/hold/'.length).split('/') as [string, string];
      const amount = BigInt(JSON.parse(v) as string);
      if (amount <= 0n) problems.push(`the hold of ${owner} on ${id} is ${amount}, not positive`);
      ownerHolds.set(id, (ownerHolds.get(id) ?? 0n) + amount);
      if (owner === 'ledger') ledgerHolds.set(id, amount);
    } else if (k.startsWith('ledger/dispute/')) {
      const d = JSON.parse(v) as Dispute;
      if (d.status === 'open' || d.status === 'escalated') disputeHolds.set(d.to, (disputeHolds.get(d.to) ?? 0n) + BigInt(d.hold));
    }
  }
  if (sum !== 0n) problems.push(`balances sum to ${sum} minor units, not zero`);
  for (const [id, a] of held) {
    const owners = ownerHolds.get(id) ?? 0n;
    if (a.held !== owners) problems.push(`account ${a.name} holds ${a.held}, but its holds by owner add up to ${owners}`);
    const expected = disputeHolds.get(id) ?? 0n;
    if ((ledgerHolds.get(id) ?? 0n) !== expected) problems.push(`account ${a.name}: disputes hold ${ledgerHolds.get(id) ?? 0n}, but its open disputes hold ${expected}`);
  }
  for (const [id, amount] of disputeHolds) {
    if (!held.has(id) && amount !== 0n) problems.push(`open disputes hold ${amount} on ${id}, which has no account`);
  }
  for (const id of ownerHolds.keys()) if (!held.has(id)) problems.push(`holds on ${id}, which has no account`);
  return problems;
}
