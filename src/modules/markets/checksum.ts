// The checksum of a book's top levels that feed messages and book queries carry, so a
// client that applied the deltas can check its own book: the first 16 hex of
// BLAKE3("b:<price>:<size>,...|a:<price>:<size>,...") over the top CHECKSUM_LEVELS levels.
import { toHex } from '../../core/encoding.js';
import { hashText } from '../../core/hash.js';

export const CHECKSUM_LEVELS = 10;

export function bookChecksum(book: { bids: Array<[number, number]>; asks: Array<[number, number]> }): string {
  const side = (tag: string, levels: Array<[number, number]>) => levels.slice(0, CHECKSUM_LEVELS).map(([p, s]) => `${tag}:${p}:${s}`).join(',');
  return toHex(hashText(`${side('b', book.bids)}|${side('a', book.asks)}`)).slice(0, 16);
}
