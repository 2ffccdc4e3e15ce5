// The network layer's limits, declared once. Every peer, stream, frame, request and
// deny-list entry is bounded by one of these; a node may tighten them in its config.

export interface NetLimits {
  /** connections libp2p keeps (connectionManager.maxConnections) */
  peersMax: number;
  /** concurrent inbound streams of one protocol on one connection */
  inboundStreamsPerProtocolMax: number;
  /** requests in flight to one peer, and from one peer, at a time */
  requestsInFlightPerPeerMax: number;
  gossipBytesMax: number;
  /** default cap on a response body when the caller gives none */
  responseBytesMax: number;
  requestTimeoutMs: number;
  /** an inbound request must arrive and be answered within this */
  serveTimeoutMs: number;
  dialTimeoutMs: number;
  denyDurationMs: number;
  denyListSizeMax: number;
  /** local score at which a peer is dropped with reason 'score' */
  scoreDropAt: number;
}

export const DEFAULT_NET_LIMITS: Readonly<NetLimits> = Object.freeze({
  peersMax: 64,
  inboundStreamsPerProtocolMax: 8,
  requestsInFlightPerPeerMax: 16,
  gossipBytesMax: 4 * 1024 * 1024,
  responseBytesMax: 16 * 1024 * 1024,
  requestTimeoutMs: 10_000,
  serveTimeoutMs: 30_000,
  dialTimeoutMs: 10_000,
  denyDurationMs: 10 * 60_000,
  denyListSizeMax: 4096,
  scoreDropAt: -100,
});

/** Local score changes: a rejected gossip message, a failed or timed-out request. */
export const SCORE_REJECTED_GOSSIP = -10;
export const SCORE_FAILED_REQUEST = -1;
