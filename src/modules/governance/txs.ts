// The governance module's transaction types: propose, deposit, vote. parse() checks
// shapes and bounds (a refusal at admission changes nothing); apply() checks against
// state and the validator set (a failure is recorded, uses the nonce, changes nothing else).
import { decode, int, object, oneOf, optional, string, unknownValue, type Decoder } from '../../core/decode.js';
import { parsePositiveAmount } from '../../core/amount.js';
import { fail, TallyError } from '../../core/errors.js';
import { fromB64u } from '../../core/encoding.js';
import { assertStrongPublicKey } from '../../core/keys.js';
import { nobleBls } from '../../core/bls.js';
import type { TxContext, TxEvent, TxType } from '../../chain/module.js';
import type { GovernanceDeps } from './deps.js';
import { addDeposit } from './deposits.js';
import { govFail } from './errors.js';
import { governanceLimits } from './limits.js';
import { governanceParams, inBounds, isParamName, PARAMS, type ParamSpec } from './params.js';
import {
  depositKey, getProposal, NEXT_ID_KEY, OPEN_COUNT_KEY, PROPOSAL_ID_MAX, proposalKey, queueKey, VOTE_OPTIONS, voteKey,
  type Proposal, type ProposalContent, type VoteOption, type VoteRecord,
} from './state.js';
import type { ValidatorEntry } from './validator-set.js';

const body = <T>(schema: Decoder<T>) => (raw: unknown): T => decode(schema, raw, 'bad_body', 'body');
const proposalId = int({ min: 1, max: PROPOSAL_ID_MAX, what: 'a proposal id (a positive integer)' });
const DIGITS = /^(0|[1-9][0-9]{0,15})$/;

// ---------------------------------------------------------------------------------------
// propose

export interface ProposeBody {
  content: ProposalContent;
  /** the proposer's initial deposit, minor units */
  deposit: bigint;
}

const kindOf = body(object({ kind: oneOf(['param', 'validator', 'text'] as const) }));
const paramBody = body(object({
  kind: oneOf(['param'] as const),
  name: string({ maxLength: 64, what: 'a parameter name' }),
  value: unknownValue, // an integer; for money also a decimal string of minor units (checked below)
  deposit: unknownValue, // parsePositiveAmount gives amount_invalid / amount_zero / ...
}));
const validatorBody = body(object({
  kind: oneOf(['validator'] as const),
  action: oneOf(['add', 'remove', 'power'] as const),
  key: string({ maxLength: 64, what: "the validator's Ed25519 public key (base64url)" }),
  blsKey: optional(string({ maxLength: 64, what: 'a BLS12-381 public key (48 bytes, base64url)' })),
  pop: optional(string({ maxLength: 128, what: 'a proof of possession (96 bytes, base64url)' })),
  power: optional(int({ min: 1, max: governanceLimits.validatorPowerMax, what: `a voting power from 1 to ${governanceLimits.validatorPowerMax}` })),
  deposit: unknownValue,
}));
const textBody = body(object({
  kind: oneOf(['text'] as const),
  title: string({ nonBlank: true, maxBytes: governanceLimits.titleBytesMax, what: `a title of 1-${governanceLimits.titleBytesMax} bytes` }),
  body: string({ nonEmpty: false, maxBytes: governanceLimits.textBodyBytesMax, what: 'a string' }),
  deposit: unknownValue,
}));

/** Decode binary with the refusal governance gives (bad_validator_key), naming the field. */
function b64u(text: string, what: string, bytes: number): Uint8Array {
  try {
    return fromB64u(text, what, bytes);
  } catch (err) {
    if (err instanceof TallyError) govFail('bad_validator_key', err.message);
    throw err;
  }
}

function paramValue(name: string, raw: unknown): number {
  if (!isParamName(name)) govFail('param_unknown', `no chain parameter "${name}" (known: ${Object.keys(PARAMS).join(', ')})`);
  const spec: ParamSpec = PARAMS[name];
  let value: number;
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) value = raw;
  else if (spec.minorUnits && typeof raw === 'string' && DIGITS.test(raw)) value = Number(raw);
  else fail('bad_body', `body.value must be an integer${spec.minorUnits ? ' or a decimal string of minor units' : ''}`, { details: { field: 'value', path: 'body.value' } });
  if (!inBounds(name, value)) govFail('param_out_of_bounds', `${name} must be from ${spec.min} to ${spec.max}, not ${value}`, { min: spec.min, max: spec.max });
  return value;
}

