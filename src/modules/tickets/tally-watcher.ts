// The Tally watcher: credits `ledger.send` transfers to the service account whose memo is
// a PID. Tally blocks are final once committed (one signing sequencer), so a transfer
// counts in the block that records it. The cursor (last block scanned) is stored with the
// credits in one transaction; on start the watcher catches up from it, then follows the
// chain: inside the node through its 'block' events (taking the receipts straight from the
// event when the block is the next one), in `tally tickets serve` by polling a node's HTTP
// API (chain-source.ts). Blocks are scanned one at a time, in order, by one loop. A block
// without a payment to the service only moves the cursor in memory, written at most once a
// second (and on stop): the watcher adds no fsync to the blocks of a busy chain, and a
// restart that re-reads a few blocks credits nothing twice (payments are keyed by
// transaction id, in the database).
import { parseAmount } from '../../core/amount.js';
import { TallyError } from '../../core/errors.js';
import type { Receipt } from '../../chain/envelope.js';
import { transfersOf } from '../ledger/events.js';
import type { PaymentOp } from './backend.js';
import type { ChainSource } from './chain-source.js';
import type { TallySourceConfig } from './config.js';
import { PID_PATTERN, ZERO_PID } from './pid.js';
import { TicketsStats, type TicketsService } from './service.js';

const SOURCE = 'tally';
/** Blocks scanned before the loop yields to other work while catching up. */
const CATCH_UP_BLOCKS = 500;
const CURSOR_FLUSH_MS = 1000;
/** The /health warning of an unregistered service account. */
const HEALTH_COMPONENT = 'tickets.tally';

export class TallyWatcher {
  private accountId: string | undefined;
  private readonly minAmount: bigint;
  private stopped = false;
  /** the scan loop while it runs; `again` asks it for one more round */
  private running: Promise<void> | undefined;
  private again = false;
  private yieldTimer: NodeJS.Immediate | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  /** the receipts of the newest block event, used when it is the next block to scan */
  private latest: { height: number; receipts: Receipt[] } | undefined;
  /** the last block scanned (memory); written to tickets_cursors with payments, else by flushCursor */
  private memoryCursor: number | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private warned = false;

  constructor(
    private readonly chain: ChainSource,
    private readonly service: TicketsService,
    private readonly config: TallySourceConfig,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.minAmount = parseAmount(config.minAmount, chain.decimals, 'tickets.tally.minAmount');
    service.stats.sourceDelay.set(SOURCE, 0);
  }

  /** The last block scanned (after start). */
  get cursor(): number {
    return this.memoryCursor ?? this.config.startHeight;
  }

  private async flushCursor(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.memoryCursor !== undefined) await this.service.backend.setCursor(SOURCE, this.memoryCursor);
  }

  start(): void {
    this.unsubscribe = this.chain.onBlock?.((height, receipts) => {
      this.latest = { height, receipts };
      this.kick();
    });
    if (!this.chain.onBlock || this.chain.pollMs) {
      this.pollTimer = setInterval(() => this.kick(), this.chain.pollMs ?? 1000);
      this.pollTimer.unref();
    }
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.yieldTimer) clearImmediate(this.yieldTimer);
    await this.running;
    await this.flushCursor().catch((err: unknown) => this.log(`tickets: tally watcher: cursor not saved (${(err as Error).message}); the next start re-reads from the last saved one`));
  }

  /** Scan up to the tip; while a scan runs, one more round is remembered. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.round().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        // A new turn of the event loop: a long catch-up never starves the listeners.
        this.yieldTimer = setImmediate(() => this.kick());
      }
    });
  }

  /**
   * One round: a failure (storage busy, node unreachable) is logged and the cursor stays
   * where it was, so the next block or poll catches up from there.
   */
  private async round(): Promise<void> {
    try {
      if (this.memoryCursor === undefined) this.memoryCursor = (await this.service.backend.cursor(SOURCE)) ?? this.config.startHeight;
      await this.checkAccount();
      const tip = await this.chain.tip();
      this.service.stats.sourceHeight.set(SOURCE, Math.max(this.service.stats.sourceHeight.get(SOURCE) ?? 0, tip));
      for (let n = 0; this.cursor < tip && n < CATCH_UP_BLOCKS && !this.stopped; n++) {
        const h = this.cursor + 1;
        const receipts = this.latest?.height === h ? this.latest.receipts : await this.chain.receipts(h);
        await this.scan(h, receipts);
      }
      if (this.cursor < tip) this.again = true;
      this.service.stats.watcherFailing.delete(SOURCE);
    } catch (err) {
      this.service.stats.watcherFailed(SOURCE, (err as Error).message);
      this.log(`tickets: tally watcher: ${(err as Error).message}; will retry from block ${this.cursor + 1}`);
    }
  }

  /** Not an error (it may be registered later), but nobody can pay until it is: say so once, and on /health until it appears. */
  private async checkAccount(): Promise<void> {
    if (this.accountId || (await this.account()) || this.warned) return;
    this.warned = true;
    const reason = `the service account ${this.config.account} is not registered on the chain; nobody can pay tickets on Tally until it is`;
    this.log(`tickets: warning: ${reason} (register it with the service's key: \`tally register NAME --key KEY\`)`);
    this.chain.warn?.(HEALTH_COMPONENT, reason);
  }

  /**
   * The account is looked up by name until it exists. Until then no transfer to it can
   * have committed, so scanning past those blocks loses nothing.
   */
  private async account(): Promise<string | undefined> {
    if (this.accountId) return this.accountId;
    try {
      // A failure here throws: it must not silently skip blocks.
      this.accountId = await this.chain.accountId(this.config.account);
    } catch (err) {
      throw new TallyError('tickets_watcher', `cannot look up ${this.config.account}: ${(err as Error).message}`, { cause: err });
    }
    if (this.accountId) {
      this.log(`tickets: tally watcher credits transfers to ${this.config.account} (${this.accountId})`);
      this.chain.clearWarning?.(HEALTH_COMPONENT);
    }
    return this.accountId;
  }

  private async scan(height: number, receipts: Receipt[]): Promise<void> {
    const account = await this.account();
    const stats = this.service.stats;
    const ops: PaymentOp[] = [];
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
          ops.push({ kind: 'record', payment: { source: SOURCE, txid: i === 0 ? r.id : `${r.id}:${i}`, pid: memo, amount: parseAmount(ev.amount, this.chain.decimals), height } });
        }
      }
    }
    if (ops.length > 0) {
      // The cursor is stored with the payments; kept in memory too, so the next block reads no storage.
      const results = await this.service.backend.applyPayments(ops, this.minAmount, Date.now(), { source: SOURCE, height });
      for (const res of results) {
        if (res === 'credited' || res === 'recredited') TicketsStats.bump(stats.paymentsCredited, SOURCE);
        else if (res === 'dust') TicketsStats.bump(stats.paymentsDust, SOURCE);
        else if (res === 'conflict') TicketsStats.bump(stats.paymentsConflict, SOURCE);
      }
      this.memoryCursor = height;
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    } else {
      this.memoryCursor = height;
      if (!this.flushTimer && !this.stopped) {
        this.flushTimer = setTimeout(() => {
          this.flushCursor().catch((err: unknown) => this.log(`tickets: tally watcher: cursor not saved (${(err as Error).message})`));
        }, CURSOR_FLUSH_MS);
        this.flushTimer.unref();
      }
    }
    stats.watcherHeight.set(SOURCE, height);
    stats.sourceHeight.set(SOURCE, Math.max(stats.sourceHeight.get(SOURCE) ?? 0, height));
  }
}
