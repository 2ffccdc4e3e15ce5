// The markets transaction types. parse() checks the body alone (admission and executor);
// apply() checks it against state and either does all of it or fails with a code and
// changes nothing (the executor drops a failed transaction's writes whole).
import { fail } from '../../core/errors.js';
import { array, bool, decode, int, object, oneOf, optional, string, withCode, withDefault, type Decoder } from '../../core/decode.js';
import type { TxContext, TxEvent, TxType } from '../../chain/module.js';
import { findOrder, insertOrder, loadSide, openCount, walkSide, opposite, removeOrder, shrinkOrder, type LoadedOrder } from './book.js';
import { Clearing } from './clearing.js';
import { enforceReduceOnly, reduceOnlyAdmit } from './reduce-only.js';
import { closeFromDeps } from './close.js';
import type { MarketsDeps } from './deps.js';
import { marketLimits } from './limits.js';
import { bps, notional, orderHold, priceBps } from './margin.js';
import { crosses, match, type Side, type Tif } from './matching.js';
import { accountOrdersPrefix, getMarket, getPosition, MARKET_ID, MARKET_PREFIX, marketKey, orderId, type BookOrder, type Market } from './state.js';

const body = <T>(schema: Decoder<T>) => (raw: unknown): T => decode(schema, raw, 'bad_body', 'body');
export { MARKET_ID };
const ORACLE_ID = /^[0-9a-f]{64}$/;
const EVENT_ID = /^[A-Za-z0-9._:/-]{1,64}$/;
const ORDER_ID = /^[0-9]{1,12}\.[0-9]{1,4}\.[0-9]{1,4}$/;
const marketRef = withCode('bad_market', string({ pattern: MARKET_ID, maxLength: 32, what: 'a market id (lowercase letters, digits, "-")' }));
const bpsField = (max: number) => int({ min: 0, max, what: `basis points from 0 to ${max}` });
const price = withCode('bad_price', int({ min: 1, max: marketLimits.priceMax, what: `a price in price units from 1 to ${marketLimits.priceMax}` }));
const size = withCode('bad_size', int({ min: 1, max: marketLimits.sizeMax, what: `a size in size units from 1 to ${marketLimits.sizeMax}` }));

// ---------------------------------------------------------------------------------------
// markets.create (chain admin)

/** What the admin chooses; the rest of a Market record the chain derives or keeps. */
export type CreateBody = Pick<Market, 'id' | 'kind' | 'oracles' | 'event' | 'series' | 'priceExponent' | 'tickSize' | 'lotSize'
  | 'multiplier' | 'initialMarginBps' | 'maintenanceMarginBps' | 'makerFeeBps' | 'takerFeeBps' | 'bandBps' | 'fundingBps'
  | 'fundingCapBps' | 'liquidationFeeBps'>;

const createBody = body(object({
  id: marketRef,
  kind: withCode('bad_market_kind', oneOf(['future', 'perpetual'] as const)),
  oracles: withCode('bad_oracle', array(string({ pattern: ORACLE_ID, maxLength: 64, what: 'an oracle id (64 hex)' }), { minItems: 1, maxItems: marketLimits.oraclesPerMarketMax })),
  event: optional(withCode('bad_event', string({ pattern: EVENT_ID, maxLength: 64, what: 'an event id' }))),
  series: optional(withCode('bad_event', string({ pattern: EVENT_ID, maxLength: 64, what: 'an event id prefix' }))),
  priceExponent: withDefault(int({ min: -18, max: 18 }), 0),
  tickSize: withDefault(int({ min: 1, max: 1e9 }), 1),
  lotSize: withDefault(int({ min: 1, max: 1e9 }), 1),
  multiplier: withDefault(string({ pattern: /^[1-9][0-9]{0,17}$/, what: 'a positive integer of minor units (decimal string)' }), '1'),
  initialMarginBps: withDefault(bpsField(10_000), 1000),
  maintenanceMarginBps: withDefault(bpsField(10_000), 500),
  makerFeeBps: withDefault(bpsField(1000), 2),
  takerFeeBps: withDefault(bpsField(1000), 5),
  bandBps: withDefault(bpsField(10_000), 1000),
  fundingBps: withDefault(bpsField(10_000), 10_000),
  fundingCapBps: withDefault(bpsField(10_000), 100),
  liquidationFeeBps: withDefault(bpsField(1000), 50),
}));

