import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import client from 'prom-client';
import { createNetMetrics } from './metrics.js';

describe('network metrics', () => {
  it('registers peers, gossip, requests, drops and denials on the given registry', async () => {
    const registry = new client.Registry();
    const m = createNetMetrics(registry);
    m.track({ peers: () => [{ direction: 'inbound' }, { direction: 'outbound' }, { direction: 'inbound' }] });
    m.gossipIn('/tally/t/blocks/1', 'reject');
    m.gossipOut('/tally/t/blocks/1');
    m.requestIn('/tally/t/sync/1', 'ok');
    m.requestOut('/tally/t/sync/1', 'timeout');
    m.peerDropped('oversized');
    m.peerDropped('oversized');
    m.peerDenied('garbage');
    const text = await registry.metrics();
    for (const line of [
      'tally_net_peers{direction="inbound"} 2',
      'tally_net_peers{direction="outbound"} 1',
      'tally_net_gossip_in_total{topic="/tally/t/blocks/1",verdict="reject"} 1',
      'tally_net_gossip_out_total{topic="/tally/t/blocks/1"} 1',
      'tally_net_requests_in_total{protocol="/tally/t/sync/1",outcome="ok"} 1',
      'tally_net_requests_out_total{protocol="/tally/t/sync/1",outcome="timeout"} 1',
      'tally_net_peers_dropped_total{reason="oversized"} 2',
      'tally_net_peers_denied_total{reason="garbage"} 1',
    ]) assert.ok(text.includes(line), `missing: ${line}`);
  });
});
