// What runs beside a tickets service, in a node or in `tally tickets serve`: the watchers
// that credit payments, and the SQLite claim applier. On SQLite the one node runs the
// watchers. On PostgreSQL every serving process may, but one at a time: the holder of the
// watcher lock (watcher-lock.ts) runs them, and another takes over when it dies.
import type { ChainSource } from './chain-source.js';
import { moneroRpcLogin, type TicketsConfig } from './config.js';
import { HttpMoneroRpc } from './monero-rpc.js';
import { MoneroWatcher } from './monero-watcher.js';
import { PgTicketsBackend } from './pg-store.js';
import type { TicketsService } from './service.js';
import { TallyWatcher } from './tally-watcher.js';
import { WatcherLock } from './watcher-lock.js';

export interface TicketsRuntime {
  /** PostgreSQL: whether this process holds the watcher lock now (SQLite: always true) */
  readonly watching: () => boolean;
  stop(): Promise<void>;
}

function startWatchers(service: TicketsService, config: TicketsConfig, chain: ChainSource | undefined, log: (line: string) => void): () => Promise<void> {
  const stops: Array<() => Promise<void>> = [];
  if (config.tally && chain) {
    const w = new TallyWatcher(chain, service, config.tally, log);
    w.start();
    stops.push(() => w.stop());
  }
  if (config.monero) {
    const w = new MoneroWatcher(service, new HttpMoneroRpc(config.monero.walletRpcUrl, config.monero.rpcTimeoutMs, moneroRpcLogin(config.monero)), config.monero, log);
    w.start();
    stops.push(() => w.stop());
  }
  return async () => {
    for (const s of stops.reverse()) await s();
  };
}

/** Start the watchers (under the lock on PostgreSQL) and the background work of the store. */
export function runTickets(service: TicketsService, config: TicketsConfig, chain: ChainSource | undefined, log: (line: string) => void): TicketsRuntime {
  // Known before any watcher starts: /health lists each configured source from the start.
  if (config.tally && chain) service.stats.sourceDelay.set('tally', 0);
  if (config.monero) service.stats.sourceDelay.set('monero', config.monero.confirmations);
  // Refused now, not when the lock is won later: a bad login file is a start-up error.
  if (config.monero) moneroRpcLogin(config.monero);
  const stopBackground = service.startClaimApplier();
  const backend = service.backend;
  if (!(backend instanceof PgTicketsBackend)) {
    const stopWatchers = startWatchers(service, config, chain, log);
    return {
      watching: () => true,
      async stop() {
        await stopWatchers();
        stopBackground();
      },
    };
  }
  let stopWatchers: (() => Promise<void>) | undefined;
  const lock = new WatcherLock(backend.url!, {
    acquired: () => { stopWatchers = startWatchers(service, config, chain, log); },
    lost: async () => {
      const stop = stopWatchers;
      stopWatchers = undefined;
      await stop?.();
    },
    log,
  });
  let stopped = false;
  // The lock is asked for once the tables exist (the watchers read their cursors first).
  void backend.ready.then(() => { if (!stopped) lock.start(); });
  return {
    watching: () => lock.holding,
    async stop() {
      stopped = true;
      await lock.stop();
      stopBackground();
    },
  };
}
