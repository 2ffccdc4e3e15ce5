// Bounds on the work one transaction or one block may make the markets module do. Every
// loop over orders or positions is bounded by one of these.
export const marketLimits = Object.freeze({
  /** Markets on a chain. */
  marketsMax: 1000,
  /** Oracles one market settles from (the median of their attestations). */
  oraclesPerMarketMax: 5,
  /** Fills one incoming order may make. */
  fillsPerOrderMax: 100,
  /** Resting orders one incoming order may look at (fills, self-trade expiries). */
  makersScannedMax: 200,
  /** Open orders of one account in one market. */
  openOrdersPerAccountMax: 100,
  /** Open positions in one market (settlement and funding walk them all in one block). */
  positionsPerMarketMax: 20_000,
  /** Positions checked for maintenance margin per market per block (a cursor walks on). */
  liquidationScanPerBlock: 2_000,
  /** Liquidations per market per block. */
  liquidationsPerBlockMax: 50,
  /** Largest price, in price units (a tick is a multiple of these). */
  priceMax: 1e12,
  /** Largest order size, in size units. */
  sizeMax: 1e12,
  /**
   * Seconds after a future's maturity its oracles have to attest. Past them the future
   * settles at the median of those that did, or, if none did, halts for an admin's
   * markets.close: one silent oracle never holds the traders' collateral for ever.
   */
  settleGraceSecs: 86_400,
  /** Depth levels a book query returns at most. */
  depthMax: 500,
});
