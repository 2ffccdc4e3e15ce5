// The Monero watcher: polls monero-wallet-rpc and credits incoming payments to PIDs.
//
// Heights: the wallet's get_height is its block count H, so its top block is H - 1, and a
// transfer in block h has H - h confirmations. A payment counts once it has `confirmations`
// of them, i.e. h <= H - confirmations. The cursor is the last block fully scanned; each poll
// scans (cursor, H - confirmations] with get_transfers {in, filter_by_height, min_height:
// cursor (exclusive), max_height: H - confirmations (inclusive)}, then moves the cursor to
// that bound in the same database transaction as the credits: no block is skipped or read
// twice by the crediting scan, and a restart resumes exactly where the last commit left off.
//
// Reorgs and dropped transactions: whenever the wallet height changes, the `reorgWindow`
// blocks at and below the cursor are read again. Payments are keyed by txid, so one found
// again changes nothing (or only its height); a recorded one that is gone is checked with
// get_transfer_by_txid and, if the wallet no longer has it in a block at or below the cursor,
// marked vanished (see TicketsStore.vanish for the credit policy). If it comes back in a
// later block, the crediting scan credits it again when it is confirmed.
//
// The blocks above the scan bound (and the pool) are only looked at to tell a client how many
// confirmations its payment still needs (409 payment_unconfirmed); they never credit.
import { parseAmount } from '../../core/amount.js';
import { TallyError } from '../../core/errors.js';
import { MONERO_DECIMALS, type MoneroSourceConfig } from './config.js';
import type { MoneroRpc, WalletTransfer } from './monero-rpc.js';
import type { PaymentOp, PaymentOpResult } from './backend.js';
import { PID_PATTERN, ZERO_PID } from './pid.js';
import { TicketsStats, type PendingPayment, type TicketsService } from './service.js';

const SOURCE = 'monero';

interface GetTransfers {
  in?: WalletTransfer[];
  pool?: WalletTransfer[];
}

