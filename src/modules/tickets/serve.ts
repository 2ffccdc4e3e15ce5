// `tally tickets serve`: a process that serves the tickets API against the shared
// PostgreSQL store, beside other such processes (and nodes) behind one proxy. It needs the
// config file's tickets section ("store": "postgres", the sources), the connection string
// (a 0600 file named there, or $TALLY_PG_URL: never the command line), a copy of the
// node's tickets.key (every process derives the same tokens), and, to credit Tally
// payments, a node's HTTP API (--node). One serving process at a time holds the watcher
// lock and credits payments; the others serve redeems and introspections, and take over
// when the holder dies (runtime.ts, watcher-lock.ts).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../../chain/app-module.js';
import { fail, TallyError } from '../../core/errors.js';
import { httpChainSource, type ChainSource } from './chain-source.js';
import { ticketsPgSource, validateTicketsConfig } from './config.js';
import { openPgTickets } from './pg-store.js';
import { internalTicketsRoutes, publicTicketsRoutes, registerTicketsMetrics } from './routes.js';
import { runTickets } from './runtime.js';
import { TicketsService } from './service.js';
import { readTokenKeyFile, TOKEN_KEY_FILE } from './token-key.js';

const DEFAULT_LISTEN = '127.0.0.1:7710';
const DEFAULT_INTERNAL = '127.0.0.1:7711';
/** How often a serving process asks the node for new blocks while it holds the watcher lock. */
const NODE_POLL_MS_DEFAULT = 1000;
/** Connections at once on the public listener of one serving process. */
const CONNECTIONS_MAX = 4096;
const CONFIG_BYTES_MAX = 1024 * 1024;
/** Rate-limit units a minute per client on the public listener, as the node's --rate-limit default. */
const RATE_LIMIT_PER_MIN_DEFAULT = 60_000;
const RATE_LIMIT_PER_MIN_MAX = 100_000_000;

interface ServeOptions {
  config?: string;
  data?: string;
  listen: string;
  internal: string;
  node?: string;
  tokenKeyFile?: string;
  pollMs: number;
  rateLimit: number;
  json?: boolean;
}

