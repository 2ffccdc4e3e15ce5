// The registry of chain parameters that governance may change: one entry per parameter,
// with its type (an integer), bounds, default and a one-line doc. Nothing else declares a
// governable parameter. A value is in state under "governance/param/<name>" only once
// genesis or an executed proposal set it; until then the default is in force.
//
// Other code reads a parameter with governanceParam(state, name): the node is to read
// maxBlockTxs there (and keep under the core's own limits.blockTxCountMax).
import type { StateReader } from '../../chain/state.js';

export interface ParamSpec {
  /** inclusive bounds; a proposal outside them is refused when it is made */
  min: number;
  max: number;
  default: number;
  doc: string;
  /** money in minor units: also accepted as a decimal string of digits ("1000") */
  minorUnits?: boolean;
}

export const PARAMS = {
  maxBlockTxs: { min: 1, max: 16_000, default: 16_000, doc: 'most transactions a proposer puts in one block (the node also keeps to its own limit)' },
  votingPeriodBlocks: { min: 10, max: 1_000_000, default: 100, doc: 'blocks a proposal is open to votes, counted from the block its deposit reached minDeposit' },
  depositPeriodBlocks: { min: 10, max: 1_000_000, default: 100, doc: 'blocks a proposal has to reach minDeposit before it expires (its deposits are burned)' },
  minDeposit: { min: 1, max: 1_000_000_000_000_000, default: 1000, minorUnits: true, doc: 'total deposit, in minor units, that opens a proposal to votes' },
  minInitialDepositPct: { min: 0, max: 100, default: 25, doc: "the proposer's own deposit must be at least this percent of minDeposit (rounded up; keeps spam out of the open slots)" },
  quorumPct: { min: 1, max: 100, default: 33, doc: 'percent of the total (unjailed) power that must vote, abstain included' },
  thresholdPct: { min: 50, max: 99, default: 50, doc: 'a proposal passes when yes is more than this percent of yes + no + veto' },
  vetoPct: { min: 1, max: 100, default: 33, doc: 'a proposal is vetoed (its deposits burned) when veto is more than this percent of the power that voted' },
  executionDelayBlocks: { min: 1, max: 100_000, default: 10, doc: 'blocks between the tally of a passed proposal and its execution (in beginBlock)' },
} as const satisfies Record<string, ParamSpec>;

export type ParamName = keyof typeof PARAMS;
export type Params = Record<ParamName, number>;

export const PARAM_NAMES = Object.keys(PARAMS).sort() as ParamName[];

export const PARAM_PREFIX = 'governance/param/';
export const paramKey = (name: ParamName): string => `${PARAM_PREFIX}${name}`;

export function isParamName(name: string): name is ParamName {
  return Object.hasOwn(PARAMS, name);
}

export function inBounds(name: ParamName, value: number): boolean {
  const spec: ParamSpec = PARAMS[name];
  return Number.isSafeInteger(value) && value >= spec.min && value <= spec.max;
}

/**
 * A parameter's value in force in `state` (the committed state, or a block's view): the
 * value genesis or the last executed proposal wrote, else the default. `state` may be
 * the whole state or a reader confined to "governance/".
 */
export function governanceParam(state: Pick<StateReader, 'get'>, name: ParamName): number {
  return state.get<number>(paramKey(name)) ?? PARAMS[name].default;
}

/** Every parameter's value in force. */
export function governanceParams(state: Pick<StateReader, 'get'>): Params {
  const out = {} as Params;
  for (const name of PARAM_NAMES) out[name] = governanceParam(state, name);
  return out;
}
