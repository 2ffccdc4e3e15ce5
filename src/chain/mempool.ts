// Bounded mempool. Admission keeps each account's nonces contiguous (committed nonce, then
// pending ones in order), so the arrival-ordered queue is always a valid block order.
import { TallyError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import type { Envelope, Receipt } from './envelope.js';

export interface PendingTx {
  id: string;
  env: Envelope;
  /** canonical JSON of env, as the verifier produced it (stored as is) */
  canonical: string;
  /** the body as the kernel's parse() returned it at admission (the executor needs no second parse) */
  parsed?: { body: unknown };
  resolve: (receipt: Receipt) => void;
  reject: (err: TallyError) => void;
  dropped?: boolean;
}

interface AccountQueue {
  nextNonce: number;
  pending: PendingTx[];
}

export class Mempool {
  private queue: PendingTx[] = [];
  private head = 0;
  private readonly accounts = new Map<string, AccountQueue>();
  private count = 0;

  constructor(
    private readonly sizeMax: number = limits.mempoolTxCountMax,
    private readonly perAccountMax: number = limits.accountPendingTxCountMax,
  ) {}

  get size(): number {
    return this.count;
  }

  /** The nonce the next transaction of this account must carry, counting pending ones. */
  expectedNonce(accountId: string, committedNonce: number): number {
    return this.accounts.get(accountId)?.nextNonce ?? committedNonce;
  }

  /** The pending transaction of an account with this nonce, if any. */
  pendingAt(accountId: string, nonce: number): PendingTx | undefined {
    const acct = this.accounts.get(accountId);
    if (!acct || acct.pending.length === 0) return undefined;
    const p = acct.pending[nonce - acct.pending[0]!.env.tx.nonce];
    return p && p.env.tx.nonce === nonce ? p : undefined;
  }

  /** Throws TallyError when the transaction cannot be admitted; nothing changes then. */
  admit(p: PendingTx, committedNonce: number): void {
    const from = p.env.tx.from;
    const nonce = p.env.tx.nonce;
    const acct = this.accounts.get(from);
    const expected = acct?.nextNonce ?? committedNonce;
    if (nonce < committedNonce) {
      throw new TallyError('nonce_used', `nonce ${nonce} was already used; the account's next nonce is ${expected}`, {
        status: 409, details: { expected },
      });
    }
    if (nonce < expected) {
      throw new TallyError('nonce_pending', `a transaction with nonce ${nonce} is already pending; the next free nonce is ${expected}`, {
        status: 409, details: { expected },
      });
    }
    if (nonce > expected) {
      throw new TallyError('nonce_gap', `nonce ${nonce} skips ahead; the account's next nonce is ${expected}`, {
        status: 409, details: { expected },
        hint: 'send transactions with consecutive nonces',
      });
    }
    if (this.count >= this.sizeMax) throw new TallyError('mempool_full', 'the node is at capacity; retry shortly', { status: 503 });
    if (acct && acct.pending.length >= this.perAccountMax) {
      throw new TallyError('too_many_pending', `this account already has ${acct.pending.length} pending transactions`, { status: 429 });
    }
    if (acct) {
      acct.pending.push(p);
      acct.nextNonce = nonce + 1;
    } else {
      this.accounts.set(from, { nextNonce: nonce + 1, pending: [p] });
    }
    this.queue.push(p);
    this.count++;
  }

  /** Up to `max` transactions in arrival order; they stay counted until settled. */
  take(max: number): PendingTx[] {
    const out: PendingTx[] = [];
    while (this.head < this.queue.length && out.length < max) {
      const p = this.queue[this.head++]!;
      if (!p.dropped) out.push(p);
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /**
   * Up to `max` transactions in arrival order, left in place: a validator proposes from
   * the mempool, and a block that is not decided must not lose them. They leave when a
   * block commits (committedUpTo) or are refused (settle, dropAccount).
   */
  peek(max: number): PendingTx[] {
    while (this.head < this.queue.length && this.queue[this.head]!.dropped) this.head++;
    const out: PendingTx[] = [];
    for (let i = this.head; i < this.queue.length && out.length < max; i++) {
      const p = this.queue[i]!;
      if (!p.dropped) out.push(p);
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /**
   * A block committed (any validator's): each account's pending transactions below its
   * new committed nonce leave the mempool. Each is passed to `gone` with the receipt of
   * the committed transaction at its nonce when that is the same transaction; a pending
   * transaction whose nonce another transaction took gets no receipt.
   */
  committedUpTo(accounts: Iterable<string>, nonceOf: (account: string) => number, gone: (p: PendingTx) => void): void {
    for (const from of accounts) {
      const acct = this.accounts.get(from);
      if (!acct) continue;
      const committed = nonceOf(from);
      let n = 0;
      while (n < acct.pending.length && acct.pending[n]!.env.tx.nonce < committed) n++;
      if (n === 0) continue;
      const left = acct.pending.splice(0, n);
      this.count -= n;
      if (acct.pending.length === 0) this.accounts.delete(from);
      for (const p of left) {
        p.dropped = true;
        gone(p);
      }
    }
  }

  /** The transaction left the mempool (committed, or refused at block time). */
  settle(p: PendingTx): void {
    const from = p.env.tx.from;
    const acct = this.accounts.get(from);
    if (!acct) return;
    const i = acct.pending.indexOf(p);
    if (i < 0) return;
    acct.pending.splice(i, 1);
    this.count--;
    // (a validator peeks, so a settled transaction is still in the queue: skip it there)
    p.dropped = true;
    if (acct.pending.length === 0) this.accounts.delete(from);
  }

  /**
   * Drop the pending transactions of an account (after one of them was refused at block
   * time, the later ones would have a nonce gap), except those in `keep` (included in the
   * block being made: they are settled with their receipts). Returns the dropped ones so
   * their submitters can be told.
   */
  dropAccount(accountId: string, keep?: ReadonlySet<PendingTx>): PendingTx[] {
    const acct = this.accounts.get(accountId);
    if (!acct) return [];
    const kept = keep ? acct.pending.filter((p) => keep.has(p)) : [];
    const dropped = keep ? acct.pending.filter((p) => !keep.has(p)) : acct.pending;
    this.count -= dropped.length;
    for (const p of dropped) p.dropped = true;
    if (kept.length === 0) {
      this.accounts.delete(accountId);
    } else {
      acct.pending = kept;
      acct.nextNonce = kept[kept.length - 1]!.env.tx.nonce + 1;
    }
    return dropped;
  }
}
