// The ledger's REST routes on the public listener. Each is a thin view over a query, so
// the socket, HTTP and the CLI answer alike; POST /v1/query/:name reaches the rest
// (ledger.audit, which must be signed, and ledger.verify with a detached signature).
import type { FastifyInstance } from 'fastify';
import type { NodeHandle } from '../../chain/app-module.js';

/** Objects keep fields they do not list: the schemas document, they never trim an answer. */
const open = (description: string, properties: Record<string, unknown> = {}) => ({ type: 'object', description, properties, additionalProperties: true });
const amount = { type: 'string', description: 'decimal amount' };
const nullableString = { type: ['string', 'null'] };
const unknownAccount = { 404: { description: 'unknown_account: no account by that name, id or key' } };

export function ledgerRoutes(app: FastifyInstance, node: NodeHandle): void {
  const ref = { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
  const name = (req: { params: unknown }) => (req.params as { name: string }).name;
  app.get('/v1/accounts/:name', {
    schema: {
      operationId: 'getAccount', tags: ['ledger'], summary: 'whoami: an account by name, id or key: id, name, key, balance, nonce, roles, created', params: ref,
      response: {
        200: open('ledger.whoami', {
          id: { type: 'string' }, name: nullableString, pub: nullableString, registered: { type: 'boolean' }, balance: amount, held: amount, available: amount,
          nonce: { type: 'integer' }, roles: { type: 'array', items: { type: 'string' } }, created: { description: '{height, time} of the registration, or null' },
        }),
        ...unknownAccount,
      },
    },
  },
    async (req) => node.query('ledger.whoami', { account: name(req) }));
  app.get('/v1/accounts/:name/balance', {
    schema: {
      operationId: 'getBalance', tags: ['ledger'], summary: 'total, held and available balance', params: ref,
      response: { 200: open('ledger.balance', { id: { type: 'string' }, name: { type: 'string' }, total: amount, held: amount, available: amount }), ...unknownAccount },
    },
  },
    async (req) => node.query('ledger.balance', { account: name(req) }));
  app.get('/v1/accounts/:name/history', {
    schema: {
      operationId: 'getHistory',
      tags: ['ledger'],
      summary: 'the account\'s transactions, newest first; page with ?cursor= (the previous page\'s "next")',
      params: ref,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          with: { type: 'string', maxLength: 64 },
          since: { type: 'string', maxLength: 32 },
          until: { type: 'string', maxLength: 32 },
          limit: { type: 'string', pattern: '^[0-9]{1,3}$' },
          cursor: { type: 'string', maxLength: 16 },
        },
      },
      response: {
        200: open('ledger.history', {
          account: open('{id, name}'),
          items: { type: 'array', items: open('{id, height, index, time, type, status, code?, change, counterparty, memo?, events}') },
          next: { ...nullableString, description: 'the cursor of the next page; null on the last' },
        }),
        400: { description: 'bad_query, bad_cursor: a filter or the cursor is not valid' },
        ...unknownAccount,
      },
    },
  }, async (req) => node.query('ledger.history', { account: name(req), ...(req.query as Record<string, unknown>) }));
  app.get('/v1/disputes/:id', {
    schema: {
      operationId: 'getDispute', tags: ['ledger'], summary: 'one dispute by number', params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]{1,15}$' } } },
      response: {
        200: open('ledger.dispute: {id, transfer, from, to, amount, hold, reason, status, seconds, opened, openedBy, names, resolution?}', { id: { type: 'integer' }, status: { type: 'string' } }),
        404: { description: 'dispute_not_found: no dispute with this number' },
      },
    },
  }, async (req) => node.query('ledger.dispute', { dispute: (req.params as { id: string }).id }));
  app.get('/v1/statements/:id', {
    schema: {
      operationId: 'getStatement', tags: ['ledger'], summary: 'check a recorded statement; the answer carries the bundle for offline verification',
      params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9a-f]{64}$' } } },
      response: {
        200: open('ledger.verify: {kind, valid, statement, signerName, bundle (tally-statement/v1)}', { kind: { type: 'string' }, valid: { type: 'boolean' } }),
        404: { description: 'statement_not_found: no successful statement with this id' },
      },
    },
  }, async (req) => node.query('ledger.verify', { statement: (req.params as { id: string }).id }));
}
