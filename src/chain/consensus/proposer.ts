// Who proposes at (height, round): a round robin weighted by voting power, as CometBFT
// does it. Each validator holds a priority; one step adds every validator's power to its
// priority, picks the highest (ties: the lowest index) and takes the total power from the
// one picked. Over total-power steps each validator is picked power times, and the picks
// interleave instead of coming in runs. Priorities always sum to zero, so they stay within
// [-total, total] and never need rescaling while the set is unchanged.
import { assert } from '../../core/errors.js';

export type Priorities = readonly number[];

/** One step: the index picked and the priorities after it. */
export function advance(powers: readonly number[], priorities: Priorities): { picked: number; next: number[] } {
  assert(powers.length > 0 && powers.length === priorities.length, 'one priority per validator');
  const total = powers.reduce((a, b) => a + b, 0);
  const next = priorities.map((p, i) => p + powers[i]!);
  let picked = 0;
  for (let i = 1; i < next.length; i++) if (next[i]! > next[picked]!) picked = i;
  next[picked]! -= total;
  return { picked, next };
}

/**
 * Proposers by height: the first height starts from zero priorities and each height begins
 * one step after the last (whatever round decided it), so every node computes the same
 * schedule from the validator set alone. Only the latest height reached is kept: heights
 * are asked in order, and an earlier one is recomputed from the start.
 */
export class ProposerSchedule {
  private height: number;
  private priorities: number[];

  constructor(
    private readonly powers: readonly number[],
    private readonly firstHeight = 0,
  ) {
    assert(powers.length > 0 && powers.every((p) => Number.isSafeInteger(p) && p > 0), 'voting powers are positive integers');
    this.height = firstHeight;
    this.priorities = powers.map(() => 0);
  }

  private prioritiesAt(height: number): number[] {
    assert(height >= this.firstHeight, 'a height at or after the schedule starts');
    if (height < this.height) {
      this.height = this.firstHeight;
      this.priorities = this.powers.map(() => 0);
    }
    for (; this.height < height; this.height++) this.priorities = advance(this.powers, this.priorities).next;
    return this.priorities;
  }

  /** The proposer of (height, round): round + 1 steps from the height's priorities. */
  proposer(height: number, round: number): number {
    assert(Number.isSafeInteger(round) && round >= 0, 'a round is a non-negative integer');
    let priorities: Priorities = this.prioritiesAt(height);
    let picked = 0;
    for (let r = 0; r <= round; r++) ({ picked, next: priorities } = advance(this.powers, priorities));
    return picked;
  }
}
