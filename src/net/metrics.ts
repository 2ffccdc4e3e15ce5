// What the network layer counts, as hooks a transport calls (so memory.ts and libp2p.ts
// count the same things) and one prom-client implementation the node registers on its
// registry. Label values are bounded: topics and protocols are only the ones this node
// subscribed to or serves, reasons are the DropReason union.
import client from 'prom-client';
import type { DropReason, Verdict } from './transport.js';

export type RequestOutcome = 'ok' | 'error' | 'refused' | 'timeout';

export interface NetMetricsHooks {
  gossipIn(topic: string, verdict: Verdict): void;
  gossipOut(topic: string): void;
  requestIn(protocol: string, outcome: RequestOutcome): void;
  requestOut(protocol: string, outcome: RequestOutcome): void;
  /** a peer we hung up on */
  peerDropped(reason: DropReason): void;
  /** a connection refused because the peer is on the deny list */
  peerDenied(reason: DropReason): void;
}

export const noNetMetrics: NetMetricsHooks = {
  gossipIn() {},
  gossipOut() {},
  requestIn() {},
  requestOut() {},
  peerDropped() {},
  peerDenied() {},
};

export interface NetMetrics extends NetMetricsHooks {
  /** Count this transport's peers in tally_net_peers (call once the transport exists). */
  track(transport: { peers(): Array<{ direction: 'inbound' | 'outbound' }> }): void;
}

/** Register the network metrics on `registry` (the node's, from src/api/metrics.ts). */
export function createNetMetrics(registry: client.Registry): NetMetrics {
  const registers = [registry];
  let source: { peers(): Array<{ direction: 'inbound' | 'outbound' }> } | undefined;
  new client.Gauge({
    name: 'tally_net_peers', help: 'connected peers, by who dialed', labelNames: ['direction'], registers,
    collect() {
      this.reset();
      if (!source) return;
      let inbound = 0;
      const peers = source.peers();
      for (const p of peers) if (p.direction === 'inbound') inbound++;
      this.set({ direction: 'inbound' }, inbound);
      this.set({ direction: 'outbound' }, peers.length - inbound);
    },
  });
  const gossipIn = new client.Counter({ name: 'tally_net_gossip_in_total', help: 'gossip messages received on subscribed topics, by verdict', labelNames: ['topic', 'verdict'], registers });
  const gossipOut = new client.Counter({ name: 'tally_net_gossip_out_total', help: 'gossip messages this node published', labelNames: ['topic'], registers });
  const reqIn = new client.Counter({ name: 'tally_net_requests_in_total', help: 'requests served, by outcome', labelNames: ['protocol', 'outcome'], registers });
  const reqOut = new client.Counter({ name: 'tally_net_requests_out_total', help: 'requests sent, by outcome', labelNames: ['protocol', 'outcome'], registers });
  const dropped = new client.Counter({ name: 'tally_net_peers_dropped_total', help: 'peers this node hung up on, by reason', labelNames: ['reason'], registers });
  const denied = new client.Counter({ name: 'tally_net_peers_denied_total', help: 'connections refused from or to denied peers, by the reason they were denied', labelNames: ['reason'], registers });
  return {
    track(t) { source = t; },
    gossipIn(topic, verdict) { gossipIn.inc({ topic, verdict }); },
    gossipOut(topic) { gossipOut.inc({ topic }); },
    requestIn(protocol, outcome) { reqIn.inc({ protocol, outcome }); },
    requestOut(protocol, outcome) { reqOut.inc({ protocol, outcome }); },
    peerDropped(reason) { dropped.inc({ reason }); },
    peerDenied(reason) { denied.inc({ reason }); },
  };
}