export class MoneroWatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastWalletHeight = -1;
  private lastError = '';
  private readonly minAmount: bigint;

  constructor(
    private readonly service: TicketsService,
    private readonly rpc: MoneroRpc,
    private readonly config: MoneroSourceConfig,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.minAmount = parseAmount(config.minAmount, MONERO_DECIMALS, 'tickets.monero.minAmount');
    service.stats.sourceDelay.set(SOURCE, config.confirmations);
  }

  async cursor(): Promise<number> {
    return (await this.service.backend.cursor(SOURCE)) ?? this.config.startHeight;
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.running = this.pollOnce()
        .catch((err: unknown) => this.onError(err))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(loop, this.config.pollMs);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private onError(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.service.stats.watcherFailed(SOURCE, message);
    // One line per new kind of failure, not one per poll while the wallet is down.
    if (message !== this.lastError) this.log(`tickets: monero watcher: ${message}`);
    this.lastError = message;
  }

  /** One poll: refresh, read the height, rescan the reorg window, credit newly confirmed blocks. */
  async pollOnce(): Promise<void> {
    if (this.config.refresh) await this.rpc.call('refresh', {});
    const { height } = await this.rpc.call<{ height: number }>('get_height', {});
    const stats = this.service.stats;
    stats.sourceHeight.set(SOURCE, height);
    const bound = height - this.config.confirmations;
    if (height !== this.lastWalletHeight) {
      await this.rescanWindow();
      this.lastWalletHeight = height;
    }
    let cursor = await this.cursor();
    if (bound > cursor) {
      const got = await this.rpc.call<GetTransfers>('get_transfers', { in: true, filter_by_height: true, min_height: cursor, max_height: bound });
      const incoming = mergeByTxid(got.in ?? []);
      const ops = incoming.map((t) => this.op(t)).filter((op) => op !== undefined);
      this.count(await this.service.backend.applyPayments(ops, this.minAmount, Date.now(), { source: SOURCE, height: bound }));
      cursor = bound;
    }
    stats.watcherHeight.set(SOURCE, Math.max(cursor, 0));
    await this.refreshPending(height, cursor);
    stats.watcherFailing.delete(SOURCE);
    this.lastError = '';
    TicketsStats.bump(stats.watcherPolls, SOURCE);
  }

  /** The write for one incoming transfer, or undefined when it cannot be credited (counted here). */
  private op(t: WalletTransfer & { amount: bigint }): PaymentOp | undefined {
    const stats = this.service.stats;
    TicketsStats.bump(stats.paymentsSeen, SOURCE);
    if (timeLocked(t)) {
      // The sender chose an unlock time: the service could not spend it for that long.
      TicketsStats.bump(stats.paymentsLocked, SOURCE);
      this.log(`tickets: monero payment ${t.txid} has unlock_time ${String(t.unlock_time)}; not credited`);
      return undefined;
    }
    const pid = String(t.payment_id ?? '').toLowerCase();
    if (pid === ZERO_PID || !PID_PATTERN.test(pid)) {
      TicketsStats.bump(stats.paymentsNoPid, SOURCE);
      return undefined;
    }
    if (t.amount <= 0n) return undefined;
    return { kind: 'record', payment: { source: SOURCE, txid: t.txid, pid, amount: t.amount, height: t.height } };
  }

  private count(results: PaymentOpResult[]): void {
    const stats = this.service.stats;
    for (const r of results) {
      if (r === 'credited' || r === 'recredited') TicketsStats.bump(stats.paymentsCredited, SOURCE);
      else if (r === 'dust') TicketsStats.bump(stats.paymentsDust, SOURCE);
      else if (r === 'conflict') TicketsStats.bump(stats.paymentsConflict, SOURCE);
    }
  }

  private async rescanWindow(): Promise<void> {
    const cursor = await this.cursor();
    const lo = Math.max(this.config.startHeight, cursor - this.config.reorgWindow);
    if (this.config.reorgWindow === 0 || cursor <= lo) return;
    const got = await this.rpc.call<GetTransfers>('get_transfers', { in: true, filter_by_height: true, min_height: lo, max_height: cursor });
    const found = new Map(mergeByTxid(got.in ?? []).map((t) => [t.txid, t]));
    const backend = this.service.backend;
    const recorded = await backend.paymentsInRange(SOURCE, lo, cursor);
    // Decide what vanished before writing anything (the checks are RPC calls).
    const gone: string[] = [];
    const movedOut = new Map<string, number>();
    for (const p of recorded) {
      if (found.has(p.txid)) continue;
      const where = await this.lookup(p.txid);
      if (where !== undefined && where <= cursor) movedOut.set(p.txid, where);
      else gone.push(p.txid);
    }
    // The payments are read before the transaction: this watcher is their only writer (one
    // watcher at a time: a PostgreSQL advisory lock, or the one node on SQLite).
    const ops: PaymentOp[] = [];
    const counted: PaymentOp[] = [];
    for (const t of found.values()) {
      const known = await backend.payment(SOURCE, t.txid);
      // Known: at most its height changes. New or returning (a reorg mined it lower): record it.
      if (known && known.status !== 'vanished') {
        if (known.height !== t.height) ops.push({ kind: 'record', payment: { source: SOURCE, txid: t.txid, pid: known.pid, amount: t.amount, height: t.height } });
      } else if (String(t.payment_id).toLowerCase() !== ZERO_PID && !timeLocked(t)) {
        const op = this.op(t);
        if (op) {
          ops.push(op);
          counted.push(op);
        }
      }
    }
    for (const [txid, h] of movedOut) {
      const p = (await backend.payment(SOURCE, txid))!;
      ops.push({ kind: 'record', payment: { source: SOURCE, txid, pid: p.pid, amount: BigInt(p.amount), height: h } });
    }
    for (const txid of gone) ops.push({ kind: 'vanish', source: SOURCE, txid });
    if (ops.length === 0) return;
    const results = await backend.applyPayments(ops, this.minAmount, Date.now());
    this.count(results.filter((_, i) => counted.includes(ops[i]!)));
    results.forEach((r, i) => {
      const op = ops[i]!;
      if (typeof r !== 'object' || op.kind !== 'vanish') return;
      TicketsStats.bump(this.service.stats.paymentsVanished, r.redeemed ? 'monero_after_redeem' : SOURCE);
      this.log(`tickets: monero payment ${op.txid} is no longer in the wallet's chain${r.redeemed ? ' (its PID was already redeemed; the token keeps its balance)' : '; its credit was taken back'}`);
    });
  }

  /** The block height of a transaction the wallet has confirmed, else undefined. */
  private async lookup(txid: string): Promise<number | undefined> {
    try {
      const r = await this.rpc.call<{ transfer?: WalletTransfer }>('get_transfer_by_txid', { txid });
      const t = r.transfer;
      return t && t.type === 'in' && t.height > 0 ? t.height : undefined;
    } catch (err) {
      if (err instanceof TallyError && err.code === 'monero_rpc_error') return undefined; // "Transaction not found"
      throw err;
    }
  }

  private async refreshPending(height: number, cursor: number): Promise<void> {
    const bound = height - this.config.confirmations;
    const got = await this.rpc.call<GetTransfers>('get_transfers', { in: true, pool: true, filter_by_height: true, min_height: Math.max(bound, cursor), max_height: height });
    const view = new Map<string, PendingPayment>();
    const note = (pid: string, left: number) => {
      if (pid === ZERO_PID || !PID_PATTERN.test(pid)) return;
      const had = view.get(pid);
      if (!had || left < had.confirmationsLeft) view.set(pid, { confirmationsLeft: left });
    };
    for (const t of got.in ?? []) note(String(t.payment_id).toLowerCase(), Math.max(1, this.config.confirmations - (height - t.height)));
    for (const t of got.pool ?? []) note(String(t.payment_id).toLowerCase(), this.config.confirmations);
    this.service.setPending(SOURCE, view);
  }
}

function timeLocked(t: WalletTransfer): boolean {
  return t.unlock_time !== undefined && BigInt(t.unlock_time) !== 0n;
}

/** One entry per txid (a transaction paying several of our subaddresses appears once per subaddress). */
function mergeByTxid(entries: WalletTransfer[]): Array<WalletTransfer & { amount: bigint }> {
  const out = new Map<string, WalletTransfer & { amount: bigint }>();
  for (const e of entries) {
    const amount = BigInt(e.amount);
    const had = out.get(e.txid);
    if (had) had.amount += amount;
    else out.set(e.txid, { ...e, amount });
  }
  return [...out.values()];
}