function parseContent(raw: Record<string, unknown>): { content: ProposalContent; deposit: unknown } {
  const { kind } = kindOf({ kind: raw.kind });
  if (kind === 'param') {
    const b = paramBody(raw);
    return { content: { kind, name: b.name, value: paramValue(b.name, b.value) }, deposit: b.deposit };
  }
  if (kind === 'text') {
    const b = textBody(raw);
    return { content: { kind, title: b.title, body: b.body }, deposit: b.deposit };
  }
  const b = validatorBody(raw);
  b64u(b.key, 'body.key', 32);
  try {
    assertStrongPublicKey(b.key);
  } catch (err) {
    if (err instanceof TallyError) govFail('bad_validator_key', `body.key: ${err.message}`);
    throw err;
  }
  const must = (field: 'blsKey' | 'pop' | 'power', present: boolean) => {
    if ((b[field] !== undefined) !== present) {
      fail('bad_body', `body.${field} ${present ? 'is missing: action' : 'is not allowed with action'} "${b.action}"${present ? ' needs it' : ''}`, { details: { field, path: `body.${field}` } });
    }
  };
  if (b.action === 'add') {
    must('blsKey', true); must('pop', true); must('power', true);
    b64u(b.blsKey!, 'body.blsKey', 48);
    b64u(b.pop!, 'body.pop', 96);
    return { content: { kind, action: 'add', key: b.key, blsKey: b.blsKey!, pop: b.pop!, power: b.power! }, deposit: b.deposit };
  }
  must('blsKey', false); must('pop', false);
  if (b.action === 'remove') {
    must('power', false);
    return { content: { kind, action: 'remove', key: b.key }, deposit: b.deposit };
  }
  must('power', true);
  return { content: { kind, action: 'power', key: b.key, power: b.power! }, deposit: b.deposit };
}

/** What can be checked of a validator proposal against the set in force (execution checks again). */
function checkAgainstSet(content: ProposalContent, set: readonly ValidatorEntry[]): void {
  if (content.kind !== 'validator') return;
  const present = set.some((v) => v.key === content.key);
  if (content.action === 'add') {
    if (present) govFail('validator_exists', `validator ${content.key} is already in the set`);
    // The proof is checked here, once, so a proposal that could never execute is never voted on.
    const blsKey = b64u(content.blsKey, 'body.blsKey', 48);
    try {
      nobleBls.checkPublicKey(blsKey);
    } catch (err) {
      if (err instanceof TallyError) govFail('bad_validator_key', `body.blsKey: ${err.message}`);
      throw err;
    }
    if (!nobleBls.popVerify(blsKey, b64u(content.pop, 'body.pop', 96))) govFail('bad_pop', 'body.pop is not a proof of possession of body.blsKey');
    return;
  }
  if (!present) govFail('validator_unknown', `validator ${content.key} is not in the set`);
  if (content.action === 'remove' && set.length === 1) govFail('last_validator', `validator ${content.key} is the last one: the set cannot be left empty`);
}

export function propose(deps: GovernanceDeps): TxType<ProposeBody> {
  return {
    type: 'governance.propose',
    parse(raw, chain) {
      const { content, deposit } = parseContent(raw);
      return { content, deposit: parsePositiveAmount(deposit, chain.decimals, 'body.deposit') };
    },
    apply(ctx, b) {
      const params = governanceParams(ctx.state);
      const open = ctx.state.get<number>(OPEN_COUNT_KEY) ?? 0;
      if (open >= governanceLimits.proposalsOpenMax) govFail('too_many_proposals', `${open} proposals are open, the most the chain keeps`);
      const minInitial = (BigInt(params.minDeposit) * BigInt(params.minInitialDepositPct) + 99n) / 100n;
      if (b.deposit < minInitial) govFail('deposit_too_small', `the initial deposit must be at least ${minInitial} minor units (${params.minInitialDepositPct}% of minDeposit ${params.minDeposit})`, { min: minInitial.toString() });
      if (b.content.kind === 'validator') checkAgainstSet(b.content, ctx.keeper(deps.validators).list());
      const id = ctx.state.get<number>(NEXT_ID_KEY) ?? 1;
      const depositEnd = ctx.height + params.depositPeriodBlocks - 1;
      const created: Proposal = {
        id, proposer: ctx.tx.from, content: b.content, status: 'deposit', submitted: ctx.height, depositEnd, deposit: '0', depositors: 0,
      };
      ctx.state.set(NEXT_ID_KEY, id + 1);
      ctx.state.set(OPEN_COUNT_KEY, open + 1);
      ctx.state.set(queueKey('dep', depositEnd, id), id);
      const events: TxEvent[] = [{ type: 'governance.proposed', proposal: id, proposer: ctx.tx.from, kind: b.content.kind, depositEnd }];
      const p = addDeposit(ctx, deps, created, ctx.tx.from, b.deposit, params, events);
      ctx.state.set(proposalKey(id), p);
      return events;
    },
  };
}

