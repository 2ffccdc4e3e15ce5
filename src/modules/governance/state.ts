// The governance module's state, under "governance/". Proposals are numbered from 1 and
// keyed by their id padded to 12 digits, so key order is id order. While a proposal is
// open it also has deposit records (one per depositor), vote records (one per validator
// key), and one entry in a queue keyed by the height its next step is due; those rows are
// deleted when it closes, leaving the proposal record (with its final tally) alone.
import type { StateReader } from '../../chain/state.js';

export type VoteOption = 'yes' | 'no' | 'abstain' | 'veto';
export const VOTE_OPTIONS: readonly VoteOption[] = ['yes', 'no', 'abstain', 'veto'];

export type ValidatorAction = 'add' | 'remove' | 'power';

export type ProposalContent =
  | { kind: 'param'; name: string; value: number }
  | { kind: 'validator'; action: 'add'; key: string; blsKey: string; pop: string; power: number }
  | { kind: 'validator'; action: 'remove'; key: string }
  | { kind: 'validator'; action: 'power'; key: string; power: number }
  | { kind: 'text'; title: string; body: string };

/**
 * deposit → voting → passed → executed | failed;  deposit → expired;
 * voting → rejected | vetoed | no_quorum.
 */
export type ProposalStatus = 'deposit' | 'voting' | 'passed' | 'rejected' | 'vetoed' | 'no_quorum' | 'expired' | 'executed' | 'failed';
export const OPEN_STATUSES: readonly ProposalStatus[] = ['deposit', 'voting', 'passed'];
/** Statuses whose deposits are still held. */
export const HOLDING_STATUSES: readonly ProposalStatus[] = ['deposit', 'voting'];

/** Voting power by option, decimal strings (sums of powers). */
export interface TallyCounts {
  yes: string;
  no: string;
  abstain: string;
  veto: string;
}

export interface Proposal {
  id: number;
  /** the proposing account */
  proposer: string;
  content: ProposalContent;
  status: ProposalStatus;
  /** height of the propose transaction */
  submitted: number;
  /** the deposit period's last height (endBlock): the proposal expires then if still in 'deposit' */
  depositEnd: number;
  /** total deposited, minor units (decimal string) */
  deposit: string;
  depositors: number;
  votingStart?: number;
  /** the voting period's last height: tallied in its endBlock */
  votingEnd?: number;
  /** the final tally (powers of the set in force at votingEnd; totalPower: its unjailed validators) */
  tally?: TallyCounts & { totalPower: string; height: number };
  /** what became of the deposits when the proposal closed to deposits */
  deposits?: 'refunded' | 'burned';
  /** passed: the height whose beginBlock executes it */
  executeAt?: number;
  /** failed: the code (and message) of the refusal */
  execution?: { height: number; code?: string; message?: string };
}

export interface VoteRecord {
  option: VoteOption;
  /** the account that signed the vote */
  account: string;
  /** the validator's power when it voted (the final tally reweighs with the set at votingEnd) */
  power: number;
  height: number;
}

export type QueueKind = 'dep' | 'vote' | 'exec';

const pad = (n: number): string => String(n).padStart(12, '0');

export const NEXT_ID_KEY = 'governance/next';
export const PROPOSAL_PREFIX = 'governance/p/';
export const proposalKey = (id: number): string => `${PROPOSAL_PREFIX}${pad(id)}`;
export const depositPrefix = (id: number): string => `governance/d/${pad(id)}/`;
export const depositKey = (id: number, account: string): string => `${depositPrefix(id)}${account}`;
export const votePrefix = (id: number): string => `governance/v/${pad(id)}/`;
export const voteKey = (id: number, validatorKey: string): string => `${votePrefix(id)}${validatorKey}`;
export const queuePrefix = (kind: QueueKind): string => `governance/q/${kind}/`;
export const queueKey = (kind: QueueKind, height: number, id: number): string => `${queuePrefix(kind)}${pad(height)}/${pad(id)}`;
/** The number of open proposals (OPEN_STATUSES), kept so that propose checks the bound in one read. */
export const OPEN_COUNT_KEY = 'governance/open';

export const PROPOSAL_ID_MAX = 999_999_999_999;

export function getProposal(state: Pick<StateReader, 'get'>, id: number): Proposal | undefined {
  return Number.isSafeInteger(id) && id >= 1 && id <= PROPOSAL_ID_MAX ? state.get<Proposal>(proposalKey(id)) : undefined;
}

/** The height and id of a queue key. */
export function parseQueueKey(key: string): { height: number; id: number } {
  const [height, id] = key.split('/').slice(-2) as [string, string];
  return { height: Number(height), id: Number(id) };
}
