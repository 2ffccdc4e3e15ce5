// The governance module's read-only queries (socket, HTTP and CLI alike). Proposals page
// by id: pass the previous page's `next` as `after`.
import { decode, int, object, optional, type Decoder } from '../../core/decode.js';
import { formatAmount } from '../../core/amount.js';
import type { Query } from '../../chain/module.js';
import { govFail } from './errors.js';
import { governanceLimits } from './limits.js';
import { governanceParam, PARAM_NAMES, PARAMS, type ParamSpec } from './params.js';
import {
  depositPrefix, getProposal, PROPOSAL_ID_MAX, PROPOSAL_PREFIX, proposalKey, votePrefix, type Proposal, type VoteRecord,
} from './state.js';

const params = <T>(schema: Decoder<T>) => (raw: Record<string, unknown>): T => decode(schema, raw, 'bad_query', 'params');
const id = int({ min: 1, max: PROPOSAL_ID_MAX, text: true, what: 'a proposal id' });

export const proposalsQuery: Query = {
  name: 'governance.proposals',
  summary: `proposals in id order, ${governanceLimits.pageDefault} a page (at most ${governanceLimits.pageMax}); page with after= (the previous page's next)`,
  run(ctx, raw) {
    const p = params(object({ after: optional(id), limit: optional(int({ min: 1, max: governanceLimits.pageMax, text: true })) }))(raw);
    const size = p.limit ?? governanceLimits.pageDefault;
    const rows = ctx.state.entries<Proposal>(PROPOSAL_PREFIX, { ...(p.after ? { after: proposalKey(p.after) } : {}), limit: size + 1 });
    const items = rows.slice(0, size).map(([, v]) => v);
    return { items, next: rows.length > size ? items[items.length - 1]!.id : null };
  },
};

export const proposalQuery: Query = {
  name: 'governance.proposal',
  summary: 'one proposal; while open, its deposits and its votes so far (weighed by each validator\'s power when it voted: the tally reweighs with the set in force at votingEnd)',
  run(ctx, raw) {
    const q = params(object({ id }))(raw);
    const p = getProposal(ctx.state, q.id);
    if (!p) govFail('unknown_proposal', `no proposal ${q.id}`);
    const money = (minor: string) => formatAmount(BigInt(minor), ctx.params.decimals);
    const deposits = ctx.state.entries<string>(depositPrefix(p.id), { limit: governanceLimits.depositorsMax })
      .map(([k, v]) => ({ account: k.slice(depositPrefix(p.id).length), amount: money(v) }));
    const votes = ctx.state.entries<VoteRecord>(votePrefix(p.id), { limit: governanceLimits.votesMax })
      .map(([k, v]) => ({ validator: k.slice(votePrefix(p.id).length), ...v }));
    const sum = { yes: 0n, no: 0n, abstain: 0n, veto: 0n };
    for (const v of votes) sum[v.option] += BigInt(v.power);
    return {
      ...p,
      depositAmount: money(p.deposit),
      deposits,
      votes,
      tallySoFar: { yes: sum.yes.toString(), no: sum.no.toString(), abstain: sum.abstain.toString(), veto: sum.veto.toString() },
    };
  },
};

export const paramsQuery: Query = {
  name: 'governance.params',
  summary: 'every governable chain parameter: value in force, default, bounds, doc',
  run(ctx, raw) {
    params(object({}))(raw);
    return PARAM_NAMES.map((name) => {
      const spec: ParamSpec = PARAMS[name];
      const value = governanceParam(ctx.state, name);
      return {
        name, value, default: spec.default, min: spec.min, max: spec.max, doc: spec.doc,
        ...(spec.minorUnits ? { amount: formatAmount(BigInt(value), ctx.params.decimals) } : {}),
      };
    });
  },
};

export const governanceQueries: Query[] = [proposalsQuery, proposalQuery, paramsQuery];
