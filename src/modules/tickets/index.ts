// The tickets module: sell access without learning who the users are. A client pays to a
// random payment id (PID) on Tally or Monero, redeems the PID for a service token, and the
// service introspects, debits and revokes tokens. All of it is off-chain service state in
// the node's encrypted database; watchers run inside the node (services hook).
import { TallyError } from '../../core/errors.js';
import type { ModuleService, ServiceContext, TallyModule } from '../../chain/app-module.js';
import { ticketsCli } from './cli.js';
import { operatorTicketsCli } from './cli-operator.js';
import { nodeChainSource } from './chain-source.js';
import { ticketsPgSource, validateTicketsConfig, type TicketsConfig } from './config.js';
import { openPgTickets } from './pg-store.js';
import { listenTicketsSocket } from './public-socket.js';
import { runTickets } from './runtime.js';
import { ticketsServeCli } from './serve.js';
import { internalTicketsRoutes, publicTicketsRoutes, registerTicketsHealth, registerTicketsMetrics } from './routes.js';
import { TicketsService } from './service.js';
import { TicketsStore, ticketsMigrations } from './store.js';
import { loadTokenKey } from './token-key.js'; // HOOK(fix/ledger-tickets)

/** The service of each running node (one per process in practice; tests may run several). */
const services = new WeakMap<object, TicketsService>();

async function startTickets(ctx: ServiceContext): Promise<ModuleService> {
  const config = ctx.config as TicketsConfig | undefined;
  const socketFlag = typeof ctx.flags.ticketsSocket === 'string' ? ctx.flags.ticketsSocket : undefined;
  if (!config) {
    if (socketFlag) throw new TallyError('config_invalid', '--tickets-socket needs a "tickets" section in the node config file', { hint: 'see the README, "Tickets: configuration"' });
    return { stop() {} };
  }
  const node = ctx.node;
  // HOOK(fix/ledger-tickets): tokens are derived from a node secret in <data>/tickets.key.
  // With "store": "postgres" the tables are shared with `tally tickets serve` processes; one of
  // them (or this node) holds the watcher lock and credits payments.
  const backend = config.store === 'postgres'
    ? openPgTickets(ticketsPgSource(config, ctx.dataDir), {
      log: ctx.log,
      max: config.poolMax,
      // /health warns while it cannot open (the chain runs on; tickets answers 503 pg_unreachable).
      onOpen: () => ctx.node.health.clearWarning('tickets'),
      onFailure: (reason) => ctx.node.health.warn('tickets', reason),
    })
    : new TicketsStore(node.store.db);
  const service = new TicketsService(backend, config, node.params.decimals, loadTokenKey(ctx.dataDir));
  services.set(node, service);
  const info: Record<string, unknown> = { sources: [config.tally && 'tally', config.monero && 'monero'].filter(Boolean).join('+') || 'none' };
  if (config.store === 'postgres') info.store = 'postgres';
  if (!config.tally && !config.monero) ctx.log('tickets: no source configured (tickets.tally or tickets.monero); nothing will be credited');
  const runtime = runTickets(service, config, nodeChainSource(node), ctx.log);
  const stops: Array<() => Promise<void> | void> = [() => runtime.stop(), () => service.backend.close()];
  const socketPath = socketFlag ?? config.publicSocket;
  if (socketPath) {
    // The public listener's setup (error replies, timeouts, caps), with per-connection budgets.
    stops.push(await listenTicketsSocket(ctx, service, socketPath));
    info.socket = socketPath;
  }
  return {
    info,
    async stop() {
      for (const s of stops.reverse()) await s();
      services.delete(node);
    },
  };
}

export const ticketsModule: TallyModule = {
  name: 'tickets',
  // Off chain entirely: tickets reads the ledger's transfers from committed blocks.
  chain: { name: 'tickets', txTypes: [], queries: [] },
  app: {
    migrations: ticketsMigrations,
    config: { validate: validateTicketsConfig },
    nodeOptions: [['--tickets-socket <path>', 'tickets: also serve the public tickets API on this Unix socket (e.g. for a Tor hidden service); overrides tickets.publicSocket']],
    services: startTickets,
    routes: (app, node) => {
      void app.register(publicTicketsRoutes(() => services.get(node)));
    },
    internalRoutes: (app, node, { metrics, health }) => {
      const service = services.get(node);
      if (!service) return;
      internalTicketsRoutes(app, service);
      registerTicketsMetrics(metrics, service.stats);
      registerTicketsHealth(health, service.stats);
    },
    cli: (program, cli) => {
      operatorTicketsCli(ticketsCli(program, cli), cli);
      ticketsServeCli(program, cli);
    },
  },
};
