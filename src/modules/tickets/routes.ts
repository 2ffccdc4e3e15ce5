// Tickets HTTP routes. Public (node listener and the optional --tickets-socket): service
// info, payment status, redeem and token introspection, each rate-limited per client
// address. Internal (loopback listener only): spend and revoke, and the metrics.
import type { FastifyContextConfig, FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import client from 'prom-client';
import { TallyError } from '../../core/errors.js';
import type { HealthProbes } from '../../chain/health.js';
import { TOKEN_PAGE_MAX, type TicketsService, type TicketsStats } from './service.js';

/** Objects keep fields they do not list: the schemas document, they never trim an answer. */
const open = (description: string, properties: Record<string, unknown> = {}) => ({ type: 'object', description, properties, additionalProperties: true });
const disabled = { 503: { description: 'tickets_disabled: this node does not sell tickets' } };
const badPid = { 400: { description: 'invalid_pid: a payment id is 16 lowercase hex digits, not all zero' } };
const badToken = { 400: { description: 'invalid_token: a token is 64 lowercase hex digits' } };

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

    scope.get('/api/v1/tickets', {
      config: introspectLimit,
      schema: {
        operationId: 'getTicketsInfo', tags: ['tickets'], summary: 'tickets: how to pay this service (Tally account, Monero address), minimum amounts, confirmations',
        response: { 200: open('{redeemGraceSecs, sources: {tally?: {account, minAmount, decimals}, monero?: {address, minAmount, confirmations}}}', { redeemGraceSecs: { type: 'integer' }, sources: open('by source') }), ...disabled },
      },
    }, async () => {
      const s = service();
      const out: Record<string, unknown> = { redeemGraceSecs: s.config.redeemGraceSecs, sources: {} };
      const sources = out.sources as Record<string, unknown>;
      if (s.config.tally) sources.tally = { account: s.config.tally.account, minAmount: s.config.tally.minAmount, price: s.config.tally.price, decimals: s.tallyDecimals };
      if (s.config.monero) sources.monero = { address: s.config.monero.address, minAmount: s.config.monero.minAmount, price: s.config.monero.price, confirmations: s.config.monero.confirmations };
      return out;
    });

    scope.get('/api/v1/payment/:pid', {
      config: redeemLimit,
      schema: {
        operationId: 'getPayment', tags: ['tickets'], summary: 'tickets: what the service has seen for a payment id (credited, dust, confirmations left, claimed)', params: pidParams,
        response: {
          200: open('{pid, source, credited, dust, claimed, confirmationsLeft, payments: [{txid, amount, height, status}]}', { pid: { type: 'string' }, claimed: { type: 'boolean' }, payments: { type: 'array', items: open('a payment') } }),
          ...badPid, 404: { description: 'payment_not_found: nothing paid to this payment id yet' }, ...disabled,
        },
      },
    }, async (req) => service().paymentStatus((req.params as { pid: string }).pid));

    scope.post('/api/v1/redeem', {
      config: redeemLimit,
      schema: {
        operationId: 'redeem',
        tags: ['tickets'],
        summary: 'tickets: redeem a paid payment id for a service token. success: {status, token, balance}; again: already_claimed (the same token until it is first presented, or within redeemGraceSecs)',
        body: { type: 'object', properties: { pid: { description: 'payment id, 16 lowercase hex' } } },
        response: {
          200: open('{status: success | already_claimed, token?, balance?, source?, claimed_at}', { status: { type: 'string', enum: ['success', 'already_claimed'] }, token: { type: 'string' }, claimed_at: { type: 'string' } }),
          ...badPid,
          404: { description: 'payment_not_found: nothing paid to this payment id yet' },
          409: { description: 'payment_unconfirmed: the payment waits for confirmations (details.confirmationsLeft)' },
          ...disabled,
        },
      },
    }, async (req) => service().redeem((req.body as { pid?: unknown } | undefined)?.pid));

    scope.get('/api/v1/token/:token', {
      config: introspectLimit,
      schema: {
        operationId: 'getToken', tags: ['tickets'], summary: 'tickets: a token\'s status, balance, issued_at, revoked_at', params: tokenParams,
        response: { 200: tokenView, ...badToken, 404: { description: 'token_not_found: no such token' }, ...disabled },
      },
    }, async (req) => service().introspect((req.params as { token: string }).token));
  };
}

export function internalTicketsRoutes(app: FastifyInstance, service: TicketsService): void {
  app.get('/api/v1/tokens', {
    schema: {
      operationId: 'listTicketTokens', tags: ['tickets'], response: { 200: { description: '{tokens: [{hash, status, ...}], next}' } },
      summary: `tickets: the tokens issued, newest first, by hash (the tokens themselves are not stored); ${TOKEN_PAGE_MAX} per page at most`,
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { status: { type: 'string', enum: ['active', 'revoked'] }, limit: { type: 'string', maxLength: 4 }, cursor: { type: 'string', maxLength: 96 } },
      },
    },
  }, async (req) => service.listTokens(req.query as Record<string, unknown>));
  app.post('/api/v1/token/:token/spend', {
    schema: { operationId: 'spendTicketToken', tags: ['tickets'], response: { 200: { description: 'the token after the debit' } }, summary: 'tickets: debit usage from a token (never below zero)', params: tokenParams, body: { type: 'object', required: ['amount'], properties: { amount: {} } } },
  }, async (req) => service.spend((req.params as { token: string }).token, (req.body as { amount: unknown }).amount));
  app.post('/api/v1/token/:token/revoke', {
    schema: { operationId: 'revokeTicketToken', tags: ['tickets'], response: { 200: { description: 'the revoked token' } }, summary: 'tickets: revoke a token for good', params: tokenParams, body: { type: 'object', required: ['reason'], properties: { reason: {} } } },
  }, async (req) => service.revoke((req.params as { token: string }).token, (req.body as { reason: unknown }).reason));
  app.post('/api/v1/tokens/:hash/revoke', {
    schema: { operationId: 'revokeTicketTokenByHash', tags: ['tickets'], response: { 200: { description: 'the revoked token' } }, summary: 'tickets: revoke a token by its hash (as GET /api/v1/tokens lists it)', params: { type: 'object', required: ['hash'], properties: { hash: { type: 'string', maxLength: 128 } } }, body: { type: 'object', required: ['reason'], properties: { reason: {} } } },
  }, async (req) => service.revokeByHash((req.params as { hash: string }).hash, (req.body as { reason: unknown }).reason));
}

