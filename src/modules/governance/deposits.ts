// Deposits: held on each depositor's ledger balance by the governance module (holds owned
// by "governance", so no other module can release them), one record per depositor, and
// settled once: released back (refund) or released and moved to the module account
// "governance:burned" (burn). The ledger has no way to destroy money — every balance,
// module accounts included, sums to zero — so a burn is a transfer to an account that no
// key controls and that this module never pays out of: the funds leave circulation and
// stay visible.
import type { BlockContext, TxEvent } from '../../chain/module.js';
import { assert } from '../../core/errors.js';
import { formatAmount } from '../../core/amount.js';
import type { GovernanceDeps } from './deps.js';
import { governanceLimits } from './limits.js';
import type { Params } from './params.js';
import { depositKey, depositPrefix, OPEN_COUNT_KEY, queueKey, type Proposal } from './state.js';

/** The label of the module account burned deposits go to ("governance:burned"). */
export const BURN_LABEL = 'burned';

/** Hold `amount` on `account` for proposal `p` and return the proposal as it now stands. */
export function addDeposit(ctx: BlockContext, deps: GovernanceDeps, p: Proposal, account: string, amount: bigint, params: Params, events: TxEvent[]): Proposal {
  const ledger = ctx.keeper(deps.ledger);
  const key = depositKey(p.id, account);
  const before = BigInt(ctx.state.get<string>(key) ?? '0');
  events.push(ledger.hold(account, amount));
  ctx.state.set(key, (before + amount).toString());
  const total = BigInt(p.deposit) + amount;
  let next: Proposal = { ...p, deposit: total.toString(), depositors: p.depositors + (before === 0n ? 1 : 0) };
  events.push({ type: 'governance.deposited', proposal: p.id, account, amount: formatAmount(amount, ctx.params.decimals), total: formatAmount(total, ctx.params.decimals) });
  if (next.status === 'deposit' && total >= BigInt(params.minDeposit)) {
    ctx.state.delete(queueKey('dep', next.depositEnd, next.id));
    const votingEnd = ctx.height + params.votingPeriodBlocks - 1;
    ctx.state.set(queueKey('vote', votingEnd, next.id), next.id);
    next = { ...next, status: 'voting', votingStart: ctx.height, votingEnd };
    events.push({ type: 'governance.voting_started', proposal: p.id, votingEnd });
  }
  return next;
}

/** Release every deposit of `p` (refund), or release and move it to governance:burned (burn); delete the records. */
export function settleDeposits(ctx: BlockContext, deps: GovernanceDeps, p: Proposal, burn: boolean, events: TxEvent[]): void {
  const ledger = ctx.keeper(deps.ledger);
  const rows = ctx.state.entries<string>(depositPrefix(p.id), { limit: governanceLimits.depositorsMax + 1 });
  assert(rows.length === p.depositors, `proposal ${p.id} counts ${p.depositors} depositors but has ${rows.length} deposit records`);
  const sink = burn ? ledger.moduleAccount(BURN_LABEL) : undefined;
  let total = 0n;
  for (const [key, amountText] of rows) {
    const account = key.slice(depositPrefix(p.id).length);
    const amount = BigInt(amountText);
    total += amount;
    events.push(ledger.release(account, amount));
    if (sink) events.push(ledger.transfer(account, sink, amount));
    ctx.state.delete(key);
  }
  assert(total === BigInt(p.deposit), `proposal ${p.id} deposit records add up to ${total}, not ${p.deposit}`);
  events.push({ type: burn ? 'governance.deposits_burned' : 'governance.deposits_refunded', proposal: p.id, amount: formatAmount(total, ctx.params.decimals), ...(sink ? { to: sink } : {}) });
}

/** Count a proposal leaving the open statuses. */
export function closeOne(ctx: BlockContext): void {
  const open = ctx.state.get<number>(OPEN_COUNT_KEY) ?? 0;
  assert(open > 0, 'a proposal closes while none is open');
  if (open === 1) ctx.state.delete(OPEN_COUNT_KEY);
  else ctx.state.set(OPEN_COUNT_KEY, open - 1);
}
