// The public listener's rate limit, counted in units of work rather than HTTP requests: a
// request costs 1, a submit costs its transaction count (a batch of 1,000 costs 1,000),
// a Merkle proof or a full block costs what rebuilding it costs the node. One token bucket
// per client key (the client address, or the real client behind a trusted proxy).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TallyError } from '../core/errors.js';
import { limits } from '../core/limits.js';

/** What one read costs in rate-limit units: both rehash a whole block (up to 4,000 leaves). */
export const readCostUnits = Object.freeze({ proof: 20, fullBlock: 50 });

/** Token buckets: capacity = a minute's budget, refilled continuously. */
export class CostLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly refillPerMs: number;

  constructor(readonly unitsPerMin: number, private readonly now: () => number = Date.now) {
    this.refillPerMs = unitsPerMin / 60_000;
  }

  /** Take `cost` units from `key`'s bucket; answers 0, or the ms to wait before it would fit. */
  take(key: string, cost: number): number {
    const t = this.now();
    const b = this.bucket(key, t);
    b.tokens = Math.min(this.unitsPerMin, b.tokens + (t - b.at) * this.refillPerMs);
    b.at = t;
    // A cost above the whole budget (a batch larger than a minute's units) waits for a full bucket.
    const need = Math.min(cost, this.unitsPerMin);
    if (b.tokens < need) return Math.ceil((need - b.tokens) / this.refillPerMs);
    b.tokens -= need;
    return 0;
  }

  private bucket(key: string, t: number): { tokens: number; at: number } {
    let b = this.buckets.get(key);
    if (b) return b;
    if (this.buckets.size >= limits.rateLimitKeysMax) this.forgetFull(t);
    // Still full of live clients: newcomers share one bucket rather than grow the map.
    if (this.buckets.size >= limits.rateLimitKeysMax) key = '(overflow)';
    b = this.buckets.get(key) ?? { tokens: this.unitsPerMin, at: t };
    this.buckets.set(key, b);
    return b;
  }

  /** A bucket that has refilled completely holds nothing worth remembering. */
  private forgetFull(t: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + (t - b.at) * this.refillPerMs >= this.unitsPerMin) this.buckets.delete(k);
  }
}

function requestCost(req: FastifyRequest): number {
  const url = req.routeOptions.url;
  // A state proof reads about log2(n) tree nodes per key: priced as a receipt proof.
  if (url === '/v1/txs/:id/proof' || url === '/v1/state/proof' || url === '/v1/accounts/:name/proof') return readCostUnits.proof;
  if (url === '/v1/blocks/:height') {
    const full = (req.query as { full?: string } | undefined)?.full;
    if (full === '1' || full === 'true') return readCostUnits.fullBlock;
  }
  return 1;
}

function refuse(reply: FastifyReply, limiter: CostLimiter, waitMs: number): never {
  const secs = Math.max(1, Math.ceil(waitMs / 1000));
  void reply.header('retry-after', String(secs));
  throw new TallyError('rate_limited', `this address used its ${limiter.unitsPerMin} units a minute (a request costs 1, each submitted transaction 1, a proof ${readCostUnits.proof}, a full block ${readCostUnits.fullBlock}); retry in ${secs} s`, { status: 429 });
}

/**
 * Charge every route of `app` that has no rate-limit config of its own (the tickets routes
 * set theirs), or with `everyRoute` every request (a listener of one service, whose own
 * per-route limits come on top). A request is charged its base cost before its body is
 * read; a submit is charged the rest of its transaction count once the body is parsed.
 */
export function registerCostLimit(app: FastifyInstance, unitsPerMin: number, options: { everyRoute?: boolean } = {}): void {
  const limiter = new CostLimiter(unitsPerMin);
  const own = (req: FastifyRequest) => !options.everyRoute && (req.routeOptions.config as { rateLimit?: unknown } | undefined)?.rateLimit !== undefined;
  app.addHook('onRequest', async (req, reply) => {
    if (own(req)) return;
    const wait = limiter.take(req.ip, requestCost(req));
    if (wait > 0) refuse(reply, limiter, wait);
  });
  app.addHook('preHandler', async (req, reply) => {
    if (req.routeOptions.url !== '/v1/txs' || req.method !== 'POST' || !Array.isArray(req.body) || req.body.length <= 1) return;
    const wait = limiter.take(req.ip, req.body.length - 1);
    if (wait > 0) refuse(reply, limiter, wait);
  });
}