function createFromDeps(deps: MarketsDeps): TxType<CreateBody> {
  return {
    type: 'markets.create',
    parse(raw) {
      const b = createBody(raw);
      // "accounts" is a path segment of the HTTP routes (/v1/markets/accounts/:account/...).
      if (b.id === 'accounts') fail('bad_market', 'the market id "accounts" is reserved');
      if (b.maintenanceMarginBps === 0 || b.maintenanceMarginBps >= b.initialMarginBps) fail('bad_margin', 'maintenanceMarginBps must be above 0 and below initialMarginBps');
      if (new Set(b.oracles).size !== b.oracles.length) fail('bad_oracle', 'an oracle is listed twice');
      if (b.kind === 'future' && b.event === undefined) fail('bad_event', 'a future names the event its oracles attest at maturity ("event")');
      if (b.kind === 'perpetual' && b.series === undefined) fail('bad_event', 'a perpetual names the event series that pays funding ("series")');
      if (b.kind === 'perpetual' && b.event !== undefined) fail('bad_event', 'a perpetual has no maturity event');
      return b as CreateBody;
    },
    apply(ctx, b) {
      const ledger = ctx.keeper(deps.ledger);
      if (!ledger.isAdmin(ctx.tx.from)) fail('not_admin', 'only an admin of this chain may create markets', { status: 403 });
      if (getMarket(ctx.state, b.id)) fail('market_exists', `market ${b.id} exists`, { status: 409 });
      if (ctx.state.entries(MARKET_PREFIX, { limit: marketLimits.marketsMax }).length >= marketLimits.marketsMax) fail('too_many_markets', `a chain holds at most ${marketLimits.marketsMax} markets`, { status: 409 });
      const oracle = ctx.keeper(deps.oracle);
      let maturity: number | undefined;
      for (const o of b.oracles) {
        const status = oracle.oracleStatus(o);
        if (status === undefined) fail('unknown_oracle', `no oracle ${o}`, { status: 404 });
        if (status === 'frozen') fail('oracle_frozen', `oracle ${o} is frozen`, { status: 409 });
        if (b.event !== undefined) {
          const ev = oracle.event(o, b.event);
          if (!ev) fail('unknown_event', `oracle ${o} has not announced ${b.event}`, { status: 404 });
          if (ev.status !== 'announced' || ev.maturity * 1000 <= ctx.timeMs) fail('event_past', `event ${b.event} of ${o} is already due or attested`, { status: 409 });
          maturity = maturity === undefined ? ev.maturity : Math.min(maturity, ev.maturity);
        }
      }
      const market: Market = { ...b, created: ctx.height, status: 'active', trades: 0, positions: 0, badDebt: '0' };
      if (maturity !== undefined) market.maturity = maturity;
      ctx.state.set(marketKey(b.id), market);
      // Open the module accounts now, so that the first trade finds them.
      ledger.moduleAccount('escrow');
      ledger.moduleAccount('fees');
      ledger.moduleAccount('insurance');
      return [{ type: 'markets.created', market: b.id, kind: b.kind, oracles: b.oracles, ...(maturity !== undefined ? { maturity } : {}) }];
    },
  };
}

// ---------------------------------------------------------------------------------------
// markets.order

export interface OrderBody {
  market: string;
  side: Side;
  type: 'limit' | 'market';
  price: number;
  size: number;
  tif: Tif;
  reduceOnly: boolean;
}

const orderBody = body(object({
  market: marketRef,
  side: withCode('bad_side', oneOf(['buy', 'sell'] as const)),
  type: withDefault(withCode('bad_order_type', oneOf(['limit', 'market'] as const)), 'limit'),
  price,
  size,
  tif: optional(withCode('bad_tif', oneOf(['gtc', 'ioc', 'fok', 'post'] as const))),
  reduceOnly: withDefault(bool(), false),
}));

