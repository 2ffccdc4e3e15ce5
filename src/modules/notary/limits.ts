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
   * Records signed and written per guarded write transaction: each commit is an fsync (the
   * last chunk of a batch also completes it, in the same transaction).
   * A signing thread has two chunks at a time (it signs one while the other is written),
   * so a batch is cut in several: Ed25519 in chunks of 500, RSA of 200 (about 0.06 s of
   * RSA-2048 work on one core, 0.2 s of RSA-3072).
   */
  signChunkMax: 1000,
  ed25519SignChunk: 500,
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
