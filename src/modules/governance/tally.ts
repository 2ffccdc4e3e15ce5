// The tally rule, as a pure function of the voting powers and the parameters in force at
// the voting period's last block. Integer arithmetic only (bigint): a percentage
// comparison a/b > p% is a*100 > p*b, so no rounding decides an outcome.
//
//   quorum:    voted * 100 >= quorumPct * total         (voted = yes + no + abstain + veto)
//   veto:      veto * 100 > vetoPct * voted             → vetoed (deposits burned)
//   threshold: yes * 100 > thresholdPct * (yes + no + veto) → passed
//   otherwise rejected (also when everyone abstained).
// A tally without quorum (or with total 0) is no_quorum (deposits burned).
export interface Powers {
  yes: bigint;
  no: bigint;
  abstain: bigint;
  veto: bigint;
  /** the total power of the unjailed validators */
  total: bigint;
}

export type Outcome = 'passed' | 'rejected' | 'vetoed' | 'no_quorum';

export function decide(p: Powers, params: { quorumPct: number; thresholdPct: number; vetoPct: number }): Outcome {
  const voted = p.yes + p.no + p.abstain + p.veto;
  if (p.total === 0n || voted === 0n || voted * 100n < BigInt(params.quorumPct) * p.total) return 'no_quorum';
  if (p.veto * 100n > BigInt(params.vetoPct) * voted) return 'vetoed';
  const decisive = p.yes + p.no + p.veto;
  if (decisive > 0n && p.yes * 100n > BigInt(params.thresholdPct) * decisive) return 'passed';
  return 'rejected';
}

/** Deposits are refunded when the voters decided (passed or rejected), burned when they vetoed or did not turn up. */
export const burnsDeposits = (o: Outcome): boolean => o === 'vetoed' || o === 'no_quorum';
