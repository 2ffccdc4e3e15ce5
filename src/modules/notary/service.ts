// What the node runs for the notary while it is up: signing in worker threads (the same
// engine `tally notary worker` runs as a process) and the anchorer that puts each signed
// batch's root on chain. With `"notary": {"store": "postgres"}` in config.json both work
// on the PostgreSQL store that worker processes on other machines share; the anchorer
// stays here, since only the node signs transactions with the node key.
import os from 'node:os';
import type { ModuleService, ServiceContext } from '../../chain/app-module.js';
import { anchorPending } from './anchor.js';
import { NotaryEngine } from './engine.js';
import { notaryDefaults, notaryLimits } from './limits.js';
import { NotaryStore } from './store.js';
import { SqliteNotaryBackend, type NotaryBackend } from './backend.js';
import { pgSourceOf, validateNotaryConfig, type NotaryConfig } from './config.js';
import { openPgNotary } from './pg-open.js';
import type { PgNotaryStore } from './pg-store.js';

/** Signing threads inside the node: $TALLY_NOTARY_THREADS, default one per core but one (the sequencer needs a core too). */
export function nodeSigningThreads(): number {
  const env = process.env.TALLY_NOTARY_THREADS;
  if (env !== undefined && /^\d+$/.test(env)) return Math.min(Number(env), notaryLimits.concurrencyMax);
  return Math.max(1, os.availableParallelism() - 1);
}

/** A node's notary store as its routes and metrics need it (see notaryRuntime). */
export interface NotaryRuntime {
  pgConfigured: boolean;
  pg?: PgNotaryStore;
}

const runtimes = new WeakMap<object, NotaryRuntime>();

/**
 * The node's PostgreSQL store once open, for the HTTP routes (registered before services
 * start): with store "postgres" they read and write there, never the idle SQLite tables.
 * One per node, so two nodes in one process (tests) never share a store.
 */
export function notaryRuntime(node: object): NotaryRuntime {
  let r = runtimes.get(node);
  if (!r) {
    r = { pgConfigured: false };
    runtimes.set(node, r);
  }
  return r;
}

/** How long the node waits between attempts to open the PostgreSQL store while it does not answer. */
const PG_OPEN_RETRY_MS = 2000;

export function startNotaryService(ctx: ServiceContext): ModuleService {
  const config = (ctx.config as NotaryConfig | undefined) ?? validateNotaryConfig(undefined);
  const threads = nodeSigningThreads();
  let store: NotaryBackend | undefined;
  let engine: NotaryEngine | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout;
  const startEngine = (backend: NotaryBackend) => {
    store = backend;
    if (threads > 0) engine = new NotaryEngine(backend, { concurrency: threads, holder: `node:${process.pid}`, log: ctx.log }).start();
  };
  const runtime = notaryRuntime(ctx.node);
  if (config.store === 'sqlite') startEngine(new SqliteNotaryBackend(new NotaryStore(ctx.store.db)));
  const pgSource = config.store === 'postgres' ? pgSourceOf(config, ctx.dataDir) : undefined;
  runtime.pgConfigured = pgSource !== undefined;
  // PostgreSQL down at start: the chain runs on; the notary opens its store when it answers.
  const openPg = async () => {
    try {
      // A short try: the pass loop tries again, and a node stopping meanwhile waits for one try at most.
      const backend = await openPgNotary(pgSource!, { log: ctx.log, retryMs: PG_OPEN_RETRY_MS });
      if (stopped) return void (await backend.close());
      ctx.node.health.clearWarning('notary');
      runtime.pg = backend;
      // Without the KEK the node cannot open keys: it anchors, and workers elsewhere sign.
      if (pgSource!.kekFile) startEngine(backend);
      else store = backend;
      ctx.log(`notary: store postgres${pgSource!.kekFile ? `, ${threads} signing threads` : ', no KEK: anchoring only (workers sign)'}`);
    } catch (err) {
      ctx.node.health.warn('notary', `PostgreSQL store: ${(err as Error).message}`);
      ctx.log(`notary: cannot open the PostgreSQL store (${(err as { code?: string }).code ?? (err as Error).message}); retrying`);
    }
  };
  // One pass at a time: the next is scheduled when this one ends, so slow passes never queue up.
  const pass = () => {
    running = (async () => {
      try {
        if (!store && pgSource) await openPg();
        while (store && !stopped && (await anchorPending(ctx, store)) > 0) { /* drain the backlog */ }
      } catch (err) {
        ctx.log(`notary: anchoring failed: ${(err as Error).message}`);
      }
      if (!stopped) timer = setTimeout(pass, store ? notaryDefaults.anchorPollMs : PG_OPEN_RETRY_MS).unref();
    })();
  };
  timer = setTimeout(pass, pgSource ? 0 : notaryDefaults.anchorPollMs).unref();
  return {
    ...(pgSource ? { info: { store: 'postgres' } } : {}),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await engine?.stop();
      if (store?.kind === 'postgres') await store.close();
      runtime.pg = undefined;
    },
  };
}
