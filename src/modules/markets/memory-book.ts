// An in-memory order book over the matching core, for the benchmark and the tests: price
// levels kept sorted (best first), each a FIFO queue. It applies a MatchResult the way the
// module applies one to state, so the core can be measured and cross-checked alone.
import { match, type IncomingOrder, type MatchBounds, type MatchResult, type RestingOrder, type Side } from './matching.js';

interface Level {
  price: number;
  orders: RestingOrder[];
  /** index of the first live order in `orders` (filled ones are skipped, then compacted) */
  head: number;
}

export class MemoryBook {
  /** best first: bids descending, asks ascending */
  private readonly sides: Record<Side, Level[]> = { buy: [], sell: [] };
  private readonly byId = new Map<string, { side: Side; order: RestingOrder }>();
  private nextId = 0;

  constructor(readonly bounds: MatchBounds) {}

  /** Submit an order: match, apply the fills, expire self-trades, rest what is left. */
  submit(order: IncomingOrder, id = `m${this.nextId++}`): MatchResult & { id: string } {
    const opposite: Side = order.side === 'buy' ? 'sell' : 'buy';
    const result = match(order, this.walk(opposite), this.bounds);
    if (result.rejected) return { ...result, id };
    for (const f of result.fills) {
      f.maker.size -= f.size;
      if (f.maker.size === 0) this.remove(f.maker.id);
    }
    for (const e of result.expired) this.remove(e.id);
    if (result.rest) this.add(order.side, { id, account: order.account, price: order.price, size: result.remaining });
    return { ...result, id };
  }

  cancel(id: string): boolean {
    return this.remove(id);
  }

  /** Resting orders of a side, best first then oldest first. */
  *walk(side: Side): Generator<RestingOrder> {
    for (const level of this.sides[side]) {
      for (let i = level.head; i < level.orders.length; i++) {
        const o = level.orders[i]!;
        if (o.size > 0 && this.byId.has(o.id)) yield o;
      }
    }
  }

  /** Aggregated depth: [price, size] per level, best first. */
  depth(side: Side, levels = Infinity): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const level of this.sides[side]) {
      if (out.length >= levels) break;
      let size = 0;
      for (let i = level.head; i < level.orders.length; i++) if (this.byId.has(level.orders[i]!.id)) size += level.orders[i]!.size;
      if (size > 0) out.push([level.price, size]);
    }
    return out;
  }

  get size(): number {
    return this.byId.size;
  }

  private add(side: Side, order: RestingOrder): void {
    const levels = this.sides[side];
    const better = side === 'buy' ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
    // binary search for the level
    let lo = 0;
    let hi = levels.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (better(levels[mid]!.price, order.price)) lo = mid + 1;
      else hi = mid;
    }
    let level = levels[lo];
    if (!level || level.price !== order.price) {
      level = { price: order.price, orders: [], head: 0 };
      levels.splice(lo, 0, level);
    }
    level.orders.push(order);
    this.byId.set(order.id, { side, order });
  }

  private remove(id: string): boolean {
    const found = this.byId.get(id);
    if (!found) return false;
    this.byId.delete(id);
    const levels = this.sides[found.side];
    // The level of a removed order is compacted lazily; an empty level goes at once.
    const idx = levels.findIndex((l) => l.price === found.order.price);
    if (idx >= 0) {
      const level = levels[idx]!;
      while (level.head < level.orders.length && !this.byId.has(level.orders[level.head]!.id)) level.head++;
      if (level.head === level.orders.length) levels.splice(idx, 1);
      else if (level.head > 64 && level.head * 2 > level.orders.length) {
        level.orders = level.orders.slice(level.head);
        level.head = 0;
      }
    }
    return true;
  }
}
