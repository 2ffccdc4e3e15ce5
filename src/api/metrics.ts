// Prometheus metrics for the internal listener.
import client from 'prom-client';
import type { TallyNode } from '../chain/node.js';
import type { BlockCommitted } from '../chain/blocks.js';

export function createMetrics(node: TallyNode): client.Registry {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'tally_process_' });
  new client.Gauge({ name: 'tally_height', help: 'height of the last committed block', registers: [registry], collect() { this.set(node.tip.height); } });
  new client.Gauge({ name: 'tally_mempool_size', help: 'transactions waiting in the mempool', registers: [registry], collect() { this.set(node.mempool.size); } });
  const blocks = new client.Counter({ name: 'tally_blocks_total', help: 'blocks committed since start', registers: [registry] });
  const txs = new client.Counter({ name: 'tally_txs_committed_total', help: 'transactions committed since start, by status', labelNames: ['status'], registers: [registry] });
  new client.Gauge({
    name: 'tally_txs_refused_total', help: 'transactions refused at admission since start, by code', labelNames: ['code'], registers: [registry],
    collect() { for (const [code, n] of node.stats.txsRefused) this.set({ code }, n); },
  });
  new client.Gauge({ name: 'tally_txs_accepted_total', help: 'transactions admitted to the mempool since start', registers: [registry], collect() { this.set(node.stats.txsAccepted); } });
  const commit = new client.Histogram({
    name: 'tally_block_commit_seconds', help: 'time to apply, store (fsync) and sign one block', registers: [registry],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  const blockTxs = new client.Histogram({ name: 'tally_block_txs', help: 'transactions per block', registers: [registry], buckets: [1, 10, 100, 500, 1000, 2000, 4000] });
  node.on('block', (e: BlockCommitted) => {
    blocks.inc();
    let failed = 0;
    for (const r of e.receipts) if (r.status === 'failed') failed++;
    txs.inc({ status: 'ok' }, e.receipts.length - failed);
    if (failed) txs.inc({ status: 'failed' }, failed);
    commit.observe(e.commitMs / 1000);
    blockTxs.observe(e.receipts.length);
  });
  return registry;
}