/** Each watcher in /health, as "tickets.<source>": failing from a failed poll until one succeeds. */
export function registerTicketsHealth(health: HealthProbes, stats: TicketsStats): void {
  // The watchers set their source's delay when they are made, before the listeners start.
  for (const source of stats.sourceDelay.keys()) {
    health.probe(`tickets.${source}`, () => {
      const f = stats.watcherFailing.get(source);
      return f ? { ok: false, reason: `${source} watcher: ${f.reason}`, since: f.since } : { ok: true };
    });
  }
}

/** Prometheus collectors over the service's counters, under tally_tickets_. */
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
  counter('tally_tickets_payments_seen_total', 'payments to the service seen by the watchers, by source', 'source', () => stats.paymentsSeen);
  counter('tally_tickets_payments_credited_total', 'payments credited to a PID, by source', 'source', () => stats.paymentsCredited);
  counter('tally_tickets_payments_dust_total', 'payments below minAmount, recorded and not credited, by source', 'source', () => stats.paymentsDust);
  counter('tally_tickets_payments_no_pid_total', 'payments without a PID (all-zero or no memo), never credited, by source', 'source', () => stats.paymentsNoPid);
  counter('tally_tickets_payments_conflict_total', 'payments to a PID first paid on another source, not credited', 'source', () => stats.paymentsConflict);
  counter('tally_tickets_payments_vanished_total', 'credited payments gone from the source (reorg, dropped); monero_after_redeem: the token kept its balance', 'source', () => stats.paymentsVanished);
  counter('tally_tickets_payments_locked_total', 'Monero payments with a non-zero unlock_time, not credited', 'source', () => stats.paymentsLocked);
  counter('tally_tickets_watcher_errors_total', 'failed watcher polls (e.g. wallet RPC unreachable), by source', 'source', () => stats.watcherErrors);
  counter('tally_tickets_watcher_polls_total', 'watcher polls finished (the pending view written), by source', 'source', () => stats.watcherPolls);
  gauge('tally_tickets_watcher_height', 'last block fully scanned by the watcher', () => stats.watcherHeight);
  gauge('tally_tickets_source_height', 'height of the source (Tally tip, Monero wallet height)', () => stats.sourceHeight);
  new client.Gauge({
    name: 'tally_tickets_watcher_lag_blocks', help: 'blocks the watcher is behind the source beyond the confirmations it waits for', labelNames: ['source'], registers: [registry],
    collect() {
      for (const [k, h] of stats.sourceHeight) {
        // Tally: tip - cursor. Monero: the scan bound (height - confirmations) - cursor.
        const bound = k === 'monero' ? h - (stats.sourceDelay.get(k) ?? 0) : h;
        this.set({ source: k }, Math.max(0, bound - (stats.watcherHeight.get(k) ?? 0)));
      }
    },
  });
  new client.Gauge({
    name: 'tally_tickets_watcher_up', help: '1 while the watcher\'s last poll succeeded, 0 while it fails (see /health)', labelNames: ['source'], registers: [registry],
    collect() {
      for (const k of stats.sourceDelay.keys()) this.set({ source: k }, stats.watcherFailing.has(k) ? 0 : 1);
    },
  });
  new client.Gauge({
    name: 'tally_tickets_cache_entries', help: 'entries in the tickets caches: pids, tokens (rows), misses (negative cache, bounded)', labelNames: ['cache'], registers: [registry],
    collect() {
      const c = stats.caches();
      for (const k of ['pids', 'tokens', 'misses']) this.set({ cache: k }, c[k] ?? 0);
    },
  });
  new client.Gauge({
    name: 'tally_tickets_claims_pending', help: 'redeems committed to the claim log and not yet applied to the PID and token tables', registers: [registry],
    collect() {
      this.set(stats.caches().claimsPending ?? 0);
    },
  });
  new client.Counter({
    name: 'tally_tickets_redeem_commits_total', help: 'group commits of redeems (tally_tickets_redeem_total{status="success"} / this = claims per commit)', registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.caches().commits ?? 0);
    },
  });
  counter('tally_tickets_redeem_total', 'redeem requests by result (success, already_claimed, payment_not_found, payment_unconfirmed, invalid_pid)', 'status', () => stats.redeems);
  counter('tally_tickets_token_checks_total', 'token introspections by result (active, revoked, token_not_found, invalid_token)', 'result', () => stats.tokenChecks);
  counter('tally_tickets_token_spends_total', 'token spends by result', 'result', () => stats.tokenSpends);
}
