// The oracle module's REST routes on the public listener: thin views over its queries, so
// HTTP, the socket and the CLI answer alike.
import type { FastifyInstance } from 'fastify';
import type { NodeHandle } from '../../chain/app-module.js';
import { ORACLE_PAGE_MAX } from './queries.js';

/** Objects keep fields they do not list: the schemas document, they never trim an answer. */
const open = (description: string, properties: Record<string, unknown> = {}) => ({ type: 'object', description, properties, additionalProperties: true });
const hex32 = { type: 'string', pattern: '^[0-9a-f]{64}$', minLength: 64, maxLength: 64 };
const eventIdSchema = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$', minLength: 1, maxLength: 64 };
const pageQuery = (after: object) => ({
  type: 'object',
  additionalProperties: false,
  properties: { after, limit: { type: 'string', pattern: '^[0-9]{1,3}$', description: `page size, 1-${ORACLE_PAGE_MAX} (default 50)` } },
});
const oracleView = open('oracle.get: {pubkey, owner, name, profile, status, registered, events, frozen?}', {
  pubkey: { type: 'string' }, owner: { type: 'string' }, name: { type: 'string' }, profile: { type: 'string', enum: ['dlcspecs-v0', 'sha256-plain'] },
  status: { type: 'string', enum: ['active', 'frozen'] }, registered: { type: 'integer' }, events: { type: 'integer' },
});
const eventView = open('oracle.event: {oracle, eventId, maturity, base, signed, digits, unit, precision, nonces, announcementSig, announced, status, attestation?}', {
  oracle: { type: 'string' }, eventId: { type: 'string' }, maturity: { type: 'integer' }, status: { type: 'string', enum: ['announced', 'attested'] },
  attestation: open('{outcomes, sigs, outcome (decimal integer), atBound, height, tx}'),
});
const pageOf = (items: object) => open('a page', { items: { type: 'array', items }, next: { type: ['string', 'null'], description: 'pass as after= for the next page; null on the last' } });
const badQuery = { 400: { description: 'bad_query: a parameter is malformed' } };
const unknownOracle = { 404: { description: 'unknown_oracle: no oracle with this key' } };

export function oracleRoutes(app: FastifyInstance, node: NodeHandle): void {
  const oracleParam = { type: 'object', required: ['oracle'], properties: { oracle: hex32 } } as const;
  app.get('/v1/oracles', {
    schema: {
      operationId: 'listOracles', tags: ['oracle'], summary: 'registered oracles, in key order', querystring: pageQuery(hex32),
      response: { 200: pageOf(oracleView), ...badQuery },
    },
  }, async (req) => node.query('oracle.list', req.query as Record<string, unknown>));
  app.get('/v1/oracles/:oracle', {
    schema: {
      operationId: 'getOracle', tags: ['oracle'], summary: 'one oracle: owner, profile, status (active or frozen)', params: oracleParam,
      response: { 200: oracleView, ...badQuery, ...unknownOracle },
    },
  }, async (req) => node.query('oracle.get', req.params as Record<string, unknown>));
  app.get('/v1/oracles/:oracle/events', {
    schema: {
      operationId: 'listOracleEvents', tags: ['oracle'], summary: "an oracle's events in event-id order, with their attestations",
      params: oracleParam, querystring: pageQuery(eventIdSchema),
      response: { 200: pageOf(eventView), ...badQuery, ...unknownOracle },
    },
  }, async (req) => node.query('oracle.events', { ...(req.query as Record<string, unknown>), ...(req.params as Record<string, unknown>) }));
  app.get('/v1/oracles/:oracle/events/:eventId', {
    schema: {
      operationId: 'getOracleEvent', tags: ['oracle'], summary: 'one event: descriptor, nonces, announcement signature, attestation',
      params: { type: 'object', required: ['oracle', 'eventId'], properties: { oracle: hex32, eventId: eventIdSchema } },
      response: { 200: eventView, ...badQuery, 404: { description: 'unknown_oracle, unknown_event: no such oracle, or no such event of it' } },
    },
  }, async (req) => node.query('oracle.event', req.params as Record<string, unknown>));
}