// ---------------------------------------------------------------------------------------
// deposit

export interface DepositBody {
  proposal: number;
  amount: bigint;
}

const depositBody = body(object({ proposal: proposalId, amount: unknownValue }));

export function deposit(deps: GovernanceDeps): TxType<DepositBody> {
  return {
    type: 'governance.deposit',
    parse(raw, chain) {
      const b = depositBody(raw);
      return { proposal: b.proposal, amount: parsePositiveAmount(b.amount, chain.decimals, 'body.amount') };
    },
    apply(ctx, b) {
      const p = getProposal(ctx.state, b.proposal);
      if (!p) govFail('unknown_proposal', `no proposal ${b.proposal}`);
      const ends = p.status === 'deposit' ? p.depositEnd : p.status === 'voting' ? p.votingEnd! : -1;
      if (ctx.height > ends) govFail('proposal_closed', `proposal ${p.id} is ${p.status}: it takes no more deposits`);
      const from = ctx.tx.from;
      if (p.depositors >= governanceLimits.depositorsMax && ctx.state.get(depositKey(p.id, from)) === undefined) {
        govFail('too_many_depositors', `proposal ${p.id} has ${p.depositors} depositors, the most it keeps`);
      }
      const events: TxEvent[] = [];
      ctx.state.set(proposalKey(p.id), addDeposit(ctx, deps, p, from, b.amount, governanceParams(ctx.state), events));
      return events;
    },
  };
}

// ---------------------------------------------------------------------------------------
// vote

export interface VoteBody {
  proposal: number;
  option: VoteOption;
}

const voteBody = body(object({ proposal: proposalId, option: oneOf(VOTE_OPTIONS) }));

/**
 * Only validators vote: the signer's public key (the envelope's `pub`) must be a key of the
 * current validator set, not jailed. The vote is filed under that validator key, so a
 * later vote replaces an earlier one, and weighs the validator's power in the set in force
 * at the tally. Voting by other accounts (delegators, token holders) is not supported.
 */
export function vote(deps: GovernanceDeps): TxType<VoteBody> {
  return {
    type: 'governance.vote',
    parse: (raw) => voteBody(raw),
    apply(ctx: TxContext, b) {
      const p = getProposal(ctx.state, b.proposal);
      if (!p) govFail('unknown_proposal', `no proposal ${b.proposal}`);
      // A tally the hook could not finish (its writes dropped) is retried next block: no vote after votingEnd counts.
      if (p.status !== 'voting' || ctx.height > p.votingEnd!) govFail('not_voting_period', `proposal ${p.id} is ${p.status}, not in its voting period`);
      const v = ctx.keeper(deps.validators).list().find((e) => e.key === ctx.pub);
      if (!v) govFail('not_validator', 'only validators vote: the signing key is not in the validator set');
      if (v.jailed) govFail('validator_jailed', `validator ${v.key} is jailed and cannot vote`);
      const key = voteKey(p.id, v.key);
      const replaced = ctx.state.get<VoteRecord>(key);
      ctx.state.set(key, { option: b.option, account: ctx.tx.from, power: v.power, height: ctx.height } satisfies VoteRecord);
      return [{ type: 'governance.voted', proposal: p.id, validator: v.key, option: b.option, power: v.power, ...(replaced ? { replaced: replaced.option } : {}) }];
    },
  };
}

export function governanceTxTypes(deps: GovernanceDeps): TxType[] {
  return [propose(deps), deposit(deps), vote(deps)] as TxType[];
}
