// The ledger's REST routes on the public listener. Each is a thin view over a query, so
// the socket, HTTP and the CLI answer alike; POST /v1/query/:name reaches the rest
// (ledger.audit, which must be signed, and ledger.verify with a detached signature).
import type { FastifyInstance } from 'fastify';
import type { NodeHandle } from '../../chain/app-module.js';

export function ledgerRoutes(app: FastifyInstance, node: NodeHandle): void {
  const ref = { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
  const name = (req: { params: unknown }) => (req.params as { name: string }).name;
  app.get('/v1/accounts/:name', { schema: { summary: 'whoami: an account by name, id or key: id, name, key, balance, nonce, roles, created', params: ref } },
    async (req) => node.query('ledger.whoami', { account: name(req) }));
  app.get('/v1/accounts/:name/balance', { schema: { summary: 'total, held and available balance', params: ref } },
    async (req) => node.query('ledger.balance', { account: name(req) }));
  app.get('/v1/accounts/:name/history', {
    schema: {
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
    },
  }, async (req) => node.query('ledger.history', { account: name(req), ...(req.query as Record<string, unknown>) }));
  app.get('/v1/disputes/:id', {
    schema: { summary: 'one dispute by number', params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]{1,15}$' } } } },
  }, async (req) => node.query('ledger.dispute', { dispute: (req.params as { id: string }).id }));
  app.get('/v1/statements/:id', {
    schema: { summary: 'check a recorded statement; the answer carries the bundle for offline verification', params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9a-f]{64}$' } } } },
  }, async (req) => node.query('ledger.verify', { statement: (req.params as { id: string }).id }));
}
