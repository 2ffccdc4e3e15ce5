// Resting reduce-only orders. Such an order may only move its account's position toward
// zero, whatever trades first. Two rules keep it so:
//   1. at a fill, a reduce-only maker fills at most what takes the position (as the fills
//      of this match left it) to zero; one that may fill nothing is skipped and cancelled;
//   2. after every transaction or liquidation that changed positions, an account's resting
//      reduce-only orders in the market are cancelled if the position is zero or on their
//      side, and otherwise trimmed (newest first) so that their sizes sum to at most the
//      position's. Trimming keeps an order's key, so its priority.
import type { Clearing } from './clearing.js';
import { findOrder, reduceOnlyCount, removeOrder, shrinkOrder, type LoadedOrder } from './book.js';
import { marketLimits } from './limits.js';
import { orderHold } from './margin.js';
import type { MatchBounds, RestingOrder } from './matching.js';
import { accountOrdersPrefix, getPosition } from './state.js';

/** The admit bound of rule 1, for one match in the market of `c`. */
export function reduceOnlyAdmit(c: Clearing): NonNullable<MatchBounds['admit']> {
  // size each maker account's position moved by the fills admitted so far in this match
  const moved = new Map<string, number>();
  return (maker: RestingOrder, size: number) => {
    const rec = (maker as LoadedOrder).record;
    const dir = rec.side === 'buy' ? 1 : -1;
    const before = moved.get(rec.account) ?? 0;
    if (rec.reduceOnly) {
      const pos = (getPosition(c.ctx.state, c.id, rec.account)?.size ?? 0) + before;
      const room = Math.sign(pos) === -dir ? Math.abs(pos) : 0;
      if (size > room) size = room;
    }
    if (size > 0) moved.set(rec.account, before + dir * size);
    return size;
  };
}

/** Rule 2 for every account whose position `c` changed. */
export function enforceReduceOnly(c: Clearing): void {
  const state = c.ctx.state;
  for (const account of [...c.touched].sort()) {
    if (reduceOnlyCount(state, c.id, account) === 0) continue;
    const pos = getPosition(state, c.id, account)?.size ?? 0;
    const orders = state.entries(accountOrdersPrefix(account, c.id), { limit: marketLimits.openOrdersPerAccountMax })
      .map(([key]) => findOrder(state, c.id, key.slice(key.lastIndexOf('/') + 1))!)
      .filter((o) => o.record.reduceOnly)
      // oldest first: (height, index, seq) as numbers, not the id's string order
      .sort((a, b) => a.record.height - b.record.height || a.record.index - b.record.index || a.record.seq - b.record.seq);
    let room = Math.abs(pos);
    for (const o of orders) {
      const dir = o.record.side === 'buy' ? 1 : -1;
      if (Math.sign(pos) !== -dir || room === 0) {
        removeOrder(c, o.key, o.record, 'reduce_only');
        continue;
      }
      let size = o.record.size;
      if (size > room) {
        size = room - (room % c.market.lotSize);
        if (size === 0) {
          removeOrder(c, o.key, o.record, 'reduce_only');
          continue;
        }
        shrinkOrder(c, o.key, o.record, size, orderHold(c.market, o.record.price, size, true));
        c.events.push({ type: 'markets.order_reduced', market: c.id, order: o.record.id, account, price: o.record.price, size, reason: 'reduce_only' });
      }
      room -= size;
    }
  }
  c.touched.clear();
}
