// The markets' REST routes on the public listener: thin views over the queries, so HTTP,
// the socket and the CLI answer alike. Orders are transactions: POST /v1/txs.
import type { FastifyInstance } from 'fastify';
import type { NodeHandle } from '../../chain/app-module.js';

const open = (description: string, properties: Record<string, unknown> = {}) => ({ type: 'object', description, properties, additionalProperties: true });
const marketParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,31}$' } } } as const;
const accountParams = { type: 'object', required: ['account'], properties: { account: { type: 'string', pattern: '^[0-9a-f]{40}$' } } } as const;
const unknownMarket = { 404: { description: 'unknown_market: no market with this id' } };
const levels = { type: 'array', items: { type: 'array', items: { type: 'integer' } }, description: '[price, size] per level, best first' };

export function marketsRoutes(app: FastifyInstance, node: NodeHandle): void {
  const id = (req: { params: unknown }) => (req.params as { id: string }).id;
  const account = (req: { params: unknown }) => (req.params as { account: string }).account;
  app.get('/v1/markets', {
    schema: { operationId: 'listMarkets', tags: ['markets'], summary: 'every market: parameters, status, last, index and mark prices', response: { 200: open('markets.list', { markets: { type: 'array', items: open('market') } }) } },
  }, async () => node.query('markets.list', {}));
  app.get('/v1/markets/:id', {
    schema: { operationId: 'getMarket', tags: ['markets'], summary: 'one market', params: marketParams, response: { 200: open('markets.market'), ...unknownMarket } },
  }, async (req) => node.query('markets.market', { market: id(req) }));
  app.get('/v1/markets/:id/book', {
    schema: {
      operationId: 'getBook', tags: ['markets'], summary: 'aggregated depth at the committed height, with the checksum of the top 10 levels (as the book feed sends it)', params: marketParams,
      querystring: { type: 'object', additionalProperties: false, properties: { depth: { type: 'string', pattern: '^[0-9]{1,3}$' } } },
      response: { 200: open('markets.book', { market: { type: 'string' }, height: { type: ['integer', 'null'] }, bids: levels, asks: levels, checksum: { type: 'string' } }), ...unknownMarket },
    },
  }, async (req) => node.query('markets.book', { market: id(req), ...(req.query as Record<string, unknown>) }));
  app.get('/v1/markets/:id/trades', {
    schema: {
      operationId: 'getTrades', tags: ['markets'], summary: 'trades (transactions\' fills and endBlock\'s liquidation and ADL fills, kind trade/liquidation/adl), newest first; page back with ?before=<seq>', params: marketParams,
      querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'string', pattern: '^[0-9]{1,3}$' }, before: { type: 'string', pattern: '^[0-9]{1,15}$' } } },
      response: { 200: open('markets.trades', { trades: { type: 'array', items: open('{market, seq, height, time, price, size, side, maker, taker, kind}') } }), ...unknownMarket },
    },
  }, async (req) => node.query('markets.trades', { market: id(req), ...(req.query as Record<string, unknown>) }));
  app.get('/v1/markets/accounts/:account/orders', {
    schema: { operationId: 'getAccountOrders', tags: ['markets'], summary: 'an account\'s resting orders in every market', params: accountParams, response: { 200: open('markets.orders', { orders: { type: 'array', items: open('order') } }) } },
  }, async (req) => node.query('markets.orders', { account: account(req) }));
  app.get('/v1/markets/accounts/:account/positions', {
    schema: { operationId: 'getAccountPositions', tags: ['markets'], summary: 'an account\'s positions: size, entry, collateral, equity, unrealised PnL and maintenance at the mark', params: accountParams, response: { 200: open('markets.positions', { positions: { type: 'array', items: open('position') } }) } },
  }, async (req) => node.query('markets.positions', { account: account(req) }));
}
