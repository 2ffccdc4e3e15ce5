// Recent blocks' Merkle levels and parsed full blocks, so a proof is O(log n) lookups and a
// full block is parsed once, not on every request (issue 10 item 6: a 4,000-transaction
// block cost 120-250 ms of the main thread per proof). Committed blocks never change, so
// nothing is ever invalidated; the least recently used entries go when the bytes exceed
// limits.blockCacheBytesMax.
import { limits } from '../core/limits.js';
import { levelHash, merkleLevels, proofFromLevels, type MerkleProof } from '../core/merkle.js';

interface Entry {
  value: Uint8Array[] | readonly object[] | Buffer;
  bytes: number;
}

/** Estimated memory of one parsed transaction beyond its JSON text (objects, keys, strings). */
const PARSED_TX_OVERHEAD = 400;

export class BlockCache {
  /** Map order is recency: a hit moves the entry to the end, eviction takes from the front. */
  private readonly entries = new Map<string, Entry>();
  private used = 0;
  hits = 0;
  misses = 0;

  constructor(readonly bytesMax: number = limits.blockCacheBytesMax) {}

  get bytes(): number {
    return this.used;
  }

  /** The proposer's call at commit: it hashed the leaves for txRoot already, so this costs nothing more. */
  recordLevels(height: number, levels: Uint8Array[]): void {
    this.put(`levels/${height}`, levels, levels.reduce((n, l) => n + l.length, 0));
  }

  /** The same from a block's leaf hashes (one hash per leaf pair more than recordLevels). */
  recordLeaves(height: number, leafHashes: Uint8Array[]): void {
    this.recordLevels(height, merkleLevels(leafHashes));
  }

  /** The proof of leaf `index` of block `height`; `loadLeaves` runs only when the block is not kept. */
  proof(height: number, index: number, loadLeaves: () => Uint8Array[]): { leaf: string; proof: MerkleProof } {
    let levels = this.get(`levels/${height}`) as Uint8Array[] | undefined;
    if (!levels) {
      levels = merkleLevels(loadLeaves());
      this.recordLevels(height, levels);
    }
    const proof = proofFromLevels(levels, index);
    return { leaf: Buffer.from(levelHash(levels[0]!, index)).toString('hex'), proof };
  }

  /**
   * A block's transactions with receipts, parsed once and deep-frozen (every caller shares
   * them). `load` also tells how many bytes of stored JSON it parsed, to estimate memory.
   */
  fullTxs<T extends object>(height: number, load: () => { txs: T[]; textBytes: number }): readonly T[] {
    const kept = this.get(`txs/${height}`) as readonly T[] | undefined;
    if (kept) return kept;
    const { txs, textBytes } = load();
    deepFreeze(txs);
    this.put(`txs/${height}`, txs, 2 * textBytes + PARSED_TX_OVERHEAD * txs.length);
    return txs;
  }

  /**
   * A block's full answer serialized once, as UTF-8 bytes: JSON.stringify of a
   * 4,000-transaction block (and encoding its 3 MB) costs 10-130 ms of the main thread,
   * every time. A transport sends these bytes as they are.
   */
  fullJson(height: number, build: () => unknown): Buffer {
    const kept = this.get(`json/${height}`) as Buffer | undefined;
    if (kept !== undefined) return kept;
    const bytes = Buffer.from(JSON.stringify(build()));
    this.put(`json/${height}`, bytes, bytes.length);
    return bytes;
  }

  private get(key: string): Entry['value'] | undefined {
    const e = this.entries.get(key);
    if (!e) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  private put(key: string, value: Entry['value'], bytes: number): void {
    if (bytes > this.bytesMax) return; // larger than the whole cache: serve it, keep nothing
    const old = this.entries.get(key);
    if (old) {
      this.used -= old.bytes;
      this.entries.delete(key);
    }
    this.entries.set(key, { value, bytes });
    this.used += bytes;
    for (const [k, e] of this.entries) {
      if (this.used <= this.bytesMax) break;
      this.entries.delete(k);
      this.used -= e.bytes;
    }
  }
}

function deepFreeze(v: unknown): void {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Object.values(v)) deepFreeze(x);
}
