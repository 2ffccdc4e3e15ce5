// The matching core: pure, no state I/O. Given an incoming order and the resting orders
// of the opposite side in price-time priority, it decides the fills, the makers that
// self-trade prevention expires, and what is left of the order. The module feeds it from
// state (book.ts) and applies its answer; the benchmark and the differential test feed
// it from memory (memory-book.ts). Prices and sizes are integers (ticks and lots already
// checked by the caller); a fill is always at the maker's price.
export type Side = 'buy' | 'sell';
/** gtc rests what is left; ioc cancels it; fok fills all or nothing; post rests only if it crosses nothing. */
export type Tif = 'gtc' | 'ioc' | 'fok' | 'post';

export interface RestingOrder {
  id: string;
  account: string;
  price: number;
  /** what is left to fill */
  size: number;
}

export interface IncomingOrder {
  account: string;
  side: Side;
  /** limit price; for a market order, the worst price it accepts */
  price: number;
  size: number;
  tif: Tif;
}

export interface Fill {
  maker: RestingOrder;
  price: number;
  size: number;
}

export type StopReason = 'filled' | 'price' | 'book_empty' | 'fills_max' | 'scan_max';

export interface MatchResult {
  fills: Fill[];
  /** resting orders of the same account met on the way: cancelled (self-trade prevention, expire maker) */
  expired: RestingOrder[];
  /** size not filled */
  remaining: number;
  /** whether `remaining` rests on the book */
  rest: boolean;
  /** makers the admit bound let fill nothing (resting reduce-only orders that would grow a position) */
  skipped?: RestingOrder[];
  /** the order is refused whole: nothing happens */
  rejected?: 'post_only_would_cross' | 'fok_not_filled';
  stop: StopReason;
}

export interface MatchBounds {
  fillsMax: number;
  /** makers looked at (filled or expired) */
  scanMax: number;
  /**
   * How much of `size` the maker may fill (a reduce-only maker: no more than takes its
   * position to zero); called once per fill, in order, with the size it is about to get.
   * 0: the maker is skipped (`MatchResult.skipped`) and matching goes on.
   */
  admit?: (maker: RestingOrder, size: number) => number;
}

export const crosses = (side: Side, limit: number, makerPrice: number): boolean => (side === 'buy' ? makerPrice <= limit : makerPrice >= limit);

/**
 * Match `order` against `makers` (opposite side, best first, then oldest first). Work is
 * bounded: at most `fillsMax` fills and `scanMax` makers looked at. An order stopped by a
 * bound does not rest (its remainder could still cross the book); it is cancelled.
 */
export function match(order: IncomingOrder, makers: Iterable<RestingOrder>, bounds: MatchBounds): MatchResult {
  const fills: Fill[] = [];
  const expired: RestingOrder[] = [];
  const skipped: RestingOrder[] = [];
  let remaining = order.size;
  let scanned = 0;
  let stop: StopReason = 'book_empty';
  for (const maker of makers) {
    if (remaining === 0) {
      stop = 'filled';
      break;
    }
    if (!crosses(order.side, order.price, maker.price)) {
      stop = 'price';
      break;
    }
    if (order.tif === 'post') return refused(order, 'post_only_would_cross');
    if (scanned >= bounds.scanMax) {
      stop = 'scan_max';
      break;
    }
    if (fills.length >= bounds.fillsMax) {
      stop = 'fills_max';
      break;
    }
    scanned++;
    if (maker.account === order.account) {
      expired.push(maker);
      continue;
    }
    let size = maker.size < remaining ? maker.size : remaining;
    if (bounds.admit) {
      size = bounds.admit(maker, size);
      if (size === 0) {
        skipped.push(maker);
        continue;
      }
    }
    fills.push({ maker, price: maker.price, size });
    remaining -= size;
  }
  if (remaining === 0) stop = 'filled';
  if (order.tif === 'fok' && remaining > 0) return refused(order, 'fok_not_filled');
  const bounded = stop === 'fills_max' || stop === 'scan_max';
  const rest = remaining > 0 && !bounded && (order.tif === 'gtc' || order.tif === 'post');
  return skipped.length ? { fills, expired, skipped, remaining, rest, stop } : { fills, expired, remaining, rest, stop };
}

function refused(order: IncomingOrder, why: 'post_only_would_cross' | 'fok_not_filled'): MatchResult {
  return { fills: [], expired: [], remaining: order.size, rest: false, rejected: why, stop: 'price' };
}
