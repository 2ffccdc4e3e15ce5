// The book in state: resting orders under keys that sort in price-time priority, with an
// index by order id and by account. Holds: every resting order holds its margin and fee
// on the account through the ledger keeper (owner "markets"), released as it fills or goes.
import type { StateReader, StateView } from '../../chain/state.js';
import type { Clearing } from './clearing.js';
import type { RestingOrder, Side } from './matching.js';
import { accountOrderKey, bookKey, bookPrefix, openCountKey, orderKey, reduceOnlyCountKey, type BookOrder } from './state.js';

export const opposite = (side: Side): Side => (side === 'buy' ? 'sell' : 'buy');

/** A resting order as the matching core sees it, carrying its state record. */
export interface LoadedOrder extends RestingOrder {
  key: string;
  record: BookOrder;
}

/** The best `limit` resting orders of a side, best price first, then oldest. */
export function loadSide(state: StateReader, market: string, side: Side, limit: number): LoadedOrder[] {
  return state.entries<BookOrder>(bookPrefix(market, side), { limit }).map(([key, record]) => ({
    id: record.id, account: record.account, price: record.price, size: record.size, key, record,
  }));
}

/**
 * The same, read lazily in pages of `page` (most orders stop after a few makers). `first`:
 * the side's best orders the caller already read (all of them if fewer than it asked for:
 * pass `firstAsked`).
 */
export function* walkSide(state: StateReader, market: string, side: Side, limit: number, page = 16, first?: LoadedOrder[], firstAsked = first?.length ?? 0): Generator<LoadedOrder> {
  let after: string | undefined;
  let seen = 0;
  if (first) {
    for (const o of first) yield o;
    seen = first.length;
    if (first.length < firstAsked || first.length === 0) return;
    after = first[first.length - 1]!.key;
  }
  while (seen < limit) {
    const n = Math.min(page, limit - seen);
    const rows = state.entries<BookOrder>(bookPrefix(market, side), after === undefined ? { limit: n } : { after, limit: n });
    for (const [key, record] of rows) yield { id: record.id, account: record.account, price: record.price, size: record.size, key, record };
    seen += rows.length;
    if (rows.length < n) return;
    after = rows[rows.length - 1]![0];
  }
}

export function bestPrice(state: StateReader, market: string, side: Side): number | undefined {
  return state.entries<BookOrder>(bookPrefix(market, side), { limit: 1 })[0]?.[1].price;
}

/** Resting orders of an account in a market. */
export const openCount = (state: StateReader, market: string, account: string): number => state.get<number>(openCountKey(account, market)) ?? 0;

/** Resting reduce-only orders of an account in a market. */
export const reduceOnlyCount = (state: StateReader, market: string, account: string): number => state.get<number>(reduceOnlyCountKey(account, market)) ?? 0;

function countOpen(state: StateView, market: string, o: BookOrder, delta: number): void {
  const n = openCount(state, market, o.account) + delta;
  if (n === 0) state.delete(openCountKey(o.account, market));
  else state.set(openCountKey(o.account, market), n);
  if (o.reduceOnly) {
    const r = reduceOnlyCount(state, market, o.account) + delta;
    if (r === 0) state.delete(reduceOnlyCountKey(o.account, market));
    else state.set(reduceOnlyCountKey(o.account, market), r);
  }
}

export function insertOrder(state: StateView, market: string, o: BookOrder): string {
  const key = bookKey(market, o.side, o.price, o.height, o.index, o.seq);
  state.set(key, o);
  state.set(orderKey(market, o.id), key);
  state.set(accountOrderKey(o.account, market, o.id), 1);
  countOpen(state, market, o, 1);
  return key;
}

export function findOrder(state: StateReader, market: string, id: string): { key: string; record: BookOrder } | undefined {
  const key = state.get<string>(orderKey(market, id));
  if (key === undefined) return undefined;
  return { key, record: state.get<BookOrder>(key)! };
}

/** Take an order off the book and release what it holds. */
export function removeOrder(clearing: Clearing, key: string, o: BookOrder, reason: string): void {
  const state = clearing.ctx.state;
  state.delete(key);
  state.delete(orderKey(clearing.id, o.id));
  state.delete(accountOrderKey(o.account, clearing.id, o.id));
  countOpen(state, clearing.id, o, -1);
  const hold = BigInt(o.hold);
  if (hold > 0n) clearing.events.push(clearing.ledger.release(o.account, hold));
  clearing.events.push({ type: 'markets.order_cancelled', market: clearing.id, order: o.id, account: o.account, side: o.side, price: o.price, size: o.size, reason });
}

/** Shrink a resting order (a fill, or a modify down): same key, so it keeps its priority; releases the hold it no longer needs. */
export function shrinkOrder(clearing: Clearing, key: string, o: BookOrder, size: number, newHold: bigint): BookOrder {
  const release = BigInt(o.hold) - newHold;
  if (release > 0n) clearing.events.push(clearing.ledger.release(o.account, release));
  if (size === 0) {
    const state = clearing.ctx.state;
    state.delete(key);
    state.delete(orderKey(clearing.id, o.id));
    state.delete(accountOrderKey(o.account, clearing.id, o.id));
    countOpen(state, clearing.id, o, -1);
    return { ...o, size: 0, hold: '0' };
  }
  const next: BookOrder = { ...o, size, hold: newHold.toString() };
  clearing.ctx.state.set(key, next);
  return next;
}
