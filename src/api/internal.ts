// Internal HTTP: loopback by default. Health and Prometheus metrics; modules may add
// operator routes here (admin actions are still signed transactions).
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { TallyNode } from '../chain/node.js';
import { errorHandler, rejectNonJsonBodies, type ErrorReply } from './http.js';
import { nodeMetrics } from './metrics.js';
import { anyJson, openObject, registerOpenApi } from './openapi.js';
import { observeHttp, type AccessLogLevel } from './observe.js';
import { limits } from '../core/limits.js';

export interface InternalHttpOptions {
  /** level of the one-line-per-request access log, or off */
  accessLog: AccessLogLevel;
}

const componentStatus = openObject('{ok, reason?, since?}', { ok: { type: 'boolean' }, reason: { type: 'string' }, since: { type: 'string', description: 'ISO time the failure began' } }, ['ok']);
const healthReport = openObject('the node and each component (README, "Watching: logs, metrics, health")', {
  ok: { type: 'boolean' }, ready: { type: 'boolean' }, chain: { type: 'string' }, height: { type: 'integer' }, mempool: { type: 'integer' },
  components: { type: 'object', description: 'by name: node, storage, watermark, then module services (tickets.monero, notary.anchoring, ...)', additionalProperties: componentStatus },
  failing: { type: 'array', items: openObject('{component, reason, since?, core}') },
  warnings: { type: 'array', items: openObject('{component, reason, since}') },
}, ['ok', 'ready', 'components']);
const readiness = openObject('{ready, failing?}', { ready: { type: 'boolean' }, failing: { type: 'array', items: openObject('{component, reason, since?, core}') } }, ['ready']);

export async function buildInternalHttp(node: TallyNode, options: InternalHttpOptions = { accessLog: 'debug' }): Promise<FastifyInstance> {
  // Bodies as large as the public listener's: operator routes take batches (notary).
  const app = Fastify({ logger: false, bodyLimit: limits.httpBodyBytesMax, frameworkErrors: (err, _req, reply) => errorHandler(err, reply as unknown as ErrorReply) });
  app.setErrorHandler((err, _req, reply) => errorHandler(err as FastifyError, reply));
  rejectNonJsonBodies(app);
  // Before any route: the generator sees each one as it is added (GET /openapi.json).
  await registerOpenApi(app, { rateLimited: false, listener: 'internal' });
  const metrics = nodeMetrics(node);
  // A halted proposer makes no more blocks: the node is up but cannot take transactions.
  node.health.probe('node', () => (node.halted ? { ok: false, reason: `halted: ${node.halted.message}` } : { ok: true }));
  observeHttp(app, { listener: 'internal', metrics, accessLog: options.accessLog });
  // Everything, for people and monitoring: 503 while any component fails (a module
  // service too, e.g. an unreachable Monero wallet), with the failing ones named.
  app.get('/health', { schema: { operationId: 'getHealth', tags: ['health'], summary: 'every component: 200 while all are ok, 503 naming the failing ones', response: { 200: healthReport, 503: { ...healthReport, description: 'a component fails: the same report, with failing' } } } }, async (_req, reply) => {
    const health = node.health.report();
    if (!health.ok) reply.code(503);
    return {
      ok: health.ok, ready: health.ready, chain: node.params.chain, height: node.tip.height, mempool: node.mempool.size,
      components: health.components, ...(health.failing.length > 0 ? { failing: health.failing } : {}),
      ...(health.warnings.length > 0 ? { warnings: health.warnings } : {}),
    };
  });
  // Readiness, for a load balancer: 200 while the node can take transactions (storage and
  // the signed-height record work, not halted, not stopping); a failing module service
  // does not take the node out of rotation.
  app.get('/health/ready', { schema: { operationId: 'getReadiness', tags: ['health'], summary: 'readiness, for a load balancer: can this node take transactions?', response: { 200: readiness, 503: { ...readiness, description: 'a core component fails (or the node is stopping): {ready: false, failing}' } } } }, async (_req, reply) => {
    const health = node.health.report();
    if (!health.ready) reply.code(503);
    return { ready: health.ready, ...(health.ready ? {} : { failing: health.failing.filter((f) => f.core) }) };
  });
  // Liveness, for a supervisor: answering at all means the event loop runs. 200 always;
  // restart the process when this times out, not when /health is 503.
  app.get('/health/live', {
    schema: { operationId: 'getLiveness', tags: ['health'], summary: 'liveness, for a supervisor: 200 whenever the event loop answers', response: { 200: openObject('{live: true, uptimeSecs}', { live: { type: 'boolean' }, uptimeSecs: { type: 'integer' } }) } },
  }, async () => ({ live: true, uptimeSecs: Math.round(process.uptime()) }));
  app.get('/metrics', {
    schema: { operationId: 'getMetrics', tags: ['health'], summary: 'Prometheus metrics (text exposition format 0.0.4)', response: { 200: { description: 'the metrics, as Prometheus scrapes them', content: { 'text/plain': { schema: { type: 'string' } } } } } },
  }, async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.get('/openapi.json', { schema: { operationId: 'getInternalOpenApi', tags: ['health'], summary: 'this document (OpenAPI 3)', response: { 200: anyJson('the OpenAPI document of the internal listener') } } }, async () => app.swagger());
  for (const m of node.modules) m.app.internalRoutes?.(app, node, { metrics: metrics.registry, health: node.health });
  return app;
}
