// The Tally watcher: credits `ledger.send` transfers to the service account whose memo is
// a PID. Tally blocks are final once committed (one signing sequencer), so a transfer
// counts in the block that records it. The cursor (last block scanned) is stored with the
// credits in one transaction; on start the watcher catches up from it, then follows the
// node's 'block' events, taking the receipts straight from the event when the block is the
// next one and reading the store otherwise. A block without a payment to the service only
// moves the cursor in memory, written at most once a second (and on stop): the watcher adds
// no fsync to the blocks of a busy chain, and a restart that re-reads a few blocks credits
// nothing twice (payments are keyed by transaction id).
import { parseAmount } from '../../core/amount.js';
import { TallyError } from '../../core/errors.js';
import type { ServiceNode } from '../../chain/app-module.js';
import type { BlockCommitted } from '../../chain/blocks.js';
import type { Receipt } from '../../chain/envelope.js';
import { ledgerAccountId, transfersOf } from '../ledger/events.js';
import type { TallySourceConfig } from './config.js';
import { PID_PATTERN, ZERO_PID } from './pid.js';
import { TicketsStats, type TicketsService } from './service.js';

const SOURCE = 'tally';
/** Blocks read from the store per turn of the event loop while catching up. */
const CATCH_UP_BLOCKS = 500;
const CURSOR_FLUSH_MS = 1000;
/** The /health warning of an unregistered service account. */
const HEALTH_COMPONENT = 'tickets.tally';

export class TallyWatcher {
  private accountId: string | undefined;
  private readonly minAmount: bigint;
  private stopped = false;
  private catchingUp: NodeJS.Immediate | undefined;
  /** scanned but not yet written to tickets_cursors */
  private memoryCursor: number | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly onBlock = (e: BlockCommitted) => this.guarded(() => this.block(e));

  /**
   * The watcher runs inside the node's block event: a failure (storage busy, say) is
   * logged and the cursor stays where it was, so the next block catches up from there.
   */
  private guarded(fn: () => void): void {
    try {
      fn();
      this.service.stats.watcherFailing.delete(SOURCE);
    } catch (err) {
      this.service.stats.watcherFailed(SOURCE, (err as Error).message);
      this.log(`tickets: tally watcher: ${(err as Error).message}; will retry from block ${this.cursor + 1}`);
    }
  }

  constructor(
    private readonly node: ServiceNode,
    private readonly service: TicketsService,
    private readonly config: TallySourceConfig,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.minAmount = parseAmount(config.minAmount, node.params.decimals, 'tickets.tally.minAmount');
    service.stats.sourceDelay.set(SOURCE, 0);
  }

  get cursor(): number {
    return this.memoryCursor ?? this.service.store.cursor(SOURCE) ?? this.config.startHeight;
  }

  private flushCursor(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.memoryCursor !== undefined) this.service.store.setCursor(SOURCE, this.memoryCursor);
  }

  start(): void {
    this.node.on('block', this.onBlock);
    this.catchUp();
    this.guarded(() => {
      if (!this.account()) {
        // Not an error (it may be registered later, see account()), but nobody can pay
        // until it is: say so once at start and on /health until it appears.
        const reason = `the service account ${this.config.account} is not registered on the chain; nobody can pay tickets on Tally until it is`;
        this.log(`tickets: warning: ${reason} (register it with the service's key: \`tally register NAME --key KEY\`)`);
        this.node.health.warn(HEALTH_COMPONENT, reason);
      }
    });
  }

  stop(): void {
    this.stopped = true;
    this.node.off('block', this.onBlock);
    if (this.catchingUp) clearImmediate(this.catchingUp);
    this.flushCursor();
  }

  /**
   * The account is looked up by name until it exists. Until then no transfer to it can
   * have committed, so scanning past those blocks loses nothing.
   */
  private account(): string | undefined {
    if (this.accountId) return this.accountId;
    try {
      // A storage failure here throws: it must not silently skip blocks.
      this.accountId = ledgerAccountId(this.node.state, this.config.account);
    } catch (err) {
      throw new TallyError('tickets_watcher', `cannot look up ${this.config.account}: ${(err as Error).message}`, { cause: err });
    }
    if (this.accountId) {
      this.log(`tickets: tally watcher credits transfers to ${this.config.account} (${this.accountId})`);
      this.node.health.clearWarning(HEALTH_COMPONENT);
    }
    return this.accountId;
  }

  private block(e: BlockCommitted): void {
    if (this.stopped) return;
    const h = e.block.header.height;
    if (h === this.cursor + 1 && !this.catchingUp) this.scan(h, e.receipts);
    else this.catchUp();
  }

  private catchUp(): void {
    if (this.stopped || this.catchingUp) return;
    const tip = this.node.tip.height;
    let h = this.cursor + 1;
    for (let n = 0; h <= tip && n < CATCH_UP_BLOCKS; h++, n++) this.scan(h, this.node.blockTxViews(h).map((v) => v.receipt));
    this.service.stats.sourceHeight.set(SOURCE, tip);
    if (h <= this.node.tip.height) {
      this.catchingUp = setImmediate(() => {
        this.catchingUp = undefined;
        this.guarded(() => this.catchUp());
      });
    }
  }

  private scan(height: number, receipts: Receipt[]): void {
    const account = this.account();
    const stats = this.service.stats;
    const matches: Array<{ txid: string; memo: string; amount: string }> = [];
    if (account) {
      for (const r of receipts) {
        for (const { event: ev, position: i } of transfersOf(r)) {
          if (ev.to !== account) continue;
          TicketsStats.bump(stats.paymentsSeen, SOURCE);
          const memo = ev.memo ?? '';
          if (!PID_PATTERN.test(memo) || memo === ZERO_PID) {
            TicketsStats.bump(stats.paymentsNoPid, SOURCE);
            continue;
          }
          matches.push({ txid: i === 0 ? r.id : `${r.id}:${i}`, memo, amount: ev.amount });
        }
      }
    }
    if (matches.length > 0) {
      const now = Date.now();
      this.service.store.transaction(() => {
        for (const m of matches) {
          const amount = parseAmount(m.amount, this.node.params.decimals);
          const res = this.service.store.recordPayment({ source: SOURCE, txid: m.txid, pid: m.memo, amount, height }, this.minAmount, now);
          if (res === 'credited' || res === 'recredited') TicketsStats.bump(stats.paymentsCredited, SOURCE);
          else if (res === 'dust') TicketsStats.bump(stats.paymentsDust, SOURCE);
          else if (res === 'conflict') TicketsStats.bump(stats.paymentsConflict, SOURCE);
        }
        this.service.store.setCursor(SOURCE, height);
      });
      // Stored with the payments; kept in memory too, so the next block reads no SQLite.
      this.memoryCursor = height;
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    } else {
      this.memoryCursor = height;
      if (!this.flushTimer && !this.stopped) {
        this.flushTimer = setTimeout(() => this.flushCursor(), CURSOR_FLUSH_MS);
        this.flushTimer.unref();
      }
    }
    stats.watcherHeight.set(SOURCE, height);
    stats.sourceHeight.set(SOURCE, Math.max(stats.sourceHeight.get(SOURCE) ?? 0, height));
  }
}
