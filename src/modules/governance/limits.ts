// The governance module's limits, declared once. Everything a block hook walks is bounded
// by them: at most PROPOSALS_OPEN_MAX proposals are open (in deposit, voting, or passed and
// waiting to execute), each with at most DEPOSITORS_MAX deposit records, so a tally or an
// execution pass does bounded work whatever the chain's history.
export const governanceLimits = Object.freeze({
  /** Proposals not yet closed (deposit, voting, passed awaiting execution). */
  proposalsOpenMax: 64,
  /** Distinct accounts that deposit on one proposal. */
  depositorsMax: 64,
  /** Votes read in one tally: more than any validator set governance may build (bounded by blsAggregateCountMax). */
  votesMax: 10_000,
  /** A text proposal's title and body, in UTF-8 bytes (a transaction is at most 4 KiB). */
  titleBytesMax: 140,
  textBodyBytesMax: 3000,
  /** A validator's voting power: a sum over votesMax validators stays an exact double. */
  validatorPowerMax: 1_000_000_000_000,
  /** Page size of governance.proposals. */
  pageMax: 100,
  pageDefault: 20,
});
