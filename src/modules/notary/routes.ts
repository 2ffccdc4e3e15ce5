// The notary's REST routes. Submitting a batch has the pool sign whatever is sent, so it
// is an operator action: it lives on the internal listener (loopback by default), next to
// /metrics. Reading a batch's status, a record's signature with its proof up to the
// anchored root, and the pool's public keys is public.
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { fail } from '../../core/errors.js';
import type { NodeHandle } from '../../chain/app-module.js';
import { notaryLimits } from './limits.js';
import { registerNotaryMetrics } from './metrics.js';
import { registerNotaryHealth } from './health.js';
import { validateNotaryConfig, type NotaryConfig } from './config.js';
import type { HealthProbes } from '../../chain/health.js';
import { canonicalRecord } from './records.js';
import { NotaryStore } from './store.js';
import { recordProof } from './proof.js';
import { notaryRuntime, type NotaryRuntime } from './service.js';

/** With store "postgres" in config.json: the open PostgreSQL store, or 503 while it does not answer. */
function pgStore(runtime: NotaryRuntime) {
  return runtime.pg ?? fail('pg_unreachable', 'the notary store (PostgreSQL) is not open yet', { status: 503, hint: 'the node retries; see /health and its log' });
}

/** Objects keep fields they do not list: the schemas document, they never trim an answer. */
const open = (description: string, properties: Record<string, unknown> = {}) => ({ type: 'object', description, properties, additionalProperties: true });
const batchView = open('a batch: {batch, state, records, first_record, signed, created_at, signed_at, root, anchor_tx, anchor_height}', {
  batch: { type: 'integer' }, state: { type: 'string', enum: ['pending', 'signed', 'anchored'] }, records: { type: 'integer' }, signed: { type: 'integer' },
});

export function notaryInternalRoutes(app: FastifyInstance, node: NodeHandle, ctx?: { metrics: Registry; health?: HealthProbes }, config?: NotaryConfig): void {
  const db = node.store?.db;
  if (!db) return;
  const runtime = notaryRuntime(node);
  if (ctx) registerNotaryMetrics(ctx.metrics, db, runtime);
  const notaryConfig = config ?? validateNotaryConfig(undefined);
  // The probes read the SQLite tables; with store "postgres" those stay idle, and the
  // PostgreSQL store reports itself (a /health warning while it does not answer).
  if (ctx?.health && notaryConfig.store === 'sqlite') registerNotaryHealth(ctx.health, db, notaryConfig);
  const store = new NotaryStore(db);
  app.post('/v1/notary/batches', {
    schema: {
      operationId: 'submitNotaryBatch', tags: ['notary'],
      response: { 200: { ...batchView, description: 'these records are already a batch: that batch, duplicate: true' }, 202: { ...batchView, description: 'stored durably, to be signed: the batch, duplicate: false' }, 413: { description: 'batch_too_large: more records than one batch holds' } },
      summary: `submit up to ${notaryLimits.batchRecordsMax} records (any JSON values) as one batch; answers 202 once the batch is durable, before it is signed; the same records again answer 200 with the existing batch and duplicate: true`,
      // Checked by hand below: Fastify's validator would coerce a string into a one-item
      // array and silently drop unknown fields, and a notary must sign exactly what was sent.
      body: { type: 'object', description: '{"records": [JSON value, ...]}', additionalProperties: true },
    },
  }, async (req, reply) => {
    const body = req.body as Record<string, unknown>;
    const extra = Object.keys(body).find((k) => k !== 'records');
    if (extra !== undefined) fail('bad_request', `unknown field "${extra.slice(0, 64)}"; send {"records": [...]}`);
    if (!Array.isArray(body.records) || body.records.length === 0) fail('bad_request', 'records must be a non-empty array of JSON values');
    if (body.records.length > notaryLimits.batchRecordsMax) fail('batch_too_large', `at most ${notaryLimits.batchRecordsMax} records per batch`, { status: 413 });
    const records = body.records.map((r, i) => canonicalRecord(r, `records[${i}]`));
    if (runtime.pgConfigured) {
      const pg = pgStore(runtime);
      const [b] = await pg.submit(records, 'http');
      return reply.status(b!.duplicate ? 200 : 202).send({ ...await pg.batchStatus(b!.batch), duplicate: b!.duplicate });
    }
    const [b] = store.submit(records, 'http');
    // The same records again (a retry whose answer was lost, say): the existing batch, 200.
    return reply.status(b!.duplicate ? 200 : 202).send({ ...store.batchStatus(b!.batch), duplicate: b!.duplicate });
  });
}

export function notaryRoutes(app: FastifyInstance, node: NodeHandle): void {
  const runtime = notaryRuntime(node);
  const db = node.store?.db;
  if (!db) return;
  const store = new NotaryStore(db);
  const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[1-9][0-9]{0,14}$' } } } as const;
  app.get('/v1/notary/batches/:id', {
    schema: {
      operationId: 'getNotaryBatch', tags: ['notary'], summary: 'a batch: state (pending | signed | anchored), progress, Merkle root, anchor transaction', params: idParams,
      response: { 200: batchView, 404: { description: 'batch_not_found: no batch with this number' } },
    },
  },
    async (req) => {
      const id = Number((req.params as { id: string }).id);
      return runtime.pgConfigured ? pgStore(runtime).batchStatus(id) : store.batchStatus(id);
    });
  app.get('/v1/notary/records/:id', {
    schema: {
      operationId: 'getNotaryRecord', tags: ['notary'], summary: 'a record with its signature, key, and Merkle proof to its batch root and anchor', params: idParams,
      response: {
        200: open('signed: {id, batch, record, kid, alg, sig, signed_at, leaf, proof, root, anchor_tx, anchor_height}; not yet: {id, batch, record, state: "pending"}', { id: { type: 'integer' }, batch: { type: 'integer' } }),
        404: { description: 'record_not_found: no record with this number' },
      },
    },
  },
    async (req) => {
      const id = Number((req.params as { id: string }).id);
      return (runtime.pgConfigured ? await pgStore(runtime).recordProof(id) : recordProof(store, id)) ?? fail('record_not_found', 'no such record', { status: 404 });
    });
  app.get('/v1/notary/keys', {
    schema: {
      operationId: 'getNotaryKeys', tags: ['notary'], summary: 'the public keys of the pool (PEM), with their status',
      response: { 200: { type: 'array', items: open('{kid, type, alg, status, created_at, retired_at, public_pem}', { kid: { type: 'string' }, status: { type: 'string', enum: ['active', 'retired'] }, public_pem: { type: 'string' } }) } },
    },
  },
    async () => (runtime.pgConfigured ? await pgStore(runtime).keys() : store.keys()).map(publicKeyView));
}

export function publicKeyView(k: { kid: string; type: string; alg: string; public_pem: string; created_at: number; retired_at: number | null }) {
  return {
    kid: k.kid, type: k.type, alg: k.alg, status: k.retired_at === null ? 'active' : 'retired',
    created_at: new Date(k.created_at).toISOString(),
    retired_at: k.retired_at === null ? null : new Date(k.retired_at).toISOString(),
    public_pem: k.public_pem,
  };
}
