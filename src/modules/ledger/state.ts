// The ledger's state, under the "ledger/" key prefix. Balances are decimal strings of
// minor units in storage (JSON has no bigint) and bigint in code.
import { fail } from '../../core/errors.js';
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
}

export const accountKey = (id: string): string => `ledger/acct/${id}`;
export const nameKey = (name: string): string => `ledger/name/${name}`;

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

export function validName(name: unknown): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    fail('name_invalid', 'a name is 1-32 characters: a lowercase letter, then lowercase letters, digits, "_" or "-"', { status: 400 });
  }
  if (name === MINT_NAME) fail('name_reserved', `"${MINT_NAME}" is reserved`, { status: 400 });
  return name;
}

/** Double entry: every balance, the mint's included, sums to zero; only the mint is negative. */
export function ledgerInvariants(entries: Iterable<[string, string]>): string[] {
  const problems: string[] = [];
  let sum = 0n;
  for (const [k, v] of entries) {
    if (!k.startsWith('ledger/acct/')) continue;
    const acct = JSON.parse(v) as LedgerAccount;
    const balance = BigInt(acct.balance);
    sum += balance;
    if (balance < 0n && k !== accountKey(MINT_ID)) problems.push(`account ${acct.name} has a negative balance ${acct.balance}`);
  }
  if (sum !== 0n) problems.push(`balances sum to ${sum} minor units, not zero`);
  return problems;
}