function hostPort(text: string, flag: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535) fail('bad_flag', `${flag} must be HOST:PORT, e.g. ${DEFAULT_LISTEN}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

function readConfig(file: string): unknown {
  let text: string;
  try {
    if (fs.statSync(file).size > CONFIG_BYTES_MAX) fail('config_invalid', `${file} is larger than ${CONFIG_BYTES_MAX} bytes`);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof TallyError) throw err;
    return fail('config_invalid', `cannot read the config file ${file}`, { hint: 'give --config FILE: a config.json with a "tickets" section whose "store" is "postgres"' });
  }
  try {
    return (JSON.parse(text) as { tickets?: unknown }).tickets;
  } catch {
    return fail('config_invalid', `${file} is not JSON`);
  }
}

export function ticketsServeCli(program: Command, cli: CliContext): void {
  program.command('tickets').description('tickets as a service of its own: serving processes on a shared PostgreSQL store')
    .command('serve')
    .description('serve the public tickets API (and the operator routes on --internal) from the PostgreSQL store; one serving process at a time credits payments')
    .option('--config <file>', 'config.json with a "tickets" section, "store": "postgres" (default: <data>/config.json)')
    .option('--data <dir>', 'where relative paths in the config resolve, and the default tickets.key (default: $TALLY_DATA or ~/.tally/node)')
    .option('--listen <host:port>', 'the public tickets API (port 0: any free port)', DEFAULT_LISTEN)
    .option('--internal <host:port|off>', 'spend, revoke, the token list, /metrics and /health: keep it on loopback', DEFAULT_INTERNAL)
    .option('--node <url>', "a node's HTTP API, to read Tally payments while this process holds the watcher lock (needed with tickets.tally)")
    .option('--token-key-file <file>', `a copy of the node's ${TOKEN_KEY_FILE} (mode 0600; default: <data>/${TOKEN_KEY_FILE})`)
    .option('--poll-ms <ms>', 'how often to ask the node for new blocks', (v) => {
      if (!/^\d{1,7}$/.test(v) || Number(v) < 50) fail('bad_flag', '--poll-ms must be an integer from 50 to 9999999');
      return Number(v);
    }, NODE_POLL_MS_DEFAULT)
    .option('--rate-limit <n|off>', 'requests a minute per client on the public listener, every route (the config\'s redeemPerMin and introspectPerMin apply on top); off: none', (v) => {
      if (v === 'off') return 0;
      if (!/^\d{1,9}$/.test(v) || Number(v) > RATE_LIMIT_PER_MIN_MAX) fail('bad_flag', `--rate-limit must be an integer from 0 to ${RATE_LIMIT_PER_MIN_MAX}, or off`);
      return Number(v);
    }, RATE_LIMIT_PER_MIN_DEFAULT)
    .option('--json', 'print the listening line as JSON')
    .addHelpText('after', '\nExample:\n  TALLY_PG_URL=postgres://tickets@db:5432/tally tally tickets serve --config /etc/tally/config.json --node http://node:7700 --token-key-file /etc/tally/tickets.key --listen 0.0.0.0:7710')
    .action(async (o: ServeOptions) => {
      const log = (line: string) => process.stderr.write(line + '\n');
      const dataDir = cli.dataDir(o as unknown as Record<string, unknown>);
      const config = validateTicketsConfig(readConfig(o.config ?? path.join(dataDir, 'config.json')));
      if (config.store !== 'postgres') {
        fail('config_invalid', 'tally tickets serve needs "tickets": {"store": "postgres"}: on SQLite the node itself serves tickets', { details: { field: 'tickets.store' } });
      }
      if (config.tally && !o.node) fail('bad_args', 'tickets.tally is configured: give --node URL (a node\'s HTTP API) to read Tally payments');
      const listen = hostPort(o.listen, '--listen');
      const internal = o.internal === 'off' ? undefined : hostPort(o.internal, '--internal');
      const tokenKey = readTokenKeyFile(o.tokenKeyFile ?? path.join(dataDir, TOKEN_KEY_FILE));
      const chain: ChainSource | undefined = o.node ? await httpChainSource(o.node, o.pollMs) : undefined;
      const backend = openPgTickets(ticketsPgSource(config, dataDir), { log, max: config.poolMax });
      // Without a node, Tally amounts (credited through another process) are shown with 0 decimals.
      const service = new TicketsService(backend, config, chain?.decimals ?? 0, tokenKey);

      const stops: Array<() => Promise<void>> = [];
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        for (const s of stops.reverse()) await s().catch((err: unknown) => log(`tickets serve: ${(err as Error).message}`));
      };
      // Handlers before the first line: a SIGTERM sent on reading it must stop cleanly.
      const onSignal = () => void stop().then(() => process.exit(0));
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      stops.push(() => backend.close());
      const runtime = runTickets(service, config, chain, log);
      stops.push(() => runtime.stop());

      // This process's own metrics (each serving process is scraped on its --internal).
      const metrics = cli.serviceProcess('tickets-serve');
      registerTicketsMetrics(metrics.registry, service.stats);
      const app = cli.publicListener({ bodyBytesMax: 4096, connectionsMax: CONNECTIONS_MAX, connectionsPerAddressMax: 0 });
      metrics.observe(app, 'public');
      if (o.rateLimit > 0) metrics.costLimit(app, o.rateLimit);
      await app.register(publicTicketsRoutes(() => service));
      await app.listen({ host: listen.host, port: listen.port });
      stops.push(() => app.close());
      const addr = app.server.address();
      const out: Record<string, unknown> = { http: `http://${listen.host}:${typeof addr === 'object' && addr ? addr.port : listen.port}`, pid: process.pid, store: 'postgres' };

      if (internal) {
        const ops = cli.publicListener({ bodyBytesMax: 4096, connectionsMax: 256, connectionsPerAddressMax: 0 });
        metrics.observe(ops, 'internal');
        internalTicketsRoutes(ops, service);
        ops.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
        ops.get('/health', async (_req, reply) => {
          // Ready when the store answers; watching says whether this process credits payments.
          const ok = await backend.cursor('tally').then(() => true, () => false);
          return reply.status(ok ? 200 : 503).send({ ok, store: 'postgres', watching: runtime.watching() });
        });
        await ops.listen({ host: internal.host, port: internal.port });
        stops.push(() => ops.close());
        const iaddr = ops.server.address();
        out.internal = `http://${internal.host}:${typeof iaddr === 'object' && iaddr ? iaddr.port : internal.port}`;
      }
      cli.output(o as unknown as Record<string, unknown>, out, () => `tickets serve ${process.pid}: public API on ${out.http}${out.internal ? `, operator routes on ${out.internal}` : ''}, store postgres`);
    });
}
