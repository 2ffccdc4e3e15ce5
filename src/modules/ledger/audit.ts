// What a member's audit needs from the account's whole history, kept up to date instead of
// recomputed (issue 10 item 7: summing a 20k-transfer history on every audit blocked the
// node, and one signed audit could be replayed in a loop). Per account, the net of the
// transfers through some chain position is kept in memory; an audit adds only what came
// after it. The first audit of an account (or one evicted from memory) walks the history
// in pages with a yield to the event loop between them, so other clients are served
// meanwhile, and at most one audit per account runs at a time.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { parseAmount } from '../../core/amount.js';
import { fail } from '../../core/errors.js';
import { limits } from '../../core/limits.js';
import type { TxEvent } from '../../chain/envelope.js';
import type { SqliteStore } from '../../store/sqlite.js';
import { historyRows } from './history.js';

/** History rows summed between two yields: a few milliseconds of work. */
export const AUDIT_PAGE_ROWS = 256;

/** What a transaction's transfers moved into (+) or out of (-) an account, in minor units. */
export function netTransfer(events: readonly TxEvent[], account: string, decimals: number): bigint {
  let net = 0n;
  for (const e of events) {
    if (e.type !== 'ledger.transfer') continue;
    const minor = parseAmount(e.amount, decimals);
    if (e.to === account) net += minor;
    if (e.from === account) net -= minor;
  }
  return net;
}

/** The net of an account's history rows at positions (seq) up to `through`. */
interface Total {
  net: bigint;
  through: number;
}

/** The net of the rows from `highest` down to `lowest`, newest first. */
interface Pass {
  net: bigint;
  highest: number;
  lowest: number;
}

export class AuditTotals {
  /** Map order is recency: the least recently audited account is forgotten first. */
  private readonly totals = new Map<string, Total>();
  private readonly running = new Set<string>();

  constructor(
    private readonly store: SqliteStore,
    private readonly decimals: number,
    private readonly accountsMax: number = limits.auditTotalsAccountsMax,
  ) {}

  /** Run `audit` for `account` unless one is already running for it (then audit_busy). */
  async exclusive<T>(account: string, audit: () => Promise<T> | T): Promise<T> {
    if (this.running.has(account)) {
      fail('audit_busy', 'an audit of this account is already running; wait for its answer', { status: 429 });
    }
    this.running.add(account);
    try {
      return await audit();
    } finally {
      this.running.delete(account);
      this.passes.delete(account);
    }
  }

  /** Bring the kept net up to the newest history row, a page at a time with yields between. */
  async catchUp(account: string): Promise<void> {
    while (!this.advance(account, AUDIT_PAGE_ROWS)) await yieldToEventLoop();
  }

  /**
   * The net of the account's whole history now. Synchronous, so the caller reads the
   * balance in the same tick and both describe the same chain position; after catchUp it
   * only adds the rows of blocks committed since.
   */
  netNow(account: string): bigint {
    while (!this.advance(account, Number.MAX_SAFE_INTEGER));
    return this.totals.get(account)?.net ?? 0n;
  }

  /**
   * Add up to `rowsMax` of the rows newer than the kept position; true when none is left.
   * Rows are read newest first, so a pass that stops early is kept (`passes`) and goes on
   * below its lowest row next time: committed rows never change, and new ones only appear
   * above the pass's highest row (netNow adds those).
   */
  private advance(account: string, rowsMax: number): boolean {
    const kept = this.totals.get(account) ?? { net: 0n, through: -1 };
    let pass = this.passes.get(account);
    let rows = 0;
    for (;;) {
      const limit = Math.min(1000, rowsMax - rows);
      const page = historyRows(this.store, { account, limit, ...(pass ? { before: pass.lowest } : {}) });
      for (const row of page) {
        if (row.seq <= kept.through) return this.finish(account, kept, pass);
        pass ??= { net: 0n, highest: row.seq, lowest: row.seq };
        pass.net += netTransfer(this.eventsAt(row.seq), account, this.decimals);
        pass.lowest = row.seq;
        rows++;
      }
      if (page.length < limit) return this.finish(account, kept, pass); // the oldest row was read
      if (rows >= rowsMax) {
        this.passes.set(account, pass!);
        return false;
      }
    }
  }

  private finish(account: string, kept: Total, pass: Pass | undefined): true {
    this.passes.delete(account);
    this.remember(account, pass ? { net: kept.net + pass.net, through: pass.highest } : kept);
    return true;
  }

  /** Passes newest-first that have not yet reached the kept position (only while an audit runs). */
  private readonly passes = new Map<string, Pass>();

  private eventsAt(seq: number): TxEvent[] {
    const row = this.store.txAt(seq);
    if (!row) fail('db_corrupt', `the history index names transaction ${seq}, which is not stored`, { status: 500 });
    return JSON.parse(row.events) as TxEvent[];
  }

  private remember(account: string, total: Total): void {
    this.totals.delete(account);
    this.totals.set(account, total);
    if (this.totals.size > this.accountsMax) this.totals.delete(this.totals.keys().next().value!);
  }
}

const byStore = new WeakMap<SqliteStore, AuditTotals>();

/** The totals of one node's store (one per store: a process may run several nodes). */
export function auditTotals(store: SqliteStore, decimals: number): AuditTotals {
  let t = byStore.get(store);
  if (!t) byStore.set(store, (t = new AuditTotals(store, decimals)));
  return t;
}
