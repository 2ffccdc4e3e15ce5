// Prometheus metrics of one node, served on the internal listener. Names follow the
// Prometheus conventions: what only counts up is a counter ending in _total, the process
// and runtime metrics keep their standard process_* / nodejs_* names, everything Tally's
// own is under tally_ (modules register theirs, also under tally_, on the same registry).
import fs from 'node:fs';
import client from 'prom-client';
import type { TallyNode } from '../chain/node.js';
import type { BlockCommitted } from '../chain/blocks.js';
import { registerNetworkMetrics } from './metrics-network.js';

export interface NodeMetrics {
  registry: client.Registry;
  /** One answered HTTP request; `route` is the route's pattern (never the raw URL: bounded labels, no tokens). */
  observeHttp(listener: string, method: string, route: string, status: number, seconds: number): void;
}

const byNode = new WeakMap<TallyNode, NodeMetrics>();

/** The node's metrics, made on first use: both listeners observe into the same registry. */
export function nodeMetrics(node: TallyNode): NodeMetrics {
  let m = byNode.get(node);
  if (!m) {
    m = createMetrics(node);
    byNode.set(node, m);
  }
  return m;
}

function packageVersion(): string {
  // dist/src/api/metrics.js -> the package root.
  const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The process and runtime metrics (process_*, nodejs_*) every Tally process serves. */
function processMetrics(registry: client.Registry): void {
  client.collectDefaultMetrics({ register: registry });
  // prom-client names three gauges *_total, which Prometheus reserves for counters
  // (`promtool check metrics` refuses them); the same numbers by type stay, as
  // nodejs_active_handles{type} and so on: sum() them for the totals.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
}

function httpHistogram(registry: client.Registry): NodeMetrics['observeHttp'] {
  const http = new client.Histogram({
    name: 'tally_http_request_duration_seconds', help: 'HTTP requests answered, by listener, method, route pattern and status', registers: [registry],
    labelNames: ['listener', 'method', 'route', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  });
  return (listener, method, route, status, seconds) => http.observe({ listener, method, route, status: String(status) }, seconds);
}

/**
 * The metrics of a service process without a node (`tally tickets serve`): process and
 * runtime metrics, tally_build_info{service}, and the HTTP histogram; the service adds its own.
 */
export function serviceMetrics(service: string): NodeMetrics {
  const registry = new client.Registry();
  processMetrics(registry);
  new client.Gauge({ name: 'tally_build_info', help: 'always 1; the labels say which Tally, which Node.js and which service run', labelNames: ['version', 'node_version', 'service'], registers: [registry] })
    .set({ version: packageVersion(), node_version: process.version, service }, 1);
  return { registry, observeHttp: httpHistogram(registry) };
}

function createMetrics(node: TallyNode): NodeMetrics {
  const registry = new client.Registry();
  const registers = [registry];
  processMetrics(registry);
  new client.Gauge({ name: 'tally_build_info', help: 'always 1; the labels say which Tally and which Node.js run', labelNames: ['version', 'node_version', 'chain'], registers })
    .set({ version: packageVersion(), node_version: process.version, chain: node.params.chain }, 1);
  new client.Gauge({ name: 'tally_height', help: 'height of the last committed block', registers, collect() { this.set(node.tip.height); } });
  new client.Gauge({ name: 'tally_mempool_size', help: 'transactions waiting in the mempool', registers, collect() { this.set(node.mempool.size); } });
  const blocks = new client.Counter({ name: 'tally_blocks_total', help: 'blocks committed since start', registers });
  const txs = new client.Counter({ name: 'tally_txs_committed_total', help: 'transactions committed since start, by status', labelNames: ['status'], registers });
  // Admission keeps its own tallies; the counters read them at scrape time.
  new client.Counter({
    name: 'tally_txs_refused_total', help: 'transactions refused at admission since start, by code', labelNames: ['code'], registers,
    collect() {
      this.reset();
      for (const [code, n] of node.stats.txsRefused) this.inc({ code }, n);
    },
  });
  new client.Counter({
    name: 'tally_txs_accepted_total', help: 'transactions admitted to the mempool since start', registers,
    collect() {
      this.reset();
      this.inc(node.stats.txsAccepted);
    },
  });
  const commit = new client.Histogram({
    name: 'tally_block_commit_seconds', help: 'time to apply, store (fsync) and sign one block', registers,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  const blockTxs = new client.Histogram({ name: 'tally_block_txs', help: 'transactions per block', registers, buckets: [1, 10, 100, 500, 1000, 2000, 4000] });
  const hooksFailed = new client.Counter({ name: 'tally_block_hooks_failed_total', help: 'block hooks (beginBlock, endBlock) a module refused: their writes dropped, the block made without them', labelNames: ['module', 'hook', 'code'], registers });
  node.on('block', (e: BlockCommitted) => {
    blocks.inc();
    for (const h of e.hookEvents ?? []) if (h.type === 'hook_failed') hooksFailed.inc({ module: String(h.module), hook: String(h.hook), code: String(h.code) });
    let failed = 0;
    for (const r of e.receipts) if (r.status === 'failed') failed++;
    txs.inc({ status: 'ok' }, e.receipts.length - failed);
    if (failed) txs.inc({ status: 'failed' }, failed);
    commit.observe(e.commitMs / 1000);
    blockTxs.observe(e.receipts.length);
  });
  new client.Gauge({
    name: 'tally_health_component_ok', help: '1 while a component (storage, watermark, module services) is healthy, 0 while it fails', labelNames: ['component'], registers,
    collect() {
      this.reset();
      for (const [component, c] of Object.entries(node.health.report().components)) this.set({ component }, c.ok ? 1 : 0);
    },
  });
  registerNetworkMetrics(node, registers);
  return { registry, observeHttp: httpHistogram(registry) };
}
