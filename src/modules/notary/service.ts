// What the node runs for the notary while it is up: signing in worker threads (the same
// engine `tally notary worker` runs as a process) and the anchorer that puts each signed
// batch's root on chain.
import os from 'node:os';
import type { ModuleService, ServiceContext } from '../../chain/app-module.js';
import { anchorPending } from './anchor.js';
import { NotaryEngine } from './engine.js';
import { notaryDefaults, notaryLimits } from './limits.js';
import { NotaryStore } from './store.js';
import { SqliteNotaryBackend } from './backend.js';

/** Signing threads inside the node: $TALLY_NOTARY_THREADS, default one per core but one (the sequencer needs a core too). */
export function nodeSigningThreads(): number {
  const env = process.env.TALLY_NOTARY_THREADS;
  if (env !== undefined && /^\d+$/.test(env)) return Math.min(Number(env), notaryLimits.concurrencyMax);
  return Math.max(1, os.availableParallelism() - 1);
}

export function startNotaryService(ctx: ServiceContext): ModuleService {
  const threads = nodeSigningThreads();
  const engine = threads > 0 ? new NotaryEngine(ctx.store.db, { concurrency: threads, holder: `node:${process.pid}`, log: ctx.log }).start() : undefined;
  const store = new SqliteNotaryBackend(new NotaryStore(ctx.store.db));
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout;
  // One pass at a time: the next is scheduled when this one ends, so slow passes never queue up.
  const pass = () => {
    running = (async () => {
      try {
        while (!stopped && (await anchorPending(ctx, store)) > 0) { /* drain the backlog */ }
      } catch (err) {
        ctx.log(`notary: anchoring failed: ${(err as Error).message}`);
      }
      if (!stopped) timer = setTimeout(pass, notaryDefaults.anchorPollMs).unref();
    })();
  };
  timer = setTimeout(pass, notaryDefaults.anchorPollMs).unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await engine?.stop();
    },
  };
}
