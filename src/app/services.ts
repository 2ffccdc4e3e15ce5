// Module background services (watchers, signing threads, extra listeners): started by
// `tally node` after the node opens and before the listeners; stopped first on shutdown,
// before the mempool drains, because a service may still submit.
import type { ModuleService } from '../chain/app-module.js';
import type { TallyNode } from '../chain/node.js';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { capHttpConnections } from '../api/connections.js';
import { defaultPublicHttpOptions, errorHandler, rejectNonJsonBodies, type ErrorReply } from '../api/http.js';
import { nodeMetrics } from '../api/metrics.js';
import { observeHttp, type AccessLogLevel } from '../api/observe.js';

export class ModuleServices {
  private running: ModuleService[] = [];

  constructor(private readonly node: TallyNode) {}

  /** Start every module's services; returns their info by module. */
  async start(options: { configs?: ReadonlyMap<string, unknown>; flags?: Record<string, unknown>; log?: (line: string) => void } = {}): Promise<Record<string, Record<string, unknown>>> {
    const node = this.node;
    const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
    const infos: Record<string, Record<string, unknown>> = {};
    for (const m of node.modules) {
      if (!m.app.services) continue;
      const service = await m.app.services({
        node, store: node.store, dataDir: node.paths.dir, signer: node.signer, log,
        nextNonce: (accountId) => node.auth(accountId).nonce,
        config: options.configs?.get(m.name), flags: options.flags ?? {},
        // Observed like the public listener: access records and HTTP metrics as "<module>-socket".
        publicListener: (o) => observed(publicListener(o), node, `${m.name}-socket`, options.flags?.accessLog),
      });
      this.running.push(service);
      if (service.info) infos[m.name] = service.info;
    }
    return infos;
  }

  async stop(): Promise<void> {
    const running = this.running.reverse();
    this.running = [];
    for (const s of running) await Promise.resolve(s.stop()).catch(() => undefined);
  }
}

function observed(app: FastifyInstance, node: TallyNode, listener: string, accessLog: unknown): FastifyInstance {
  observeHttp(app, { listener, metrics: nodeMetrics(node), accessLog: (accessLog as AccessLogLevel | undefined) ?? defaultPublicHttpOptions.accessLog });
  return app;
}

/** A Fastify app set up like the public listener, for a module's own listener (the tickets socket, `tally tickets serve`). */
export function publicListener(options: { bodyBytesMax: number; connectionsMax: number; connectionsPerAddressMax: number }): FastifyInstance {
  const o = defaultPublicHttpOptions;
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyBytesMax,
    keepAliveTimeout: o.keepAliveTimeoutMs,
    requestTimeout: o.requestTimeoutMs,
    connectionTimeout: o.headersTimeoutMs,
    http: { headersTimeout: o.headersTimeoutMs, requestTimeout: o.requestTimeoutMs, connectionsCheckingInterval: 1000 },
    frameworkErrors: (err, _req, reply) => errorHandler(err, reply as unknown as ErrorReply),
  });
  app.setErrorHandler((err: FastifyError, _req, reply) => errorHandler(err, reply));
  app.setSerializerCompiler(() => (data) => JSON.stringify(data)); // as the public listener: schemas document only
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url}` } }));
  capHttpConnections(app, { totalMax: options.connectionsMax, perAddressMax: options.connectionsPerAddressMax });
  rejectNonJsonBodies(app);
  return app as unknown as FastifyInstance;
}
