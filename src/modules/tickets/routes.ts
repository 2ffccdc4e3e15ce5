// Tickets HTTP routes. Public (node listener and the optional --tickets-socket): service
// info, payment status, redeem and token introspection, each rate-limited per client
// address. Internal (loopback listener only): spend and revoke, and the metrics.
import type { FastifyContextConfig, FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import client from 'prom-client';
import { TallyError } from '../../core/errors.js';
import { TOKEN_PAGE_MAX, type TicketsService, type TicketsStats } from './service.js';

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, hint: { type: 'string' }, details: { type: 'object', additionalProperties: true } } } },
} as const;

// Parameters are checked by the service (invalid_pid / invalid_token with their codes), so
// the schemas only bound their size.
const pidParams = { type: 'object', required: ['pid'], properties: { pid: { type: 'string', maxLength: 64 } } } as const;
const tokenParams = { type: 'object', required: ['token'], properties: { token: { type: 'string', maxLength: 128 } } } as const;
const tokenView = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['active', 'revoked'] }, source: { type: 'string' }, balance: { type: 'string' }, spent: { type: 'string' },
    issued_at: { type: 'string' }, revoked_at: { type: ['string', 'null'] }, revoke_reason: { type: ['string', 'null'] },
  },
} as const;

const connectionKeys = new WeakMap<object, string>();
let connectionsSeen = 0;

/** A stable key per connection, for clients that have no address. */
function connectionKey(socket: object): string {
  let key = connectionKeys.get(socket);
  if (!key) {
    key = `unix-connection-${++connectionsSeen}`;
    connectionKeys.set(socket, key);
  }
  return key;
}

function limited(max: number): FastifyContextConfig {
  return max > 0 ? { rateLimit: { max, timeWindow: 60_000 } } : { rateLimit: false };
}

/** The public tickets API, in its own scope with its own per-address limits. */
export function publicTicketsRoutes(getService: () => TicketsService | undefined) {
  return async (scope: FastifyInstance) => {
    const config = getService()?.config;
    await scope.register(rateLimit, {
      global: false,
      // On a Unix socket there is no client address (and behind Tor every client is the same
      // local user): each connection gets its own budget, so junk on one cannot starve another.
      keyGenerator: (req) => req.ip || connectionKey(req.raw.socket),
      errorResponseBuilder: (_req, ctx) => new TallyError('rate_limited', `more than ${ctx.max} requests a minute from this address; retry in ${Math.ceil(ctx.ttl / 1000)} s`, { status: 429 }),
    });
    const service = (): TicketsService => {
      const s = getService();
      if (!s) throw new TallyError('tickets_disabled', 'this node does not sell tickets', { status: 503, hint: 'the operator enables it with a "tickets" section in the node config file' });
      return s;
    };
    const redeemLimit = limited(config?.rateLimit.redeemPerMin ?? 0);
    const introspectLimit = limited(config?.rateLimit.introspectPerMin ?? 0);

    scope.get('/api/v1/tickets', { config: introspectLimit, schema: { summary: 'tickets: how to pay this service (Tally account, Monero address), minimum amounts, confirmations' } }, async () => {
      const s = service();
      const out: Record<string, unknown> = { redeemGraceSecs: s.config.redeemGraceSecs, sources: {} };
      const sources = out.sources as Record<string, unknown>;
      if (s.config.tally) sources.tally = { account: s.config.tally.account, minAmount: s.config.tally.minAmount, price: s.config.tally.price, decimals: s.tallyDecimals };
      if (s.config.monero) sources.monero = { address: s.config.monero.address, minAmount: s.config.monero.minAmount, price: s.config.monero.price, confirmations: s.config.monero.confirmations };
      return out;
    });

    scope.get('/api/v1/payment/:pid', {
      config: redeemLimit,
      schema: { summary: 'tickets: what the service has seen for a payment id (credited, dust, confirmations left, claimed)', params: pidParams, response: { 400: errorSchema, 404: errorSchema } },
    }, async (req) => service().paymentStatus((req.params as { pid: string }).pid));

    scope.post('/api/v1/redeem', {
      config: redeemLimit,
      schema: {
        summary: 'tickets: redeem a paid payment id for a service token. success: {status, token, balance}; again: already_claimed (the same token until it is first presented, or within redeemGraceSecs)',
        body: { type: 'object', properties: { pid: { description: 'payment id, 16 lowercase hex' } } },
        response: { 400: errorSchema, 404: errorSchema, 409: errorSchema },
      },
    }, async (req) => service().redeem((req.body as { pid?: unknown } | undefined)?.pid));

    scope.get('/api/v1/token/:token', {
      config: introspectLimit,
      schema: { summary: 'tickets: a token\'s status, balance, issued_at, revoked_at', params: tokenParams, response: { 200: tokenView, 400: errorSchema, 404: errorSchema } },
    }, async (req) => service().introspect((req.params as { token: string }).token));
  };
}

