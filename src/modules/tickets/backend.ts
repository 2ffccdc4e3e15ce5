// Where the tickets tables live: the node's SQLite file (SqliteTicketsBackend: the
// synchronous TicketsStore with its caches, claim log and group commit, unchanged) or
// PostgreSQL (PgTicketsBackend, pg-store.ts: shared by `tally tickets serve` processes and
// nodes on many machines). The service and the watchers see only this interface, so both
// backends give the same answers through the same calls. Each call that writes is one
// storage transaction whose checks run inside it (claim, spend, applyPayments): on
// PostgreSQL that is what keeps one token per PID across processes.
import { GroupCommit } from './group-commit.js';
import type { IncomingPayment, PaymentRow, PidRow, RecordResult, Source, TicketsStore, TokenRow } from './store.js';

/** The redeem rule for a PID's two rows (its own and its Tally memo tag's): which one counts. */
export type PidChooser = (direct: PidRow | undefined, tagged: PidRow | undefined) => PidRow | undefined;

/** A watcher's write: a confirmed payment, or one the source no longer has. */
export type PaymentOp =
  | { kind: 'record'; payment: IncomingPayment }
  | { kind: 'vanish'; source: Source; txid: string };

export type PaymentOpResult = RecordResult | { vanished: true; redeemed: boolean };

export interface ClaimResult {
  source: Source;
  balance: bigint;
  /** unix ms of the claim */
  at: number;
}

/** How spend changes a token: throw (a TallyError) to refuse, else the new balance and spent. */
export type Debit = (row: TokenRow | undefined) => { balance: bigint; spent: bigint };

/** The rows of a PID and of its Tally memo tag, as the caller just read them (PostgreSQL saves a round trip). */
export type PidPair = [PidRow | undefined, PidRow | undefined];

export interface TicketsBackend {
  readonly kind: 'sqlite' | 'postgres';
  /** The rows of a PID and of its Tally memo tag. */
  pidPair(pid: string, tag: string): Promise<PidPair>;
  /**
   * Bind the token `hash` to the row `choose` picks, if it is paid and unclaimed: checked
   * and written in one transaction (null: not claimable now, e.g. another redeem won).
   */
  claim(pid: string, tag: string, hash: Buffer, choose: PidChooser, now: () => number, seen?: PidPair): Promise<ClaimResult | null>;
  token(hash: Buffer): Promise<TokenRow | undefined>;
  /** The token was presented (first introspection): answers the row after. */
  markUsed(hash: Buffer, nowMs: number): Promise<TokenRow | undefined>;
  /** Debit a token: `debit` sees the row as of the transaction and may refuse. Answers the row after. */
  spend(hash: Buffer, debit: Debit, nowMs: number): Promise<TokenRow>;
  /** Revoke (once; again changes nothing). Answers the row after, or undefined when there is no such token. */
  revoke(hash: Buffer, nowMs: number, reason: string): Promise<TokenRow | undefined>;
  paymentsOfPid(pid: string): Promise<PaymentRow[]>;
  tokensPage(status: 'active' | 'revoked' | null, before: { issuedAt: number; hash: Buffer }, limit: number): Promise<TokenRow[]>;
  cursor(source: Source): Promise<number | undefined>;
  setCursor(source: Source, height: number): Promise<void>;
  payment(source: Source, txid: string): Promise<PaymentRow | undefined>;
  paymentsInRange(source: Source, lo: number, hi: number): Promise<PaymentRow[]>;
  /** The ops in order, in one transaction, with the source's cursor moved to `cursor` in it when given. */
  applyPayments(ops: PaymentOp[], minAmount: bigint, nowMs: number, cursor?: { source: Source; height: number }): Promise<PaymentOpResult[]>;
  /** Entries in the caches, claims waiting, commits (for the metrics); empty where there is none. */
  cacheSizes(): Record<string, number>;
  /** Background work (SQLite: the claim applier); answers the function that stops it. */
  startBackground(): () => void;
  close(): Promise<void>;
}

/**
 * The claim applier (store.ts, claim-log.ts): every APPLY_EVERY_MS it applies APPLY_CHUNK
 * claims (a few ms, so answers queued behind it wait little) once redeems have paused for
 * APPLY_QUIET_MS; while more than CLAIMS_PENDING_HIGH wait (memory: ~0.5 KB each), it
 * applies APPLY_CHUNK_HIGH each time whether redeems pause or not, which bounds the log.
 */
