// The Tally watcher: credits `ledger.send` transfers to the service account whose memo is
// a PID. Tally blocks are final once committed (one signing sequencer), so a transfer
// counts in the block that records it. The cursor (last block scanned) is stored with the
// credits in one transaction; on start the watcher catches up from it, then follows the
// node's 'block' events, taking the receipts straight from the event when the block is the
// next one and reading the store otherwise.
import { parseAmount } from '../../core/amount.js';
import type { TallyNode } from '../../chain/node.js';
import type { BlockCommitted } from '../../chain/sequencer.js';
import type { Receipt } from '../../chain/envelope.js';
import type { TallySourceConfig } from './config.js';
import { PID_PATTERN, ZERO_PID } from './pid.js';
import { TicketsStats, type TicketsService } from './service.js';

const SOURCE = 'tally';
/** Blocks read from the store per turn of the event loop while catching up. */
const CATCH_UP_BLOCKS = 500;

export class TallyWatcher {
  private accountId: string | undefined;
  private readonly minAmount: bigint;
  private stopped = false;
  private catchingUp: NodeJS.Immediate | undefined;
  private readonly onBlock = (e: BlockCommitted) => this.block(e);

  constructor(
    private readonly node: TallyNode,
    private readonly service: TicketsService,
    private readonly config: TallySourceConfig,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.minAmount = parseAmount(config.minAmount, node.params.decimals, 'tickets.tally.minAmount');
    service.stats.sourceDelay.set(SOURCE, 0);
  }

  get cursor(): number {
    return this.service.store.cursor(SOURCE) ?? this.config.startHeight;
  }

  start(): void {
    this.node.on('block', this.onBlock);
    this.catchUp();
  }

  stop(): void {
    this.stopped = true;
    this.node.off('block', this.onBlock);
    if (this.catchingUp) clearImmediate(this.catchingUp);
  }

  /**
   * The account is looked up by name until it exists. Until then no transfer to it can
   * have committed, so scanning past those blocks loses nothing.
   */
  private account(): string | undefined {
    if (this.accountId) return this.accountId;
    try {
      this.accountId = (this.node.query('ledger.account', { account: this.config.account }) as { id: string }).id;
      this.log(`tickets: tally watcher credits transfers to ${this.config.account} (${this.accountId})`);
    } catch {
      return undefined;
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
        this.catchUp();
      });
    }
  }

  private scan(height: number, receipts: Receipt[]): void {
    const account = this.account();
    const stats = this.service.stats;
    const now = Date.now();
    this.service.store.transaction(() => {
      if (account) {
        for (const r of receipts) {
          if (r.status !== 'ok') continue;
          r.events.forEach((ev, i) => {
            if (ev.type !== 'ledger.transfer' || ev.to !== account) return;
            TicketsStats.bump(stats.paymentsSeen, SOURCE);
            const memo = typeof ev.memo === 'string' ? ev.memo : '';
            if (!PID_PATTERN.test(memo) || memo === ZERO_PID) {
              TicketsStats.bump(stats.paymentsNoPid, SOURCE);
              return;
            }
            const amount = parseAmount(ev.amount, this.node.params.decimals);
            const txid = i === 0 ? r.id : `${r.id}:${i}`;
            const res = this.service.store.recordPayment({ source: SOURCE, txid, pid: memo, amount, height }, this.minAmount, now);
            if (res === 'credited' || res === 'recredited') TicketsStats.bump(stats.paymentsCredited, SOURCE);
            else if (res === 'dust') TicketsStats.bump(stats.paymentsDust, SOURCE);
            else if (res === 'conflict') TicketsStats.bump(stats.paymentsConflict, SOURCE);
          });
        }
      }
      this.service.store.setCursor(SOURCE, height);
    });
    stats.watcherHeight.set(SOURCE, height);
    stats.sourceHeight.set(SOURCE, Math.max(stats.sourceHeight.get(SOURCE) ?? 0, height));
  }
}
