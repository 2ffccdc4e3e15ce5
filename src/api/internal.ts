// Internal HTTP: loopback by default. Health and Prometheus metrics; modules may add
// operator routes here (admin actions are still signed transactions).
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { TallyNode } from '../chain/node.js';
import { errorHandler, rejectNonJsonBodies, type ErrorReply } from './http.js';
import { createMetrics } from './metrics.js';
import { limits } from '../core/limits.js';

export async function buildInternalHttp(node: TallyNode): Promise<FastifyInstance> {
  // Bodies as large as the public listener's: operator routes take batches (notary).
  const app = Fastify({ logger: false, bodyLimit: limits.httpBodyBytesMax, frameworkErrors: (err, _req, reply) => errorHandler(err, reply as unknown as ErrorReply) });
  app.setErrorHandler((err, _req, reply) => errorHandler(err as FastifyError, reply));
  rejectNonJsonBodies(app);
  const registry = createMetrics(node);
  // 503 while a component fails (storage, the signed-height record): take the node out of rotation.
  app.get('/health', async (_req, reply) => {
    const health = node.health.report();
    if (!health.ok) reply.code(503);
    return { ok: health.ok, chain: node.params.chain, height: node.tip.height, mempool: node.mempool.size, ...(health.ok ? {} : { failing: health.failing }), ...(health.warnings.length ? { warnings: health.warnings } : {}) };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  for (const m of node.modules) m.app.internalRoutes?.(app, node, { metrics: registry });
  return app;
}