const APPLY_EVERY_MS = 100;
const APPLY_CHUNK = 128;
const APPLY_CHUNK_HIGH = 1024;
const APPLY_QUIET_MS = 500;
export const CLAIMS_PENDING_HIGH = 50_000;

/** The SQLite store behind the async interface: the synchronous calls, unchanged, with group commit for claims and first uses. */
export class SqliteTicketsBackend implements TicketsBackend {
  readonly kind = 'sqlite';
  /** Claims and first uses of one event-loop turn commit together (group-commit.ts). */
  readonly commits: GroupCommit;

  constructor(readonly store: TicketsStore, private readonly onClose: () => void = () => {}) {
    this.commits = new GroupCommit((fn) => store.transaction(fn));
  }

  async pidPair(pid: string, tag: string): Promise<[PidRow | undefined, PidRow | undefined]> {
    return [this.store.pid(pid), this.store.pid(tag)];
  }

  claim(pid: string, tag: string, hash: Buffer, choose: PidChooser, now: () => number): Promise<ClaimResult | null> {
    return this.commits.run(() => {
      // Read again in the batch's transaction: since the caller's read, another redeem of this
      // PID (maybe in this very batch) may have claimed it, or the watcher changed its credit.
      const fresh = choose(this.store.pid(pid), this.store.pid(tag));
      const balance = fresh ? BigInt(fresh.credited) : 0n;
      if (!fresh || fresh.token_hash || balance <= 0n) return null;
      const at = now();
      return this.store.claim(fresh.pid, hash, fresh.source, balance, at) ? { balance, at, source: fresh.source } : null;
    });
  }

  async token(hash: Buffer): Promise<TokenRow | undefined> {
    return this.store.token(hash);
  }

  async markUsed(hash: Buffer, nowMs: number): Promise<TokenRow | undefined> {
    await this.commits.run(() => this.store.markUsed(hash, nowMs));
    // Read after the commit (not in the batch's transaction), so the cache may keep it.
    return this.store.token(hash);
  }

  async spend(hash: Buffer, debit: Debit, nowMs: number): Promise<TokenRow> {
    return this.store.transaction(() => {
      const row = this.store.token(hash);
      const { balance, spent } = debit(row);
      this.store.setTokenBalance(hash, balance, spent);
      if (row!.used_at === null) this.store.markUsed(hash, nowMs);
      return this.store.token(hash)!;
    });
  }

  async revoke(hash: Buffer, nowMs: number, reason: string): Promise<TokenRow | undefined> {
    if (!this.store.token(hash)) return undefined;
    this.store.revoke(hash, nowMs, reason);
    return this.store.token(hash);
  }

  async paymentsOfPid(pid: string) { return this.store.paymentsOfPid(pid); }
  async tokensPage(status: 'active' | 'revoked' | null, before: { issuedAt: number; hash: Buffer }, limit: number) { return this.store.tokensPage(status, before, limit); }
  async cursor(source: Source) { return this.store.cursor(source); }
  async setCursor(source: Source, height: number) { this.store.setCursor(source, height); }
  async payment(source: Source, txid: string) { return this.store.payment(source, txid); }
  async paymentsInRange(source: Source, lo: number, hi: number) { return this.store.paymentsInRange(source, lo, hi); }

  async applyPayments(ops: PaymentOp[], minAmount: bigint, nowMs: number, cursor?: { source: Source; height: number }): Promise<PaymentOpResult[]> {
    return this.store.transaction(() => {
      const out = ops.map((op): PaymentOpResult => (op.kind === 'record'
        ? this.store.recordPayment(op.payment, minAmount, nowMs)
        : { vanished: true, ...this.store.vanish(op.source, op.txid) }));
      if (cursor) this.store.setCursor(cursor.source, cursor.height);
      return out;
    });
  }

  cacheSizes(): Record<string, number> {
    return { ...this.store.cacheSizes(), commits: this.commits.batches, committed: this.commits.writes };
  }

  startBackground(): () => void {
    const timer = setInterval(() => {
      const { claimsPending } = this.store.cacheSizes();
      if (claimsPending === 0) return;
      if (claimsPending > CLAIMS_PENDING_HIGH) this.store.applyClaims(APPLY_CHUNK_HIGH);
      else if (Date.now() - this.store.lastClaimAt >= APPLY_QUIET_MS) this.store.applyClaims(APPLY_CHUNK);
    }, APPLY_EVERY_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  async close(): Promise<void> {
    this.onClose();
  }
}
