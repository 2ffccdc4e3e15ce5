// Public HTTP (Fastify): JSON REST under /v1, batch submit, a WebSocket that streams new
// blocks, and the OpenAPI document. Every route has a schema with bounds.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import websocket from '@fastify/websocket';
import { errorBody, errorStatus, TallyError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { TallyNode } from '../chain/node.js';
import { addressMatcher, capHttpConnections } from './connections.js';
import { registerCors } from './cors.js';
import { blockGetJson, methods } from './methods.js';
import { nodeMetrics } from './metrics.js';
import { observeHttp, type AccessLogLevel } from './observe.js';
import { log } from '../app/log.js';
import { registerCostLimit } from './rate-limit.js';
import { registerBlockStream } from './ws-fanout.js';
import { registerWebPage } from './web.js';
import { accountBundleSchema, anyJson, authSchema, blockSchema, envelopeSchema, errors, nodeInfoSchema, proofSchema, registerOpenApi, stateBundleSchema, submitAnswerSchema, txViewSchema } from './openapi.js';
import { STATE_KEY_BYTES_MAX } from '../chain/state-proofs.js';

// Loose on purpose: admission checks envelopes and answers each defect with its own code.
const envelopeBody = { type: 'object', description: envelopeSchema.description, additionalProperties: true } as const;

export const TX_ID_PATTERN = '^[0-9a-f]{64}$';

export type ErrorReply = { status: (n: number) => { send: (b: unknown) => unknown } };

export function errorHandler(err: FastifyError | TallyError | Error, reply: ErrorReply) {
  if (err instanceof TallyError) return reply.status(errorStatus(err)).send({ error: errorBody(err) });
  const fe = err as FastifyError;
  if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (fe.statusCode === 400 && err instanceof SyntaxError)) {
    return reply.status(400).send({ error: { code: 'bad_json', message: 'the request body is not valid JSON' } });
  }
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return reply.status(413).send({ error: { code: 'body_too_large', message: `the request body may be at most ${limits.httpBodyBytesMax} bytes` } });
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return reply.status(415).send({ error: { code: 'bad_content_type', message: 'send JSON with content-type: application/json' } });
  }
  if (fe.validation?.some((v) => v.keyword === 'maxItems')) {
    return reply.status(413).send({ error: { code: 'batch_too_large', message: `at most ${limits.batchTxCountMax} transactions per batch` } });
  }
  if (fe.validation) return reply.status(400).send({ error: { code: 'bad_request', message: err.message } });
  if (fe.code === 'FST_ERR_BAD_URL') return reply.status(400).send({ error: { code: 'bad_url', message: 'the URL is not valid (bad percent-encoding?)' } });
  if (fe.code === 'FST_ERR_MAX_PARAM_LENGTH') return reply.status(414).send({ error: { code: 'url_too_long', message: 'a path parameter is too long' } });
  if (fe.statusCode && fe.statusCode < 500) return reply.status(fe.statusCode).send({ error: { code: 'bad_request', message: err.message } });
  log().error({ err }, `http request failed: ${err.message}`);
  return reply.status(500).send({ error: { code: 'internal', message: 'internal error' } });
}

export interface PublicHttpOptions {
  /** rate-limit units per minute per client (a request 1, a submitted transaction 1, a proof or full block more); 0 turns the limit off */
  rateLimitPerMin: number;
  /** addresses or CIDRs of reverse proxies whose X-Forwarded-For names the real client */
  trustProxy: readonly string[];
  /** a keep-alive connection idle this long is closed */
  keepAliveTimeoutMs: number;
  /** a request's headers must arrive within this time of its first byte (and a new connection must send them) */
  headersTimeoutMs: number;
  /** a whole request, body included, must arrive within this time */
  requestTimeoutMs: number;
  /** connections at once, in all */
  connectionsMax: number;
  /** connections at once from one address (trusted proxies exempt) */
  connectionsPerAddressMax: number;
  /** level of the one-line-per-request access log, or off */
  accessLog: AccessLogLevel;
  /** origins whose browser pages may read the API (CORS), or ["*"]; none: CORS off */
  corsOrigins: readonly string[];
}

export const defaultPublicHttpOptions: Readonly<PublicHttpOptions> = Object.freeze({
  rateLimitPerMin: 60_000,
  trustProxy: [],
  // Longer than any client's own idle timeout (undici's fetch: 4 s), so a client never
  // reuses a connection the server is closing; idle floods are bounded by the caps.
  keepAliveTimeoutMs: 65_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  connectionsMax: 2048,
  connectionsPerAddressMax: 256,
  accessLog: 'debug',
  corsOrigins: [],
});

