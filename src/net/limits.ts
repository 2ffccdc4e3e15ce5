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
  /**
   * The shortest time libp2p's connection monitor waits for a ping answer before it aborts
   * the connection (its timeout adapts to the measured round trips above this). libp2p's
   * own floor is 5 s, less than a writer's event loop can stall on a large block commit
   * (4.6 s seen), which cut replicas off their writer under load; a dead link is still
   * found within one ping interval (10 s) plus this.
   */
  pingTimeoutMinMs: number;
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
  pingTimeoutMinMs: 15_000,
});

/** Local score changes: a rejected gossip message, a failed or timed-out request. */
export const SCORE_REJECTED_GOSSIP = -10;
export const SCORE_FAILED_REQUEST = -1;
