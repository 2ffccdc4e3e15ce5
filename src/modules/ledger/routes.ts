// The ledger's REST routes on the public listener.
import type { FastifyInstance } from 'fastify';
import type { NodeHandle } from '../../chain/module.js';

export function ledgerRoutes(app: FastifyInstance, node: NodeHandle): void {
  const params = { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
  app.get('/v1/accounts/:name', { schema: { summary: 'an account by name or id: id, name, key, nonce, balance', params } },
    async (req) => node.query('ledger.account', { account: (req.params as { name: string }).name }));
  app.get('/v1/accounts/:name/balance', { schema: { summary: 'total, held and available balance', params } },
    async (req) => node.query('ledger.balance', { account: (req.params as { name: string }).name }));
}
