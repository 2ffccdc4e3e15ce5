// The tickets tables: off-chain service state in the node's encrypted database (scope
// "tickets"). Payments are keyed by (source, txid), so re-reading a block never credits
// twice; amounts are decimal strings of the source's minor units (piconero for Monero),
// added up in bigint. Every write that belongs together runs in one SQLite transaction.
import type Database from 'better-sqlite3-multiple-ciphers';
import { assert } from '../../core/errors.js';
import type { Migration } from '../../store/migrations.js';
import { tallyMemoTag } from './pid.js';

export const ticketsMigrations: Migration[] = [
  {
    version: 1,
    description: 'tickets: PIDs, payments (credited, dust, vanished), tokens by hash, watcher cursors',
    sql: `
      CREATE TABLE tickets_pids (
        pid         TEXT PRIMARY KEY,   -- 16 hex
        source      TEXT NOT NULL,      -- tally | monero: the source that paid it first
        credited    TEXT NOT NULL,      -- minor units of that source
        dust        TEXT NOT NULL,      -- payments below minAmount, recorded, not credited
        first_seen  INTEGER NOT NULL,   -- unix ms
        claimed_at  INTEGER,            -- unix ms of the first redeem
        token_hash  BLOB                -- SHA-256 of the token issued for it
      ) WITHOUT ROWID;
      CREATE TABLE tickets_payments (
        source  TEXT NOT NULL,
        txid    TEXT NOT NULL,
        pid     TEXT NOT NULL,
        amount  TEXT NOT NULL,
        height  INTEGER NOT NULL,
        status  TEXT NOT NULL,          -- credited | dust | conflict | vanished
        was     TEXT,                   -- for vanished: what it was before
        seen_at INTEGER NOT NULL,
        PRIMARY KEY (source, txid)
      ) WITHOUT ROWID;
      CREATE INDEX tickets_payments_pid ON tickets_payments(pid);
      CREATE INDEX tickets_payments_height ON tickets_payments(source, height);
      CREATE TABLE tickets_tokens (
        hash          BLOB PRIMARY KEY, -- SHA-256 of the 32-byte token; the token itself is never stored
        pid           TEXT NOT NULL UNIQUE,
        source        TEXT NOT NULL,
        balance       TEXT NOT NULL,
        spent         TEXT NOT NULL,
        issued_at     INTEGER NOT NULL,
        revoked_at    INTEGER,
        revoke_reason TEXT
      ) WITHOUT ROWID;
      CREATE TABLE tickets_cursors (
        source TEXT PRIMARY KEY,
        height INTEGER NOT NULL         -- last block fully scanned (the next scan starts above it)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    description: 'tickets: when a token was first presented (introspect or spend); until then its PID may fetch it again',
    sql: 'ALTER TABLE tickets_tokens ADD COLUMN used_at INTEGER;',
  },
  {
    version: 3,
    description: 'tickets: tokens by issue time, for the operator\'s paged list',
    sql: 'CREATE INDEX tickets_tokens_issued ON tickets_tokens(issued_at, hash);',
  },
];

export type Source = 'tally' | 'monero';

export interface PidRow {
  pid: string;
  source: Source;
  credited: string;
  dust: string;
  first_seen: number;
  claimed_at: number | null;
  token_hash: Buffer | null;
}

export interface PaymentRow {
  source: Source;
  txid: string;
  pid: string;
  amount: string;
  height: number;
  status: 'credited' | 'dust' | 'conflict' | 'vanished';
  was: string | null;
  seen_at: number;
}

export interface TokenRow {
  hash: Buffer;
  pid: string;
  source: Source;
  balance: string;
  spent: string;
  issued_at: number;
  revoked_at: number | null;
  revoke_reason: string | null;
  /** unix ms of the first introspection or spend; null while the token has not been presented */
  used_at: number | null;
}

export interface IncomingPayment {
  source: Source;
  txid: string;
  pid: string;
  /** minor units */
  amount: bigint;
  height: number;
}

export type RecordResult = 'credited' | 'dust' | 'conflict' | 'known' | 'recredited';

// Node 24: a better-sqlite3 statement that becomes garbage can abort the process (see
// src/store/sqlite.ts); statements made here stay reachable for the life of the process.
const keepAlive: unknown[] = [];

function prepare<P extends unknown[], R = unknown>(db: Database.Database, sql: string): Database.Statement<P, R> {
  const s = db.prepare<P, R>(sql);
  keepAlive.push(s);
  return s;
}

export class TicketsStore {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      pid: prepare<[string], PidRow>(db, 'SELECT * FROM tickets_pids WHERE pid = ?'),
      insertPid: prepare<[string, string, string, string, number]>(db, 'INSERT INTO tickets_pids (pid, source, credited, dust, first_seen) VALUES (?, ?, ?, ?, ?)'),
      setPidAmounts: prepare<[string, string, string]>(db, 'UPDATE tickets_pids SET credited = ?, dust = ? WHERE pid = ?'),
      claimPid: prepare<[number, Buffer, string]>(db, 'UPDATE tickets_pids SET claimed_at = ?, token_hash = ? WHERE pid = ? AND token_hash IS NULL'),
      payment: prepare<[string, string], PaymentRow>(db, 'SELECT * FROM tickets_payments WHERE source = ? AND txid = ?'),
      insertPayment: prepare<[string, string, string, string, number, string, number]>(db, 'INSERT INTO tickets_payments (source, txid, pid, amount, height, status, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      setPayment: prepare<[number, string, string | null, string, string]>(db, 'UPDATE tickets_payments SET height = ?, status = ?, was = ? WHERE source = ? AND txid = ?'),
      paymentsInRange: prepare<[string, number, number], PaymentRow>(db, "SELECT * FROM tickets_payments WHERE source = ? AND height > ? AND height <= ? AND status <> 'vanished'"),
      paymentsOfPid: prepare<[string], PaymentRow>(db, 'SELECT * FROM tickets_payments WHERE pid = ? ORDER BY height, txid LIMIT 100'),
      token: prepare<[Buffer], TokenRow>(db, 'SELECT * FROM tickets_tokens WHERE hash = ?'),
      insertToken: prepare<[Buffer, string, string, string, number]>(db, "INSERT INTO tickets_tokens (hash, pid, source, balance, spent, issued_at) VALUES (?, ?, ?, ?, '0', ?)"),
      setTokenBalance: prepare<[string, string, Buffer]>(db, 'UPDATE tickets_tokens SET balance = ?, spent = ? WHERE hash = ?'),
      markUsed: prepare<[number, Buffer]>(db, 'UPDATE tickets_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL'),
      revokeToken: prepare<[number, string, Buffer]>(db, 'UPDATE tickets_tokens SET revoked_at = ?, revoke_reason = ? WHERE hash = ? AND revoked_at IS NULL'),
      // Newest first, keyset-paged on (issued_at, hash); status: null, 'active' or 'revoked'.
      tokensPage: prepare<[string | null, string | null, number, number, Buffer, number], TokenRow>(db,
        `SELECT * FROM tickets_tokens WHERE (? IS NULL OR (CASE WHEN revoked_at IS NULL THEN 'active' ELSE 'revoked' END) = ?)
         AND (issued_at < ? OR (issued_at = ? AND hash < ?)) ORDER BY issued_at DESC, hash DESC LIMIT ?`),
      cursor: prepare<[string], { height: number }>(db, 'SELECT height FROM tickets_cursors WHERE source = ?'),
      setCursor: prepare<[string, number]>(db, 'INSERT INTO tickets_cursors (source, height) VALUES (?, ?) ON CONFLICT(source) DO UPDATE SET height = excluded.height'),
    };
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  cursor(source: Source): number | undefined {
    return this.s.cursor.get(source)?.height;
  }

  setCursor(source: Source, height: number): void {
    this.s.setCursor.run(source, height);
  }

  pid(pid: string): PidRow | undefined {
    return this.s.pid.get(pid);
  }

  payment(source: Source, txid: string): PaymentRow | undefined {
    return this.s.payment.get(source, txid);
  }

  paymentsOfPid(pid: string): PaymentRow[] {
    return this.s.paymentsOfPid.all(pid);
  }

  /** Payments of a source in blocks (lo, hi] that are not vanished: what a rescan must find again. */
  paymentsInRange(source: Source, lo: number, hi: number): PaymentRow[] {
    return this.s.paymentsInRange.all(source, lo, hi);
  }

  token(hash: Buffer): TokenRow | undefined {
    return this.s.token.get(hash);
  }

  /** Tokens issued before (issuedAt, hash), newest first. */
  tokensPage(status: 'active' | 'revoked' | null, before: { issuedAt: number; hash: Buffer }, limit: number): TokenRow[] {
    return this.s.tokensPage.all(status, status, before.issuedAt, before.issuedAt, before.hash, limit);
  }

  /**
   * Record one confirmed payment (call inside a transaction). A txid seen before only has its
   * height brought up to date; one that had vanished (reorg) and is back is credited again.
   */
  recordPayment(p: IncomingPayment, minAmount: bigint, nowMs: number): RecordResult {
    assert(p.amount > 0n, 'payments are positive');
    const known = this.payment(p.source, p.txid);
    if (known && known.status !== 'vanished') {
      if (known.height !== p.height) this.s.setPayment.run(p.height, known.status, known.was, p.source, p.txid);
      return 'known';
    }
    let row = this.pid(p.pid);
    if (p.source !== 'tally' && this.pid(tallyMemoTag(p.pid))?.token_hash) {
      // The PID was already redeemed through its Tally payment: this one cannot reach a token.
      this.upsertPayment(p, 'conflict', known, nowMs);
      return 'conflict';
    }
    if (row && row.source !== p.source) {
      // A PID belongs to the source that paid it first: amounts in two currencies do not add up.
      this.upsertPayment(p, 'conflict', known, nowMs);
      return 'conflict';
    }
    if (!row) {
      this.s.insertPid.run(p.pid, p.source, '0', '0', nowMs);
      row = this.pid(p.pid)!;
    }
    if (p.amount < minAmount) {
      this.s.setPidAmounts.run(row.credited, (BigInt(row.dust) + p.amount).toString(), p.pid);
      this.upsertPayment(p, 'dust', known, nowMs);
      return 'dust';
    }
    this.s.setPidAmounts.run((BigInt(row.credited) + p.amount).toString(), row.dust, p.pid);
    // A top-up of a redeemed PID goes straight to its token.
    if (row.token_hash) {
      const t = this.token(row.token_hash)!;
      this.s.setTokenBalance.run((BigInt(t.balance) + p.amount).toString(), t.spent, t.hash);
    }
    this.upsertPayment(p, 'credited', known, nowMs);
    return known ? 'recredited' : 'credited';
  }

  private upsertPayment(p: IncomingPayment, status: PaymentRow['status'], known: PaymentRow | undefined, nowMs: number): void {
    if (known) this.s.setPayment.run(p.height, status, null, p.source, p.txid);
    else this.s.insertPayment.run(p.source, p.txid, p.pid, p.amount.toString(), p.height, status, nowMs);
  }

  /**
   * A payment the source no longer has (reorg, dropped transaction). Before its PID is
   * redeemed, the credit is taken back; after, the token keeps its balance (the service
   * already handed out access) and the payment is only marked, for the operator to judge.
   * Returns whether the PID had already been redeemed.
   */
  vanish(source: Source, txid: string): { redeemed: boolean } {
    const pay = this.payment(source, txid);
    assert(pay && pay.status !== 'vanished', 'only a recorded payment can vanish');
    const row = this.pid(pay.pid)!;
    const redeemed = row.token_hash !== null;
    if (pay.status === 'credited' && !redeemed) this.s.setPidAmounts.run((BigInt(row.credited) - BigInt(pay.amount)).toString(), row.dust, pay.pid);
    if (pay.status === 'dust') this.s.setPidAmounts.run(row.credited, (BigInt(row.dust) - BigInt(pay.amount)).toString(), pay.pid);
    this.s.setPayment.run(pay.height, 'vanished', pay.status, source, txid);
    return { redeemed: redeemed && pay.status === 'credited' };
  }

  /** Bind a new token to a paid PID; false if another redeem won the race. */
  claim(pid: string, hash: Buffer, source: Source, balance: bigint, nowMs: number): boolean {
    return this.transaction(() => {
      if (this.s.claimPid.run(nowMs, hash, pid).changes !== 1) return false;
      this.s.insertToken.run(hash, pid, source, balance.toString(), nowMs);
      return true;
    });
  }

  setTokenBalance(hash: Buffer, balance: bigint, spent: bigint): void {
    this.s.setTokenBalance.run(balance.toString(), spent.toString(), hash);
  }

  /** The token was presented: from now on its PID no longer fetches it after redeemGraceSecs. */
  markUsed(hash: Buffer, nowMs: number): void {
    this.s.markUsed.run(nowMs, hash);
  }

  revoke(hash: Buffer, nowMs: number, reason: string): boolean {
    return this.s.revokeToken.run(nowMs, reason, hash).changes === 1;
  }
}
