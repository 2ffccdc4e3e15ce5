// Governance's block hooks. beginBlock executes the passed proposals whose execution
// height has come; endBlock expires proposals whose deposit period ended short of
// minDeposit and tallies those whose voting period ends at this block. Each step is due
// by a queue entry keyed by its height, and a step due at or before this height runs now:
// should a hook fail as a whole (the executor then drops its writes), the next block
// catches up instead of skipping the step. At most governanceLimits.proposalsOpenMax
// entries exist in all queues together, so the work per block is bounded.
import type { BlockContext, TxEvent } from '../../chain/module.js';
import { assert, TallyError } from '../../core/errors.js';
import type { GovernanceDeps } from './deps.js';
import { closeOne, settleDeposits } from './deposits.js';
import { governanceLimits } from './limits.js';
import { governanceParams, inBounds, isParamName, paramKey } from './params.js';
import { burnsDeposits, decide } from './tally.js';
import {
  getProposal, parseQueueKey, proposalKey, queueKey, queuePrefix, votePrefix, type Proposal, type QueueKind, type VoteRecord,
} from './state.js';

/** Queue entries of `kind` due at or before this block, in (height, id) order. */
function due(ctx: BlockContext, kind: QueueKind): Array<{ key: string; height: number; id: number }> {
  // Never more entries than open proposals; should a later version lower the bound below
  // what is open, the rest wait for the next blocks (each step leaves its queue when it runs).
  const rows = ctx.state.entries<number>(queuePrefix(kind), { limit: governanceLimits.proposalsOpenMax });
  const out: Array<{ key: string; height: number; id: number }> = [];
  for (const [key] of rows) {
    const at = parseQueueKey(key);
    if (at.height > ctx.height) break;
    out.push({ key, ...at });
  }
  return out;
}

function proposalAt(ctx: BlockContext, id: number): Proposal {
  const p = getProposal(ctx.state, id);
  assert(p, `queued proposal ${id} does not exist`);
  return p;
}

export function governanceBeginBlock(deps: GovernanceDeps) {
  return (ctx: BlockContext): TxEvent[] => {
    const events: TxEvent[] = [];
    for (const q of due(ctx, 'exec')) {
      const p = proposalAt(ctx, q.id);
      assert(p.status === 'passed' && p.executeAt === q.height, `proposal ${p.id} queued for execution is ${p.status}`);
      ctx.state.delete(q.key);
      closeOne(ctx);
      let done: Proposal;
      try {
        execute(ctx, deps, p);
        done = { ...p, status: 'executed', execution: { height: ctx.height } };
        events.push({ type: 'governance.executed', proposal: p.id, kind: p.content.kind });
      } catch (err) {
        // A refusal (the keeper's, or a bound that changed) fails the proposal, not the
        // block; the keeper writes nothing when it refuses (validator-set.ts). Anything
        // else is a bug and stops the node.
        if (!(err instanceof TallyError)) throw err;
        done = { ...p, status: 'failed', execution: { height: ctx.height, code: err.code, message: err.message } };
        events.push({ type: 'governance.execution_failed', proposal: p.id, kind: p.content.kind, code: err.code });
      }
      ctx.state.set(proposalKey(p.id), done);
    }
    return events;
  };
}

function execute(ctx: BlockContext, deps: GovernanceDeps, p: Proposal): void {
  const c = p.content;
  if (c.kind === 'param') {
    // The registry is code: a later version may have narrowed a bound since the vote.
    if (!isParamName(c.name) || !inBounds(c.name, c.value)) throw new TallyError('param_out_of_bounds', `${c.name} = ${c.value} is no longer within its bounds`);
    ctx.state.set(paramKey(c.name), c.value);
  } else if (c.kind === 'validator') {
    const set = ctx.keeper(deps.validators);
    if (c.action === 'add') set.add({ key: c.key, blsKey: c.blsKey, pop: c.pop, power: c.power });
    else set.setPower(c.key, c.action === 'remove' ? 0 : c.power);
  }
  // text: a signal, nothing to do
}

export function governanceEndBlock(deps: GovernanceDeps) {
  return (ctx: BlockContext): TxEvent[] => {
    const events: TxEvent[] = [];
    // The parameters in force now: after this block's executions (beginBlock).
    const params = governanceParams(ctx.state);
    for (const q of due(ctx, 'dep')) {
      const p = proposalAt(ctx, q.id);
      assert(p.status === 'deposit' && p.depositEnd === q.height, `proposal ${p.id} queued for expiry is ${p.status}`);
      ctx.state.delete(q.key);
      closeOne(ctx);
      settleDeposits(ctx, deps, p, true, events);
      ctx.state.set(proposalKey(p.id), { ...p, status: 'expired', deposits: 'burned' } satisfies Proposal);
      events.push({ type: 'governance.expired', proposal: p.id });
    }
    const tallies = due(ctx, 'vote');
    if (tallies.length === 0) return events;
    const set = ctx.keeper(deps.validators).list();
    const power = new Map<string, number>();
    let total = 0n;
    for (const v of set) {
      if (v.jailed) continue;
      power.set(v.key, v.power);
      total += BigInt(v.power);
    }
    for (const q of tallies) {
      const p = proposalAt(ctx, q.id);
      assert(p.status === 'voting' && p.votingEnd === q.height, `proposal ${p.id} queued for its tally is ${p.status}`);
      ctx.state.delete(q.key);
      const counts = { yes: 0n, no: 0n, abstain: 0n, veto: 0n };
      const votes = ctx.state.entries<VoteRecord>(votePrefix(p.id), { limit: governanceLimits.votesMax + 1 });
      assert(votes.length <= governanceLimits.votesMax, `proposal ${p.id} has more than ${governanceLimits.votesMax} votes`);
      for (const [key, v] of votes) {
        // The power in force now: a validator removed or jailed since it voted weighs nothing.
        counts[v.option] += BigInt(power.get(key.slice(votePrefix(p.id).length)) ?? 0);
        ctx.state.delete(key);
      }
      const outcome = decide({ ...counts, total }, params);
      const tally = { yes: counts.yes.toString(), no: counts.no.toString(), abstain: counts.abstain.toString(), veto: counts.veto.toString(), totalPower: total.toString(), height: ctx.height };
      const burn = burnsDeposits(outcome);
      settleDeposits(ctx, deps, p, burn, events);
      const next: Proposal = { ...p, status: outcome, tally, deposits: burn ? 'burned' : 'refunded' };
      if (outcome === 'passed') {
        next.executeAt = ctx.height + params.executionDelayBlocks;
        ctx.state.set(queueKey('exec', next.executeAt, p.id), p.id);
      } else {
        closeOne(ctx);
      }
      ctx.state.set(proposalKey(p.id), next);
      events.push({ type: 'governance.tallied', proposal: p.id, outcome, ...tally, ...(next.executeAt !== undefined ? { executeAt: next.executeAt } : {}) });
    }
    return events;
  };
}
