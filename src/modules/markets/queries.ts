// Read-only queries over committed state, served over the socket, HTTP and the CLI alike.
import { formatAmount } from '../../core/amount.js';
import { fail } from '../../core/errors.js';
import { decode, int, object, optional, string, withDefault } from '../../core/decode.js';
import { ACCOUNT_ID } from '../../core/keys.js';
import type { Query, QueryContext } from '../../chain/module.js';
import type { StateReader } from '../../chain/state.js';
import { marketLimits } from './limits.js';
import { equity, maintenanceMargin } from './margin.js';
import type { Side } from './matching.js';
import { markPrice } from './risk.js';
import { accountOrdersPrefix, bookPrefix, getMarket, MARKET_PREFIX, orderKey, positionKey, type BookOrder, type Market, type Position } from './state.js';
import { MARKET_ID } from './state.js';
import { tradeRows } from './trades.js';
import { bookChecksum } from './checksum.js';

const params = <T>(schema: Parameters<typeof decode<T>>[0], raw: unknown): T => decode(schema, raw, 'bad_query', 'params');
const marketParam = string({ pattern: MARKET_ID, maxLength: 32, what: 'a market id' });
const accountParam = string({ pattern: ACCOUNT_ID, maxLength: 40, what: 'an account id (40 hex)' });

function market(state: StateReader, id: string): Market {
  const m = getMarket(state, id);
  if (!m) fail('unknown_market', `no market ${id}`, { status: 404 });
  return m;
}

export function marketView(m: Market): Record<string, unknown> {
  const mark = markPrice(m);
  return { ...m, ...(mark !== undefined ? { mark } : {}) };
}

/** Aggregated depth of a side: [price, size] per level, best first, at most `levels`. */
export function depth(state: StateReader, m: string, side: Side, levels: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let after: string | undefined;
  // Bounded walk: at most levels × openOrdersPerAccountMax orders would be absurd; pages of 200, 50 pages.
  for (let page = 0; page < 50 && out.length <= levels; page++) {
    const rows = state.entries<BookOrder>(bookPrefix(m, side), after === undefined ? { limit: 200 } : { after, limit: 200 });
    for (const [, o] of rows) {
      const last = out[out.length - 1];
      if (last && last[0] === o.price) last[1] += o.size;
      else out.push([o.price, o.size]);
    }
    if (rows.length < 200) break;
    after = rows[rows.length - 1]![0];
  }
  return out.slice(0, levels);
}

/** Both sides' depth, best first. */
export function bookView(state: StateReader, m: string, levels: number): { bids: Array<[number, number]>; asks: Array<[number, number]> } {
  return { bids: depth(state, m, 'buy', levels), asks: depth(state, m, 'sell', levels) };
}

function positionView(ctx: QueryContext, m: Market, account: string, p: Position): Record<string, unknown> {
  const mark = markPrice(m);
  const money = (v: bigint) => formatAmount(v, ctx.params.decimals);
  const out: Record<string, unknown> = { market: m.id, account, size: p.size, cost: p.cost, collateral: money(BigInt(p.collateral)) };
  if (p.size !== 0) out.entry = Number(BigInt(p.cost) / BigInt(p.size));
  if (mark !== undefined) {
    const eq = equity(m, p, mark);
    Object.assign(out, { mark, equity: money(eq), unrealisedPnl: money(eq - BigInt(p.collateral)), maintenance: money(maintenanceMargin(m, p, mark)) });
  }
  return out;
}

export const marketsQueries: Query[] = [
  {
    name: 'markets.list',
    summary: 'every market with its parameters, status, last, index and mark prices',
    run(ctx) {
      return { markets: ctx.state.entries<Market>(MARKET_PREFIX, { limit: marketLimits.marketsMax }).map(([, m]) => marketView(m)) };
    },
  },
  {
    name: 'markets.market',
    summary: 'one market: {market}',
    run(ctx, raw) {
      const p = params(object({ market: marketParam }), raw);
      return marketView(market(ctx.state, p.market));
    },
  },
  {
    name: 'markets.book',
    summary: 'aggregated depth of a market: {market, depth?} → {bids, asks} as [price, size], best first',
    run(ctx, raw) {
      const p = params(object({ market: marketParam, depth: withDefault(int({ min: 1, max: marketLimits.depthMax, text: true }), 20) }), raw);
      market(ctx.state, p.market);
      const book = bookView(ctx.state, p.market, p.depth);
      return { market: p.market, height: ctx.chain.store.tip()?.height ?? null, ...book, checksum: bookChecksum(book) };
    },
  },
  {
    name: 'markets.trades',
    summary: 'a market\'s trades, newest first: {market, limit?, before?} (before: a trade seq, to page back)',
    run(ctx, raw) {
      const p = params(object({
        market: marketParam,
        limit: withDefault(int({ min: 1, max: marketLimits.depthMax, text: true }), 50),
        before: withDefault(int({ min: 0, text: true }), Number.MAX_SAFE_INTEGER),
      }), raw);
      market(ctx.state, p.market);
      return { market: p.market, trades: tradeRows(ctx.chain.store, p.market, p.before, p.limit) };
    },
  },
  {
    name: 'markets.orders',
    summary: 'an account\'s resting orders: {account, market?}',
    run(ctx, raw) {
      const p = params(object({ account: accountParam, market: optional(marketParam) }), raw);
      const orders: BookOrder[] = [];
      for (const [k] of ctx.state.entries(accountOrdersPrefix(p.account, p.market), { limit: 1000 })) {
        const [m, id] = k.split('/').slice(-2) as [string, string];
        const key = ctx.state.get<string>(orderKey(m, id));
        const o = key === undefined ? undefined : ctx.state.get<BookOrder>(key);
        if (o) orders.push({ ...o, market: m } as BookOrder);
      }
      return { account: p.account, orders };
    },
  },
  {
    name: 'markets.positions',
    summary: 'an account\'s positions with entry, equity and unrealised PnL at the mark: {account, market?}',
    run(ctx, raw) {
      const p = params(object({ account: accountParam, market: optional(marketParam) }), raw);
      const list = p.market !== undefined ? [market(ctx.state, p.market)] : ctx.state.entries<Market>(MARKET_PREFIX, { limit: marketLimits.marketsMax }).map(([, m]) => m);
      const out: Array<Record<string, unknown>> = [];
      for (const m of list) {
        const pos = ctx.state.get<Position>(positionKey(m.id, p.account));
        if (pos) out.push(positionView(ctx, m, p.account, pos));
      }
      return { account: p.account, positions: out };
    },
  },
];