/** Check a live market for trading at this block. */
function tradable(ctx: TxContext, id: string): Market {
  const m = getMarket(ctx.state, id);
  if (!m) fail('unknown_market', `no market ${id}`, { status: 404 });
  if (m.status === 'halted') fail('market_halted', `market ${id} is halted (a frozen oracle, or no attestation by its deadline): only cancels, and an admin's markets.close`, { status: 409 });
  if (m.status === 'settled') fail('market_settled', `market ${id} has settled`, { status: 409 });
  if (m.maturity !== undefined && ctx.timeMs >= m.maturity * 1000) fail('market_expired', `market ${id} matured; it settles at its oracles' attestation`, { status: 409 });
  return m;
}

function checkPrice(m: Market, p: number): void {
  if (p % m.tickSize !== 0) fail('price_off_tick', `the price must be a multiple of the tick size ${m.tickSize}`);
  if (m.index !== undefined && m.bandBps > 0) {
    const band = priceBps(m.index, m.bandBps);
    if (Math.abs(p - m.index) > band) fail('price_outside_band', `the price must be within ${m.bandBps} bps of the index ${m.index} (${m.index - band} to ${m.index + band})`, { status: 422 });
  }
}

function placeFromDeps(deps: MarketsDeps): TxType<OrderBody> {
  return {
    type: 'markets.order',
    parse(raw) {
      const b = orderBody(raw);
      const tif: Tif = b.tif ?? (b.type === 'market' ? 'ioc' : 'gtc');
      if (b.type === 'market' && tif !== 'ioc' && tif !== 'fok') fail('bad_tif', 'a market order is ioc or fok (its price is the worst it accepts)');
      return { ...b, tif };
    },
    apply(ctx, b) {
      const m = tradable(ctx, b.market);
      checkPrice(m, b.price);
      if (b.size % m.lotSize !== 0) fail('size_off_lot', `the size must be a multiple of the lot size ${m.lotSize}`);
      const c = new Clearing(ctx, deps.ledger, { ...m });
      const id = orderId(ctx.height, ctx.index, 0);
      const me = ctx.tx.from;
      // the market record changes only with fills (trades, last, positions): most resting orders write none
      if (place(c, b, id, { type: 'markets.order', market: m.id, order: id, account: me, side: b.side, kind: b.type, price: b.price, size: b.size, tif: b.tif, ...(b.reduceOnly ? { reduceOnly: true } : {}) })) c.save();
      return c.events;
    },
  };
}

/**
 * Place an order of the sender (a new one, or a modify that took a new place): check it
 * against the position and the balance, match it, apply the fills, rest what is left.
 * `head` is the event that opens the order's events (markets.order or markets.order_modified).
 * Returns whether it filled (so the market record changed and must be saved).
 */
