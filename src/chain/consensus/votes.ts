// The votes of one height, by round and type, with tallies kept as votes arrive (a quorum
// check is a map lookup). A validator that votes twice in one slot for different values has
// equivocated: the second vote is evidence, and it also counts towards its own value. That
// is safe (two quorums for different values share more than 1/3 of the power, so an honest
// validator would have voted twice) and it is needed for liveness: an equivocator that
// shows its two votes to different halves would otherwise leave a quorum that some
// validators locked on invisible to the rest (CometBFT tracks conflicting votes for the
// same reason). A slot keeps at most VALUES_PER_SLOT_MAX values, so memory stays bounded.
import type { Equivocation, ValidatorIndex, Vote } from './types.js';

const NIL = '\u0000nil';
export const VALUES_PER_SLOT_MAX = 4;
const keyOf = (value: string | null): string => (value === null ? NIL : value);

class RoundVotes {
  /** each validator's votes in this round, the first one first */
  readonly byValidator = new Map<ValidatorIndex, Vote[]>();
  readonly powerByValue = new Map<string, number>();
  /** the power of every validator that voted, whatever for */
  power = 0;
}

export class HeightVotes {
  private readonly rounds = { prevote: new Map<number, RoundVotes>(), precommit: new Map<number, RoundVotes>() };
  /** one piece of evidence per (validator, round, type) is enough to jail it */
  private readonly reported = new Set<string>();

  constructor(private readonly powers: readonly number[]) {}

  private roundOf(type: Vote['type'], round: number, create: true): RoundVotes;
  private roundOf(type: Vote['type'], round: number, create: false): RoundVotes | undefined;
  private roundOf(type: Vote['type'], round: number, create: boolean): RoundVotes | undefined {
    const byRound = this.rounds[type];
    let r = byRound.get(round);
    if (!r && create) byRound.set(round, (r = new RoundVotes()));
    return r;
  }

  /**
   * Records a vote. Returns 'added', 'duplicate' (the same vote again) or an equivocation
   * (a different value from a validator that already voted: the first stays counted).
   */
  add(vote: Vote): 'added' | 'duplicate' | { equivocation: Equivocation | undefined } {
    const r = this.roundOf(vote.type, vote.round, true);
    const power = this.powers[vote.validator]!;
    const before = r.byValidator.get(vote.validator);
    if (before?.some((v) => v.value === vote.value)) return 'duplicate';
    const k = keyOf(vote.value);
    if (!before) {
      r.byValidator.set(vote.validator, [vote]);
      r.power += power;
      r.powerByValue.set(k, (r.powerByValue.get(k) ?? 0) + power);
      return 'added';
    }
    if (before.length < VALUES_PER_SLOT_MAX) {
      before.push(vote);
      r.powerByValue.set(k, (r.powerByValue.get(k) ?? 0) + power);
    }
    const key = `${vote.type}/${vote.round}/${vote.validator}`;
    if (this.reported.has(key)) return { equivocation: undefined };
    this.reported.add(key);
    return { equivocation: { first: before[0]!, second: vote } };
  }

  /** Voting power behind `value` (null: nil) in a round. */
  powerFor(type: Vote['type'], round: number, value: string | null): number {
    return this.roundOf(type, round, false)?.powerByValue.get(keyOf(value)) ?? 0;
  }

  /** Voting power of everyone who voted in a round, for anything. */
  powerAny(type: Vote['type'], round: number): number {
    return this.roundOf(type, round, false)?.power ?? 0;
  }

  /** The votes for `value` in a round (a decision's certificate). */
  votesFor(type: Vote['type'], round: number, value: string | null): Vote[] {
    const r = this.roundOf(type, round, false);
    return r ? [...r.byValidator.values()].flatMap((vs) => vs.filter((v) => v.value === value)) : [];
  }

  /** Block ids with any precommit in a round (candidates for a decision). */
  precommittedValues(round: number): string[] {
    const r = this.roundOf('precommit', round, false);
    return r ? [...r.powerByValue.keys()].filter((k) => k !== NIL) : [];
  }

  /** Rounds that hold votes of a type. */
  roundsWith(type: Vote['type']): number[] {
    return [...this.rounds[type].keys()];
  }

  /** Validators that voted (either type) in a round. */
  votersIn(round: number): Set<ValidatorIndex> {
    const out = new Set<ValidatorIndex>();
    for (const type of ['prevote', 'precommit'] as const) for (const v of this.roundOf(type, round, false)?.byValidator.keys() ?? []) out.add(v);
    return out;
  }

  /** Every counted vote (for re-gossip to a peer that missed them). */
  all(): Vote[] {
    const out: Vote[] = [];
    for (const type of ['prevote', 'precommit'] as const) for (const r of this.rounds[type].values()) for (const vs of r.byValidator.values()) out.push(...vs);
    return out;
  }
}
