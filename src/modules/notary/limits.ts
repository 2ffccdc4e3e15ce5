// The notary's limits and timings, declared once.
export const notaryLimits = Object.freeze({
  /** Canonical JSON bytes of one record. */
  recordBytesMax: 8 * 1024,
  /** Records in one batch (one POST, or one slice of a submitted file); one anchor each. */
  batchRecordsMax: 1000,
  /** Records in one `tally notary submit FILE`. */
  submitRecordsMax: 1_000_000,
  /** Keys made by one `keys add`. */
  keysAddMax: 64,
  /**
   * Records signed and written per guarded write transaction: each commit is an fsync, so
   * cheap Ed25519 signatures go a whole batch at a time; RSA chunks stay near 0.3 s of work.
   */
  signChunkMax: 1000,
  rsaSignChunk: 200,
  /** Worker concurrency (leases one process holds at once). */
  concurrencyMax: 64,
});

export const notaryDefaults = Object.freeze({
  /** A lease not renewed for this long expires, and its key and batch go back to the pool. */
  leaseMs: 10_000,
  /** How often an idle worker looks for work. */
  idlePollMs: 200,
  /** How often the node's anchorer looks for signed batches. */
  anchorPollMs: 250,
});
