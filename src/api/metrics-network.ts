// A replica's metrics, read from the node's
// NetworkView at scrape time: nothing here runs between scrapes. Absent network: every
// gauge reads 0, so dashboards need no special case. The transport's own metrics (peers,
// gossip, requests, drops: tally_net_*) are src/net/metrics.ts.
import client from 'prom-client';
import type { NetworkStatus, TallyNode } from '../chain/node.js';

export function registerNetworkMetrics(node: TallyNode, registers: client.Registry[]): void {
  const read = (): NetworkStatus | undefined => node.network?.status();
  const gauge = (name: string, help: string, value: (s: NetworkStatus) => number) =>
    new client.Gauge({ name, help, registers, collect() { const s = read(); this.set(s ? value(s) : 0); } });
  const counter = (name: string, help: string, value: (s: NetworkStatus) => number) =>
    new client.Counter({ name, help, registers, collect() { this.reset(); const s = read(); if (s) this.inc(value(s)); } });
  gauge('tally_replica_lag_blocks', 'blocks between this replica\'s tip and the best head a peer announced', (s) => s.lagBlocks);
  gauge('tally_replica_lag_seconds', 'how long the block after this replica\'s tip has been known to exist (0 when caught up)', (s) => s.lagMs / 1000);
  gauge('tally_replica_best_height', 'the best head any peer announced', (s) => s.bestHeight);
  gauge('tally_replica_blocks_verified_per_second', 'blocks verified and applied per second, over the last 10 s', (s) => s.blocksVerifiedPerSec);
  gauge('tally_replica_equivocation', '1 once this replica holds equivocation evidence (it has stopped following)', (s) => (s.equivocation ? 1 : 0));
  counter('tally_replica_blocks_verified_total', 'blocks verified (every root and signature) and applied since start', (s) => s.blocksVerified);
  counter('tally_replica_txs_verified_total', 'transactions re-executed in verified blocks since start', (s) => s.txsVerified);
  // A validator chain (0 elsewhere): consensus progress and who misses votes.
  const c = (s: NetworkStatus) => s.consensus;
  gauge('tally_consensus_voting', '1 when this node\'s key is in the validator set in force (it votes), 0 when it follows', (s) => (c(s)?.voting ? 1 : 0));
  gauge('tally_consensus_round', 'the round of the height being decided (0 is the first)', (s) => c(s)?.round ?? 0);
  gauge('tally_consensus_validators', 'validators in the set in force', (s) => c(s)?.validators ?? 0);
  gauge('tally_consensus_finality_seconds', 'last height: from its block time (the proposer\'s clock) to this node\'s commit', (s) => (c(s)?.lastFinalityMs ?? 0) / 1000);
  counter('tally_consensus_heights_total', 'heights this node committed through consensus since start', (s) => c(s)?.heights ?? 0);
  counter('tally_consensus_extra_rounds_total', 'rounds past the first that committed heights needed since start (rounds per height = 1 + this / heights)', (s) => c(s)?.extraRounds ?? 0);
  new client.Counter({
    name: 'tally_consensus_missed_votes_total', help: 'heights whose commit certificate (as this node decided it) lacks the validator\'s vote, since start', labelNames: ['validator'], registers,
    collect() {
      this.reset();
      for (const [validator, n] of Object.entries(read()?.consensus?.missedVotes ?? {})) this.inc({ validator }, n);
    },
  });
  new client.Counter({
    name: 'tally_replica_peers_rejected_total', help: 'peers dropped since start, by reason (bad_block, bad_signature, bad_state_root, garbage, oversized, timeout, wrong_chain)', labelNames: ['reason'], registers,
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(read()?.rejectedPeers ?? {})) this.inc({ reason }, n);
    },
  });
}
