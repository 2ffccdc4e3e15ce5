// Every answered HTTP request, seen once: an access-log record (at the level the operator
// chose, or none) and an observation in tally_http_request_duration_seconds. Only the
// method, the route's pattern, the status, the time taken and the client address are
// read: never bodies, headers or the raw URL (a path may carry a token).
import type { FastifyInstance } from 'fastify';
import type { Level } from 'pino';
import { log } from '../app/log.js';
import type { NodeMetrics } from './metrics.js';

export type AccessLogLevel = Level | 'off';

export interface ObserveOptions {
  /** names the listener in records and labels: "public", "internal" */
  listener: string;
  metrics?: NodeMetrics;
  accessLog: AccessLogLevel;
}

/** Label for a request that matched no route: one value, so stray URLs cannot grow the label set. */
export const UNMATCHED_ROUTE = 'unmatched';

export function observeHttp(app: FastifyInstance, o: ObserveOptions): void {
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? UNMATCHED_ROUTE;
    // A Unix socket has no peer address.
    const remote = req.ip || 'unix';
    const ms = reply.elapsedTime;
    o.metrics?.observeHttp(o.listener, req.method, route, reply.statusCode, ms / 1000);
    if (o.accessLog === 'off') return;
    const logger = log();
    if (!logger.isLevelEnabled(o.accessLog)) return;
    logger[o.accessLog]({ access: o.listener, method: req.method, route, status: reply.statusCode, ms: Math.round(ms * 10) / 10, remote },
      `${o.listener} ${req.method} ${route} ${reply.statusCode} ${ms.toFixed(1)} ms ${remote}`);
  });
}