export function internalTicketsRoutes(app: FastifyInstance, service: TicketsService): void {
  app.get('/api/v1/tokens', {
    schema: {
      summary: `tickets: the tokens issued, newest first, by hash (the tokens themselves are not stored); ${TOKEN_PAGE_MAX} per page at most`,
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { status: { type: 'string', enum: ['active', 'revoked'] }, limit: { type: 'string', maxLength: 4 }, cursor: { type: 'string', maxLength: 96 } },
      },
      response: { 400: errorSchema },
    },
  }, async (req) => service.listTokens(req.query as Record<string, unknown>));
  app.post('/api/v1/token/:token/spend', {
    schema: { summary: 'tickets: debit usage from a token (never below zero)', params: tokenParams, body: { type: 'object', required: ['amount'], properties: { amount: {} } } },
  }, async (req) => service.spend((req.params as { token: string }).token, (req.body as { amount: unknown }).amount));
  app.post('/api/v1/token/:token/revoke', {
    schema: { summary: 'tickets: revoke a token for good', params: tokenParams, body: { type: 'object', required: ['reason'], properties: { reason: {} } } },
  }, async (req) => service.revoke((req.params as { token: string }).token, (req.body as { reason: unknown }).reason));
  app.post('/api/v1/tokens/:hash/revoke', {
    schema: { summary: 'tickets: revoke a token by its hash (as GET /api/v1/tokens lists it)', params: { type: 'object', required: ['hash'], properties: { hash: { type: 'string', maxLength: 128 } } }, body: { type: 'object', required: ['reason'], properties: { reason: {} } } },
  }, async (req) => service.revokeByHash((req.params as { hash: string }).hash, (req.body as { reason: unknown }).reason));
}

/** Prometheus collectors over the service's counters. */
export function registerTicketsMetrics(registry: client.Registry, stats: TicketsStats): void {
  const counter = (name: string, help: string, label: string, read: () => Map<string, number>) => new client.Counter({
    name, help, labelNames: [label], registers: [registry],
    collect() {
      this.reset();
      for (const [k, v] of read()) this.inc({ [label]: k }, v);
    },
  });
  const gauge = (name: string, help: string, read: () => Map<string, number>) => new client.Gauge({
    name, help, labelNames: ['source'], registers: [registry],
    collect() {
      for (const [k, v] of read()) this.set({ source: k }, v);
    },
  });
  counter('tickets_payments_seen_total', 'payments to the service seen by the watchers, by source', 'source', () => stats.paymentsSeen);
  counter('tickets_payments_credited_total', 'payments credited to a PID, by source', 'source', () => stats.paymentsCredited);
  counter('tickets_payments_dust_total', 'payments below minAmount, recorded and not credited, by source', 'source', () => stats.paymentsDust);
  counter('tickets_payments_no_pid_total', 'payments without a PID (all-zero or no memo), never credited, by source', 'source', () => stats.paymentsNoPid);
  counter('tickets_payments_conflict_total', 'payments to a PID first paid on another source, not credited', 'source', () => stats.paymentsConflict);
  counter('tickets_payments_vanished_total', 'credited payments gone from the source (reorg, dropped); monero_after_redeem: the token kept its balance', 'source', () => stats.paymentsVanished);
  counter('tickets_payments_locked_total', 'Monero payments with a non-zero unlock_time, not credited', 'source', () => stats.paymentsLocked);
  counter('tickets_watcher_errors_total', 'failed watcher polls (e.g. wallet RPC unreachable), by source', 'source', () => stats.watcherErrors);
  gauge('tickets_watcher_height', 'last block fully scanned by the watcher', () => stats.watcherHeight);
  gauge('tickets_source_height', 'height of the source (Tally tip, Monero wallet height)', () => stats.sourceHeight);
  new client.Gauge({
    name: 'tickets_watcher_lag_blocks', help: 'blocks the watcher is behind the source beyond the confirmations it waits for', labelNames: ['source'], registers: [registry],
    collect() {
      for (const [k, h] of stats.sourceHeight) {
        // Tally: tip - cursor. Monero: the scan bound (height - confirmations) - cursor.
        const bound = k === 'monero' ? h - (stats.sourceDelay.get(k) ?? 0) : h;
        this.set({ source: k }, Math.max(0, bound - (stats.watcherHeight.get(k) ?? 0)));
      }
    },
  });
  counter('tickets_redeem_total', 'redeem requests by result (success, already_claimed, payment_not_found, payment_unconfirmed, invalid_pid)', 'status', () => stats.redeems);
  counter('tickets_token_checks_total', 'token introspections by result (active, revoked, token_not_found, invalid_token)', 'result', () => stats.tokenChecks);
  counter('tickets_token_spends_total', 'token spends by result', 'result', () => stats.tokenSpends);
}
