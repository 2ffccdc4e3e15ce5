// The messages and outputs of the consensus state machine (tendermint.ts). They carry no
// signatures: the driver verifies a message's signature before it reaches the machine, and
// signs (after persisting, see sign-guard.ts) what the machine asks it to send. Values are
// opaque ids (a block's hash); the driver holds the blocks themselves.

/** A validator's position in the height's validator set (the order of the set's hash). */
export type ValidatorIndex = number;

export type Step = 'propose' | 'prevote' | 'precommit';

export interface Proposal {
  type: 'proposal';
  height: number;
  round: number;
  /** the proposed block's id */
  value: string;
  /** the round in which the proposer saw this value win a prevote quorum, or -1 */
  validRound: number;
  validator: ValidatorIndex;
}

export interface Vote {
  type: 'prevote' | 'precommit';
  height: number;
  round: number;
  /** a block id, or null for nil (no block this round) */
  value: string | null;
  validator: ValidatorIndex;
}

export type Message = Proposal | Vote;

/** Two votes of one validator at one height, round and type, for different values. */
export interface Equivocation {
  first: Vote;
  second: Vote;
}

export type Output =
  /** sign and broadcast (the machine has already counted its own message) */
  | { kind: 'send'; message: Message }
  /** call onTimeout(step, height, round) after afterMs */
  | { kind: 'timeout'; step: Step; height: number; round: number; afterMs: number }
  /** the height is decided: commit `value`; the proposal and `precommits` are what decided it */
  | { kind: 'decide'; height: number; round: number; value: string; proposal: Proposal; precommits: Vote[] }
  | { kind: 'evidence'; evidence: Equivocation };

export interface TimeoutsMs {
  /** each timeout is base + perRound * round: rounds after a failed one wait longer */
  proposeBase: number;
  proposePerRound: number;
  prevoteBase: number;
  prevotePerRound: number;
  precommitBase: number;
  precommitPerRound: number;
}

export const DEFAULT_TIMEOUTS_MS: Readonly<TimeoutsMs> = Object.freeze({
  proposeBase: 1000,
  proposePerRound: 500,
  prevoteBase: 500,
  prevotePerRound: 250,
  precommitBase: 500,
  precommitPerRound: 250,
});

/**
 * What the machine needs from its surroundings. All of it must be deterministic for a
 * given height: `valid` and `proposer` are asked again after a restart and must answer
 * the same.
 */
export interface Environment {
  /** voting power of each validator at this height (index = ValidatorIndex) */
  powers: readonly number[];
  /** the validator proposing at (height, round); see proposer.ts */
  proposer(height: number, round: number): ValidatorIndex;
  /** a new value to propose at `height` (the proposer's own block) */
  getValue(height: number): string;
  /** whether `value` is a valid block at `height` (re-executed by the driver) */
  valid(height: number, value: string): boolean;
  timeouts: TimeoutsMs;
}

/**
 * What a validator must have on disk before it signs anything, so that a restart resumes
 * its locks instead of forgetting them (a validator that forgets its lock may prevote
 * against it, and enough such validators break safety).
 */
export interface LockState {
  height: number;
  round: number;
  step: Step;
  lockedValue: string | null;
  lockedRound: number;
  validValue: string | null;
  validRound: number;
}
