// A market's order book kept in step with the node: a snapshot from
// GET /v1/markets/:id/book, then the deltas of the markets.book feed (README, "Markets:
// HTTP and feeds"). A message whose prev is after our height, a seq that skips, or a
// checksum that differs from our own book's means we missed something: the caller takes a
// new snapshot. No DOM here, so the rules can be tested on their own.
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

export type Level = [number, number];
export interface BookSnapshot { market: string; height: number | null; bids: Level[]; asks: Level[]; checksum: string }
export interface BookMessage { type: 'book'; market: string; height: number; prev: number | null; seq: number; changes: Array<['buy' | 'sell', number, number]>; checksum: string }

/** Levels the checksum covers per side (the node's CHECKSUM_LEVELS). */
export const CHECKSUM_LEVELS = 10;
/** Levels per side the feed tracks (the node's FEED_LEVELS): the snapshot asks for as many. */
export const FEED_LEVELS = 50;

/** First 16 hex of BLAKE3("b:<p>:<s>,...|a:<p>:<s>,...") over the top 10 levels of each side. */
export function bookChecksum(book: { bids: Level[]; asks: Level[] }): string {
  const side = (tag: string, levels: Level[]) => levels.slice(0, CHECKSUM_LEVELS).map(([p, s]) => `${tag}:${p}:${s}`).join(',');
  return bytesToHex(blake3(utf8ToBytes(`${side('b', book.bids)}|${side('a', book.asks)}`))).slice(0, 16);
}

export type Applied = 'applied' | 'old' | 'resync';

export class BookSync {
  bids: Level[] = [];
  asks: Level[] = [];
  /** the height our book is at (null: no snapshot yet, or the node had no block) */
  height: number | null = null;
  private seq: number | null = null;
  /** why the last resync was needed, for the page to say */
  reason = '';

  /** Start again from a snapshot; false if its checksum does not match its own levels. */
  reset(s: BookSnapshot): boolean {
    this.bids = s.bids.map(([p, z]) => [p, z]);
    this.asks = s.asks.map(([p, z]) => [p, z]);
    this.height = s.height;
    this.seq = null;
    if (bookChecksum(this) !== s.checksum) {
      this.reason = 'the snapshot\'s checksum does not match its levels';
      return false;
    }
    return true;
  }

  /** Apply one feed message: 'old' if our snapshot already has it, 'resync' if one was missed. */
  apply(m: BookMessage): Applied {
    if (this.height !== null && m.height <= this.height) return 'old';
    if (m.prev !== null && (this.height === null || m.prev > this.height)) return this.fail(`missed the message for block ${m.prev}`);
    if (this.seq !== null && m.seq !== this.seq + 1) return this.fail(`seq went from ${this.seq} to ${m.seq}`);
    for (const [side, price, size] of m.changes) setLevel(side === 'buy' ? this.bids : this.asks, side, price, size);
    this.height = m.height;
    this.seq = m.seq;
    if (bookChecksum(this) !== m.checksum) return this.fail(`checksum mismatch at block ${m.height}`);
    return 'applied';
  }

  private fail(reason: string): Applied {
    this.reason = reason;
    return 'resync';
  }
}

/** Set a level's size (0 removes it), keeping best first: bids high to low, asks low to high. */
function setLevel(levels: Level[], side: 'buy' | 'sell', price: number, size: number): void {
  const i = levels.findIndex(([p]) => p === price);
  if (i >= 0) {
    if (size === 0) levels.splice(i, 1);
    else levels[i]![1] = size;
    return;
  }
  if (size === 0) return;
  const better = (p: number) => (side === 'buy' ? p > price : p < price);
  let at = 0;
  while (at < levels.length && better(levels[at]![0])) at++;
  levels.splice(at, 0, [price, size]);
  if (levels.length > FEED_LEVELS) levels.length = FEED_LEVELS;
}