function place(c: Clearing, b: Omit<OrderBody, 'market'>, id: string, head: TxEvent): boolean {
  const ctx = c.ctx as TxContext;
  const m = c.market;
  const me = ctx.tx.from;
  if (!c.ledger.balance(me)) fail('not_registered', 'the signing key has no ledger account; register first', { status: 403 });
  const pos = getPosition(ctx.state, m.id, me);
  const dir = b.side === 'buy' ? 1 : -1;
  if (b.reduceOnly && (!pos || Math.sign(pos.size) !== -dir || Math.abs(pos.size) < b.size)) {
    fail('reduce_only_would_grow', `a reduce-only order may only shrink the position (now ${pos?.size ?? 0})`, { status: 422 });
  }
  if (!pos && m.positions + marketLimits.fillsPerOrderMax + 1 > marketLimits.positionsPerMarketMax) fail('market_full', `market ${m.id} holds its most open positions`, { status: 409 });
  if (b.tif === 'gtc' || b.tif === 'post') {
    if (openCount(ctx.state, m.id, me) >= marketLimits.openOrdersPerAccountMax) fail('too_many_orders', `an account has at most ${marketLimits.openOrdersPerAccountMax} open orders in a market`, { status: 409 });
  }
  // Margin up front, at the worst price this order can trade: its limit for a buy, the
  // best bid or its limit for a sell. The fills and the resting rest then always fit.
  const other = opposite(b.side);
  // The best order of the other side: its price (the best bid, for a sell) and whether the
  // order crosses at all. Most resting orders do not: one row read, not a page.
  const first = loadSide(ctx.state, m.id, other, 1);
  const bid = b.side === 'sell' ? first[0]?.price : undefined;
  const worst = bid !== undefined && bid > b.price ? bid : b.price;
  const n = notional(m, worst, b.size);
  const needed = (b.reduceOnly ? 0n : bps(n, m.initialMarginBps)) + bps(n, Math.max(m.takerFeeBps, m.makerFeeBps));
  const available = c.ledger.balance(me)!.available;
  if (available < needed) fail('insufficient_margin', `the order needs ${needed} minor units of margin and fees; ${available} are available`, { status: 422, details: { needed: needed.toString(), available: available.toString() } });

  // Not crossing: the match stops at the first maker (post-only rests, IOC goes unfilled).
  const makers = first.length > 0 && crosses(b.side, b.price, first[0]!.price) ? walkSide(ctx.state, m.id, other, marketLimits.makersScannedMax + 1, 16, first) : first;
  const result = match({ account: me, side: b.side, price: b.price, size: b.size, tif: b.tif }, makers,
    { fillsMax: marketLimits.fillsPerOrderMax, scanMax: marketLimits.makersScannedMax, admit: reduceOnlyAdmit(c) });
  if (result.rejected === 'post_only_would_cross') fail('post_only_would_cross', 'a post-only order would trade at once; it is refused', { status: 409 });
  if (result.rejected === 'fok_not_filled') fail('fok_not_filled', 'a fill-or-kill order could not fill whole; it is refused', { status: 409 });
  c.events.push(head);
  for (const e of result.expired) {
    const o = e as LoadedOrder;
    removeOrder(c, o.key, o.record, 'self_trade');
  }
  for (const f of result.fills) {
    const o = f.maker as LoadedOrder;
    const left = o.record.size - f.size;
    o.record = shrinkOrder(c, o.key, o.record, left, left === 0 ? 0n : orderHold(m, o.record.price, left, o.record.reduceOnly));
    c.fill(o.account, o.record.side, f.price, f.size, m.makerFeeBps);
    c.fill(me, b.side, f.price, f.size, m.takerFeeBps);
    c.events.push({ type: 'markets.fill', market: m.id, seq: m.trades++, price: f.price, size: f.size, side: b.side, maker: o.account, taker: me, makerOrder: o.id, takerOrder: id });
    m.last = f.price;
    // positions opened at this price: the next maintenance scan must run
    delete m.scannedMark;
  }
  for (const s of result.skipped ?? []) {
    const o = s as LoadedOrder;
    removeOrder(c, o.key, o.record, 'reduce_only');
  }
  if (result.rest) {
    const hold = orderHold(m, b.price, result.remaining, b.reduceOnly);
    if (hold > 0n) c.events.push(c.ledger.hold(me, hold));
    const rec: BookOrder = {
      id, account: me, side: b.side, price: b.price, size: result.remaining, orig: b.size, ...(b.reduceOnly ? { reduceOnly: true as const } : {}),
      ...(b.tif === 'post' ? { post: true as const } : {}), hold: hold.toString(), height: ctx.height, index: ctx.index, seq: 0,
    };
    insertOrder(ctx.state, m.id, rec);
    c.events.push({ type: 'markets.order_rested', market: m.id, order: id, account: me, side: b.side, price: b.price, size: result.remaining });
    // a new reduce-only order joins the account's others: together at most the position
    if (b.reduceOnly) c.touched.add(me);
  } else if (result.remaining > 0) {
    c.events.push({ type: 'markets.order_cancelled', market: m.id, order: id, account: me, side: b.side, price: b.price, size: result.remaining, reason: result.stop === 'fills_max' || result.stop === 'scan_max' ? 'work_bound' : 'unfilled' });
  }
  enforceReduceOnly(c);
  return result.fills.length > 0;
}

// ---------------------------------------------------------------------------------------
// markets.cancel, markets.cancel_all, markets.modify

const orderRef = withCode('bad_order_id', string({ pattern: ORDER_ID, maxLength: 24, what: 'an order id "<height>.<index>.<seq>"' }));
const cancelBody = body(object({ market: marketRef, order: orderRef }));

function ownOrder(ctx: TxContext, market: string, id: string): { key: string; record: BookOrder } {
  const found = findOrder(ctx.state, market, id);
  if (!found) fail('order_not_found', `no open order ${id} in ${market}`, { status: 404 });
  if (found.record.account !== ctx.tx.from) fail('not_order_owner', 'only the account that placed an order may change it', { status: 403 });
  return found;
}