export async function buildPublicHttp(node: TallyNode, options: Partial<PublicHttpOptions> = {}): Promise<FastifyInstance> {
  const o = { ...defaultPublicHttpOptions, ...options };
  const app = Fastify({
    logger: false,
    bodyLimit: limits.httpBodyBytesMax,
    routerOptions: { maxParamLength: 200 },
    // Behind a trusted proxy, req.ip is the client X-Forwarded-For names; from anyone else it is the peer.
    trustProxy: o.trustProxy.length > 0 ? [...o.trustProxy] : false,
    keepAliveTimeout: o.keepAliveTimeoutMs,
    requestTimeout: o.requestTimeoutMs,
    // A connection that sends nothing at all is closed after the headers timeout too.
    connectionTimeout: o.headersTimeoutMs,
    http: { headersTimeout: o.headersTimeoutMs, requestTimeout: o.requestTimeoutMs, connectionsCheckingInterval: Math.min(1000, o.headersTimeoutMs) },
    // Errors raised before routing (bad percent-encoding, over-long parameters) get our error shape too.
    frameworkErrors: (err, _req, reply) => errorHandler(err, reply as unknown as ErrorReply),
  });
  // Response schemas document the API (OpenAPI); they never shape an answer. Serialized
  // by schema, fields came out in the schema's order, so the same receipt read back from
  // /v1/txs/:id differed in bytes from the one /v1/txs answered.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setErrorHandler((err, _req, reply) => errorHandler(err as FastifyError, reply));
  observeHttp(app, { listener: 'public', metrics: nodeMetrics(node), accessLog: o.accessLog });
  capHttpConnections(app, { totalMax: o.connectionsMax, perAddressMax: o.connectionsPerAddressMax, exempt: addressMatcher(o.trustProxy) });
  rejectNonJsonBodies(app);
  if (o.corsOrigins.length > 0) await registerCors(app, o.corsOrigins);
  if (o.rateLimitPerMin > 0) registerCostLimit(app, o.rateLimitPerMin);
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url}` } }));
  await registerOpenApi(app, { rateLimited: o.rateLimitPerMin > 0 });
  await app.register(websocket, { options: { maxPayload: 4096 } });

  app.get('/v1/openapi.json', { schema: { operationId: 'getOpenApi', tags: ['chain'], summary: 'this document (OpenAPI 3)', response: { 200: anyJson('the OpenAPI document') } } }, async () => app.swagger());

  app.get('/v1/node', { schema: { operationId: 'getNode', tags: ['chain'], summary: 'chain id, decimals, tip, node key, modules', response: { 200: nodeInfoSchema } } }, async () => node.info());

  app.post('/v1/txs', {
    schema: {
      operationId: 'submitTxs',
      tags: ['chain'],
      summary: 'submit one transaction (answers its receipt) or an array of up to 1,000 (answers an array of receipts or errors); answers after commit',
      body: { oneOf: [envelopeBody, { type: 'array', maxItems: limits.batchTxCountMax, items: envelopeBody }] },
      response: {
        200: submitAnswerSchema,
        ...errors({
          401: 'bad_signature, wrong_key, account_mismatch: the signature or key does not fit',
          403: 'not_registered, registration_closed, invite_*: the ledger refuses this account or invite',
          404: 'account_not_found: no account for tx.from (register first)',
          409: 'nonce_gap, expired, already_registered, name_taken, ...: retry with a fresh nonce or other values (details.expected is the nonce to use)',
          413: 'batch_too_large: more than 1,000 transactions',
          422: 'insufficient_funds, self_transfer, ...: a valid transaction the rules refuse',
          429: 'too_many_pending: this account has too many transactions waiting',
          503: 'mempool_full, node_stopping, node_halted, storage_failed: retry later',
        }),
      },
    },
  }, async (req, reply) => {
    const body = req.body as unknown;
    if (Array.isArray(body)) return methods['tx.submit']!(node, { txs: body });
    const result = (await methods['tx.submit']!(node, { tx: body })) as { error?: unknown; status?: number };
    if (result.error) return (reply as FastifyReply).status(result.status ?? 400).send({ error: result.error });
    return result;
  });

  const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: TX_ID_PATTERN } } } as const;
  const txNotFound = errors({ 404: 'tx_not_found: no committed transaction with this id' });
  app.get('/v1/txs/:id', { schema: { operationId: 'getTx', tags: ['chain'], summary: 'a transaction with its receipt', params: idParams, response: { 200: txViewSchema, ...txNotFound } } },
    async (req) => methods['tx.get']!(node, req.params as Record<string, unknown>));
  app.get('/v1/txs/:id/proof', { schema: { operationId: 'getTxProof', tags: ['chain'], summary: 'Merkle inclusion proof of a transaction receipt, with the signed block header', params: idParams, response: { 200: proofSchema, ...txNotFound } } },
    async (req) => methods['tx.proof']!(node, req.params as Record<string, unknown>));
  app.get('/v1/blocks/:height', {
    schema: {
      operationId: 'getBlock',
      tags: ['chain'],
      summary: 'a signed block header and its transaction ids (?full=1: the transactions with their receipts)',
      params: { type: 'object', properties: { height: { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$' } } },
      querystring: { type: 'object', properties: { full: { type: 'string', enum: ['0', '1', 'true', 'false'] } } },
      response: { 200: blockSchema, ...errors({ 404: 'block_not_found: no block at this height yet' }) },
    },
  }, async (req, reply) => reply.type('application/json; charset=utf-8')
    // A full block is serialized once and kept: sent as those bytes, no JSON.stringify per request.
    .send(blockGetJson(node, { ...(req.params as Record<string, unknown>), ...(req.query as Record<string, unknown>) })));
  app.get('/v1/auth/:id', {
    schema: { operationId: 'getAuth', tags: ['chain'], summary: 'public key and next nonce of an account id (nonce counts pending transactions)', params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9a-f]{40}$' } } }, response: { 200: authSchema } },
  }, async (req) => methods['auth.get']!(node, req.params as Record<string, unknown>));
  app.get('/v1/genesis', { schema: { operationId: 'getGenesis', tags: ['chain'], summary: 'the genesis document of this chain', response: { 200: anyJson('the genesis document (README, "Genesis")') } } }, async () => node.genesis);
  app.post('/v1/query/:name', {
    schema: {
      operationId: 'runQuery',
      tags: ['chain'],
      summary: 'run a module query by name (see /v1/node for the list)',
      description: 'Signed queries (ledger.audit) carry params.auth = {account, at, sig}: see x-tally-signed-query at the top of this document.',
      'x-tally-signed-query': ['ledger.audit'],
      params: { type: 'object', properties: { name: { type: 'string', maxLength: 64 } } },
      body: { type: 'object', additionalProperties: true },
      response: {
        200: anyJson('the query\'s answer (README: the module\'s section)'),
        ...errors({
          400: 'bad_params, bad_query, bad_cursor, query_auth_invalid: the params do not fit the query',
          401: 'query_auth_required, query_auth_invalid, query_auth_stale: a signed query needs a fresh valid signature',
          404: 'unknown_query, unknown_account, dispute_not_found, statement_not_found, ...',
          409: 'query_auth_replayed: a signed query is usable once',
          429: 'query_auth_busy, audit_busy: too many signed queries or audits of this account',
          503: 'query_auth_busy: too many signed queries in flight on this node',
        }),
      },
    },
  }, async (req) => methods.query!(node, { name: (req.params as { name: string }).name, params: req.body ?? {} }));

  const heightQuery = { type: 'string', pattern: '^(0|[1-9][0-9]{0,14})$', description: 'a committed height (default: the tip)' };
  const heightErrors = {
    404: 'height_unknown: no committed block at that height',
    410: 'height_pruned: the state at that height is no longer provable (older versions of the tree are pruned)',
  };
  app.get('/v1/state/proof', {
    schema: {
      operationId: 'getStateProof',
      tags: ['chain'],
      summary: 'a state key\'s value, or its absence, at a height, proven against that block\'s stateRoot, with the signed header',
      querystring: {
        type: 'object', additionalProperties: false, required: ['key'],
        properties: { key: { type: 'string', minLength: 1, maxLength: STATE_KEY_BYTES_MAX, description: 'a state key, e.g. ledger/name/alice' }, height: heightQuery },
      },
      response: { 200: stateBundleSchema, ...errors({ 400: 'bad_state_key: not a state key (printable ASCII, at most 256 characters)', ...heightErrors }) },
    },
  }, async (req) => methods['state.proof']!(node, req.query as Record<string, unknown>));
  if (node.modules.some((m) => m.name === 'ledger')) {
    app.get('/v1/accounts/:name/proof', {
      schema: {
        operationId: 'getAccountProof',
        tags: ['ledger'],
        summary: 'an account by name or id at a height (balance, held, created), proven against that block\'s stateRoot, with the signed header; an unknown name is proven absent',
        params: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 64 } } },
        querystring: { type: 'object', additionalProperties: false, properties: { height: heightQuery } },
        response: { 200: accountBundleSchema, ...errors({ 400: 'name_invalid: neither an account name nor an account id', ...heightErrors }) },
      },
    }, async (req) => methods['account.proof']!(node, { name: (req.params as { name: string }).name, ...(req.query as Record<string, unknown>) }));
  }

  registerBlockStream(app, node);
  registerWebPage(app);

  for (const m of node.modules) m.app.routes?.(app, node);
  return app;
}

/**
 * Only JSON bodies: Fastify also parses text/plain by default, which then failed schema
 * validation as 400 bad_request; every other media type is 415 bad_content_type.
 */
export function rejectNonJsonBodies(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');
}
