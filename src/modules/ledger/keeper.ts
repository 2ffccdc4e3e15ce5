// The ledger's keeper: the only way another module moves or holds funds. It is bound to
// the block being executed and to the calling module, so a hold is always tagged with
// its owner (markets can never release a dispute's hold, nor a dispute a market's margin).
import { fail } from '../../core/errors.js';
import { assert } from '../../core/errors.js';
import type { BlockContext } from '../../chain/module.js';
import { formatAmount } from '../../core/amount.js';
import type { HoldEvent, TransferEvent } from './events.js';
import { adminIds, type LedgerGenesis } from './genesis.js';
import { limits } from '../../core/limits.js';
import { accountKey, adjustHeld, availableOf, createModuleAccount, getAccount, heldOf, holdKey, moduleAccountId, resolveAccount, transfer } from './state.js';

export interface LedgerKeeper {
  /** An account id from a name or an id, if the account exists. */
  resolve(ref: string): string | undefined;
  /** Balance, what all owners hold, and what is spendable, in minor units. */
  balance(account: string): { total: bigint; held: bigint; available: bigint } | undefined;
  /** What the calling module holds on the account. */
  heldBy(account: string): bigint;
  /**
   * Move spendable funds; fails `insufficient_funds` (a TallyError: the transaction fails).
   * Returns the `ledger.transfer` event: the caller puts it in its receipt's events, so
   * that whatever follows transfers (wallets, the tickets watcher) sees this one too.
   */
  transfer(from: string, to: string, amount: bigint): TransferEvent;
  /**
   * Pay several accounts from one (a settlement's payouts): the sender is read and written
   * once. All or nothing: fails `insufficient_funds` if the total is not available.
   */
  transferMany(from: string, payments: ReadonlyArray<{ to: string; amount: bigint }>): TransferEvent[];
  /** Hold part of the account's spendable balance for the calling module (its `ledger.hold` event). */
  hold(account: string, amount: bigint): HoldEvent;
  /** Release what the calling module holds, never more (its `ledger.release` event). */
  release(account: string, amount: bigint): HoldEvent;
  /**
   * The id of the calling module's account `label` (its fee pot, escrow, insurance fund),
   * opened with balance 0 on first use. It is named "<module>:<label>", a name no member
   * can register, and has no key: only the module moves its funds, through this keeper.
   */
  moduleAccount(label: string): string;
  /** Whether the account is an admin of the chain (a genesis admin, fixed by key). */
  isAdmin(account: string): boolean;
}

export function ledgerKeeper(ctx: BlockContext, caller: string): LedgerKeeper {
  const state = ctx.state;
  const money = (minor: bigint) => formatAmount(minor, ctx.params.decimals);
  const known = (id: string) => {
    const acct = getAccount(state, id);
    if (!acct) fail('unknown_account', `no ledger account ${id}`, { status: 404 });
    return acct;
  };
  return {
    resolve: (ref) => resolveAccount(state, ref),
    balance(account) {
      const acct = getAccount(state, account);
      if (!acct) return undefined;
      return { total: BigInt(acct.balance), held: heldOf(acct), available: availableOf(acct) };
    },
    heldBy: (account) => BigInt(state.get<string>(holdKey(account, caller)) ?? '0'),
    transfer(from, to, amount) {
      assert(amount > 0n, 'keeper transfers are positive');
      const sender = known(from);
      known(to);
      if (availableOf(sender) < amount) fail('insufficient_funds', `available ${availableOf(sender)} minor units, needed ${amount}`, { status: 422 });
      transfer(state, from, to, amount);
      return { type: 'ledger.transfer', from, to, amount: money(amount) };
    },
    transferMany(from, payments) {
      const sender = known(from);
      let total = 0n;
      for (const p of payments) {
        assert(p.amount > 0n && p.to !== from, 'keeper payments are positive, to another account');
        total += p.amount;
      }
      if (availableOf(sender) < total) fail('insufficient_funds', `available ${availableOf(sender)} minor units, needed ${total}`, { status: 422 });
      const events: TransferEvent[] = [];
      for (const p of payments) {
        const to = known(p.to);
        const balance = BigInt(to.balance) + p.amount;
        if (balance > limits.amountMinorMax) fail('balance_overflow', 'the receiver balance would exceed the largest amount', { status: 422 });
        state.set(accountKey(p.to), { ...to, balance: balance.toString() });
        events.push({ type: 'ledger.transfer', from, to: p.to, amount: money(p.amount) });
      }
      state.set(accountKey(from), { ...sender, balance: (BigInt(sender.balance) - total).toString() });
      return events;
    },
    hold(account, amount) {
      assert(amount > 0n, 'holds are positive');
      const acct = known(account);
      if (availableOf(acct) < amount) fail('insufficient_funds', `available ${availableOf(acct)} minor units, needed ${amount} to hold`, { status: 422 });
      adjustHeld(state, account, amount, caller);
      return { type: 'ledger.hold', account, owner: caller, amount: money(amount) };
    },
    release(account, amount) {
      assert(amount > 0n, 'releases are positive');
      const own = BigInt(state.get<string>(holdKey(account, caller)) ?? '0');
      assert(amount <= own, `${caller} releases ${amount} on ${account} but holds only ${own}`);
      adjustHeld(state, account, -amount, caller);
      return { type: 'ledger.release', account, owner: caller, amount: money(amount) };
    },
    moduleAccount(label) {
      const id = moduleAccountId(caller, label);
      if (!getAccount(state, id)) createModuleAccount(state, id, `${caller}:${label}`, ctx.height);
      return id;
    },
    isAdmin: (account) => adminIds(ctx.params.moduleGenesis('ledger') as LedgerGenesis).has(account),
  };
}