function knownMarket(ctx: TxContext, id: string): Market {
  const m = getMarket(ctx.state, id);
  if (!m) fail('unknown_market', `no market ${id}`, { status: 404 });
  return m;
}

function cancelFromDeps(deps: MarketsDeps): TxType<{ market: string; order: string }> {
  return {
    type: 'markets.cancel',
    parse: (raw) => cancelBody(raw),
    apply(ctx, b) {
      const c = new Clearing(ctx, deps.ledger, knownMarket(ctx, b.market));
      const o = ownOrder(ctx, b.market, b.order);
      removeOrder(c, o.key, o.record, 'user');
      return c.events;
    },
  };
}

/** Orders one cancel_all takes (an account has at most openOrdersPerAccountMax per market). */
export const CANCEL_ALL_MAX = 1000;
const cancelAllBody = body(object({ market: optional(marketRef) }));

function cancelAllFromDeps(deps: MarketsDeps): TxType<{ market?: string }> {
  return {
    type: 'markets.cancel_all',
    parse: (raw) => cancelAllBody(raw),
    apply(ctx, b) {
      if (b.market !== undefined) knownMarket(ctx, b.market);
      const events: TxEvent[] = [];
      const clearings = new Map<string, Clearing>();
      for (const [key] of ctx.state.entries(accountOrdersPrefix(ctx.tx.from, b.market), { limit: CANCEL_ALL_MAX })) {
        const [market, id] = key.split('/').slice(-2) as [string, string];
        let c = clearings.get(market);
        if (!c) clearings.set(market, (c = new Clearing(ctx, deps.ledger, getMarket(ctx.state, market)!)));
        const o = findOrder(ctx.state, market, id)!;
        removeOrder(c, o.key, o.record, 'user');
        events.push(...c.events.splice(0));
      }
      return events;
    },
  };
}

const modifyBody = body(object({ market: marketRef, order: orderRef, size: optional(size), price: optional(price) }));

/**
 * Size down at the same price keeps the order's place in the queue (same key, hold shrunk).
 * Anything else takes a new place (this block, this index), as a new order with the same
 * id would: it is checked for margin like one, matches what it now crosses, and rests the
 * rest. A post-only order that would cross is refused (post_only_would_cross) and stays.
 */
function modifyFromDeps(deps: MarketsDeps): TxType<{ market: string; order: string; size?: number; price?: number }> {
  return {
    type: 'markets.modify',
    parse(raw) {
      const b = modifyBody(raw);
      if (b.size === undefined && b.price === undefined) fail('bad_body', 'a modify changes "size", "price" or both');
      return b;
    },
    apply(ctx, b) {
      const m = tradable(ctx, b.market);
      const c = new Clearing(ctx, deps.ledger, m);
      const o = ownOrder(ctx, b.market, b.order);
      const rec = o.record;
      const newPrice = b.price ?? rec.price;
      const newSize = b.size ?? rec.size;
      checkPrice(m, newPrice);
      if (newSize % m.lotSize !== 0) fail('size_off_lot', `the size must be a multiple of the lot size ${m.lotSize}`);
      if (newPrice === rec.price && newSize <= rec.size) {
        shrinkOrder(c, o.key, rec, newSize, orderHold(m, newPrice, newSize, rec.reduceOnly));
        c.events.push({ type: 'markets.order_modified', market: m.id, order: rec.id, account: rec.account, price: newPrice, size: newSize, priority: 'kept' });
        return c.events;
      }
      removeOrder(c, o.key, rec, 'modified');
      const tif: Tif = rec.post ? 'post' : 'gtc';
      place(c, { side: rec.side, type: 'limit', price: newPrice, size: newSize, tif, reduceOnly: rec.reduceOnly === true }, rec.id,
        { type: 'markets.order_modified', market: m.id, order: rec.id, account: rec.account, price: newPrice, size: newSize, priority: 'new' });
      c.save();
      return c.events;
    },
  };
}

export function marketsTxTypes(deps: MarketsDeps): TxType[] {
  return [createFromDeps(deps), placeFromDeps(deps), cancelFromDeps(deps), cancelAllFromDeps(deps), modifyFromDeps(deps), closeFromDeps(deps)] as TxType[];
}
