// Peers we hung up on, and why: refused on redial (both ways) until their time is up.
// Bounded: when full, the entry closest to expiry goes first, so a flood of new peer ids
// (they are free to make) can push out old entries but never grow memory.
import type { DropReason } from './transport.js';

export interface Denied {
  reason: DropReason;
  untilMs: number;
}

export class DenyList {
  // Insertion order = expiry order, since every entry gets the same duration: the first
  // key is always the one to evict or expire.
  private readonly entries = new Map<string, Denied>();

  constructor(
    private readonly durationMs: number,
    private readonly sizeMax: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(durationMs > 0 && Number.isInteger(sizeMax) && sizeMax > 0)) throw new RangeError('deny list needs a positive duration and size');
  }

  add(peer: string, reason: DropReason): void {
    this.entries.delete(peer); // re-insert at the end: a fresh expiry
    this.entries.set(peer, { reason, untilMs: this.now() + this.durationMs });
    while (this.entries.size > this.sizeMax) {
      const first = this.entries.keys().next();
      if (first.done) break;
      this.entries.delete(first.value);
    }
  }

  /** The reason the peer is refused, or undefined when it may connect. */
  check(peer: string): Denied | undefined {
    this.expire();
    return this.entries.get(peer);
  }

  get size(): number {
    this.expire();
    return this.entries.size;
  }

  private expire(): void {
    const now = this.now();
    for (const [peer, d] of this.entries) {
      if (d.untilMs > now) break;
      this.entries.delete(peer);
    }
  }
}
