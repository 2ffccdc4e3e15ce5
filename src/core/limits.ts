// Protocol and resource limits, declared once. Run-time configuration may lower some of
// these for an operator (see NodeConfig) but never raise them past these bounds.

export const limits = Object.freeze({
  /** Unix socket: one request per line, at most this many bytes. */
  socketLineBytesMax: 64 * 1024,
  /** HTTP request body (a batch of 1,000 transactions fits with room to spare). */
  httpBodyBytesMax: 4 * 1024 * 1024,
  /** Transactions in one POST /v1/txs or one socket submit. */
  batchTxCountMax: 1000,
  /** Bytes of canonical JSON in one transaction. */
  txBytesMax: 4 * 1024,
  /** Pending transactions in the whole mempool. */
  mempoolTxCountMax: 100_000,
  /** Pending transactions of one account (it may queue this many nonces ahead). */
  accountPendingTxCountMax: 1000,
  /** Transactions in one block. */
  blockTxCountMax: 4000,
  /** How far in the future a transaction's `expires` may lie. */
  txLifetimeSecsMax: 24 * 3600,
  /** Memo length in UTF-8 bytes. */
  memoBytesMax: 256,
  /** WebSocket subscribers on the public listener. */
  wsSubscribersMax: 1000,
  /** WebSocket subscribers from one client address (behind a trusted proxy: the real client). */
  wsSubscribersPerAddressMax: 16,
  /**
   * Bytes a subscriber may leave unread before the next block message: past this it is
   * closed as a slow reader (code 4000), so its buffer is at most this plus one message.
   */
  wsSubscriberBufferBytesMax: 256 * 1024,
  /** HTTP connections the public listener holds at once (keeps file descriptors for others). */
  httpConnectionsMax: 4096,
  /** Unix socket: replies written but not yet read by the client; past this we stop reading its requests. */
  socketUnreadReplyBytesMax: 1024 * 1024,
  /** Unix socket: requests of one connection being answered at once (e.g. submits awaiting commit). */
  socketRequestsInFlightMax: 64,
  /** Unix socket connections at once. */
  socketConnectionsMax: 4096,
  /** Distinct client keys the rate limiter remembers; more share one overflow budget. */
  rateLimitKeysMax: 100_000,
  /**
   * Memory for recent blocks' Merkle levels and parsed full blocks (src/chain/block-cache.ts):
   * a 4,000-transaction block takes 256 KiB of levels and about 8 MiB parsed.
   */
  blockCacheBytesMax: 64 * 1024 * 1024,
  /** Signatures of accepted signed queries remembered (each usable once) until they go stale. */
  queryAuthSeenMax: 50_000,
  /** Signed queries (audits) one account may make within the freshness window (240 s). */
  queryAuthPerAccountMax: 60,
  /** Accounts whose audit running totals are kept in memory (src/modules/ledger/audit.ts). */
  auditTotalsAccountsMax: 100_000,
  /** Page size of list queries. */
  pageSizeMax: 500,
  /** Chain ids: short, printable. */
  chainIdPattern: /^[a-z0-9][a-z0-9._-]{0,63}$/,
  /** Largest amount in minor units: a signed 64-bit integer. */
  amountMinorMax: (1n << 63n) - 1n,
  /** Decimals a chain may choose at genesis. */
  decimalsMax: 18,
  /**
   * Keys or signatures in one BLS aggregate, fast-aggregate-verify or commit certificate:
   * more than any validator set, and a bound on the work one call can be made to do.
   */
  blsAggregateCountMax: 10_000,
});
