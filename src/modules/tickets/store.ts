// The tickets tables: off-chain service state in the node's encrypted database (scope
// "tickets"). Payments are keyed by (source, txid), so re-reading a block never credits
// twice; amounts are decimal strings of the source's minor units (piconero for Monero),
// added up in bigint. Every write that belongs together runs in one SQLite transaction.
import type Database from 'better-sqlite3-multiple-ciphers';
import { assert } from '../../core/errors.js';
import type { Migration } from '../../store/migrations.js';
import { ClaimLog, type Claim, type Source } from './claim-log.js';
import { Lru } from './lru.js';
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
    // PostgreSQL: the same tables; unix ms need BIGINT (INTEGER is 32-bit there), blobs are BYTEA.
    postgres: `
      CREATE TABLE tickets_pids (pid TEXT PRIMARY KEY, source TEXT NOT NULL, credited TEXT NOT NULL, dust TEXT NOT NULL,
        first_seen BIGINT NOT NULL, claimed_at BIGINT, token_hash BYTEA);
      CREATE TABLE tickets_payments (source TEXT NOT NULL, txid TEXT NOT NULL, pid TEXT NOT NULL, amount TEXT NOT NULL,
        height BIGINT NOT NULL, status TEXT NOT NULL, was TEXT, seen_at BIGINT NOT NULL, PRIMARY KEY (source, txid));
      CREATE INDEX tickets_payments_pid ON tickets_payments(pid);
      CREATE INDEX tickets_payments_height ON tickets_payments(source, height);
      CREATE TABLE tickets_tokens (hash BYTEA PRIMARY KEY, pid TEXT NOT NULL UNIQUE, source TEXT NOT NULL, balance TEXT NOT NULL,
        spent TEXT NOT NULL, issued_at BIGINT NOT NULL, revoked_at BIGINT, revoke_reason TEXT);
      CREATE TABLE tickets_cursors (source TEXT PRIMARY KEY, height BIGINT NOT NULL);
    `,
  },
  {
    version: 2,
    description: 'tickets: when a token was first presented (introspect or spend); until then its PID may fetch it again',
    sql: 'ALTER TABLE tickets_tokens ADD COLUMN used_at INTEGER;',
    postgres: 'ALTER TABLE tickets_tokens ADD COLUMN used_at BIGINT;',
  },
  {
    version: 3,
    description: 'tickets: tokens by issue time, for the operator\'s paged list',
    sql: 'CREATE INDEX tickets_tokens_issued ON tickets_tokens(issued_at, hash);',
  },
  {
    version: 4,
    description: 'tickets: the claim log, redeems appended in order and applied to PIDs and tokens in batches',
    sql: `
      CREATE TABLE tickets_claims (
        seq        INTEGER PRIMARY KEY,
        pid        TEXT NOT NULL,
        hash       BLOB NOT NULL,
        source     TEXT NOT NULL,
        balance    TEXT NOT NULL,
        claimed_at INTEGER NOT NULL
      );
    `,
    postgres: `
      CREATE TABLE tickets_claims (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, pid TEXT NOT NULL, hash BYTEA NOT NULL,
        source TEXT NOT NULL, balance TEXT NOT NULL, claimed_at BIGINT NOT NULL);
    `,
  },
  {
    version: 5,
    description: 'tickets: a token first presented while its claim is in the log is marked there (one page, not the token table\'s)',
    sql: 'ALTER TABLE tickets_claims ADD COLUMN used_at INTEGER;',
    postgres: 'ALTER TABLE tickets_claims ADD COLUMN used_at BIGINT;',
  },
];

// The payment sources: defined beside the claim log, which store.ts imports (no cycle).
export type { Source } from './claim-log.js';

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

/** Bounds of the in-memory caches in front of the tables (see TicketsStore). */
export interface CacheBounds {
  /** PID rows and token rows kept, each (about 0.5 KB an entry) */
  rows: number;
  /** keys known to be absent (unknown PIDs and tokens), shared by both (about 0.1 KB an entry) */
  misses: number;
}

export const CACHE_DEFAULTS: CacheBounds = Object.freeze({ rows: 100_000, misses: 100_000 });

/**
 * The tickets tables behind bounded caches: PID and token rows (the hot read paths of redeem
 * and introspection) and a separate negative cache of keys found absent, so that a flood of
 * random PIDs or tokens evicts only other misses, never a real token.
 * Exactness: every write below drops the keys it touches from both caches in the same call
 * that writes them, and a read fills the caches only outside a transaction, so a cache
 * never holds a row that was not committed (a rolled-back write just leaves a key uncached).
 * This process is the only writer of these tables (the operator's CLI goes through its API).
 */
export class TicketsStore {
  private readonly s;
  private readonly pidRows: Lru<string, PidRow>;
  private readonly tokenRows: Lru<string, TokenRow>;
  private readonly misses: Lru<string, true>;
  private readonly log: ClaimLog;
  /** what to do to memory if the current transaction rolls back (see transaction()) */
  private readonly undo: Array<() => void> = [];

  constructor(private readonly db: Database.Database, bounds: CacheBounds = CACHE_DEFAULTS) {
    this.log = new ClaimLog(db, (st) => keepAlive.push(st));
    this.pidRows = new Lru(bounds.rows);
    this.tokenRows = new Lru(bounds.rows);
    this.misses = new Lru(bounds.misses);
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
      insertToken: prepare<[Buffer, string, string, string, number, number | null]>(db, "INSERT INTO tickets_tokens (hash, pid, source, balance, spent, issued_at, used_at) VALUES (?, ?, ?, ?, '0', ?, ?)"),
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

  /** Nested calls are savepoints. Memory that follows the tables (the claim log) is put back on rollback. */
  transaction<T>(fn: () => T): T {
    const mark = this.undo.length;
    this.depth++;
    try {
      const out = this.db.transaction(fn)();
      if (this.depth === 1) this.undo.length = 0;
      return out;
    } catch (err) {
      for (const u of this.undo.splice(mark).reverse()) u();
      throw err;
    } finally {
      this.depth--;
    }
  }

  /** calls of transaction() in progress: undo entries live until the outermost one ends */
  private depth = 0;

  private readonly onRollback = (fn: () => void): void => {
    if (this.depth > 0) this.undo.push(fn);
  };

  /** Entries in the caches and claims not yet applied, for the metrics and the tests. */
  cacheSizes(): { pids: number; tokens: number; misses: number; missEvictions: number; claimsPending: number } {
    return { pids: this.pidRows.size, tokens: this.tokenRows.size, misses: this.misses.size, missEvictions: this.misses.evictions, claimsPending: this.log.size };
  }

  /** unix ms of the last claim appended (0: none since start) */
  get lastClaimAt(): number {
    return this.log.lastAppend;
  }

  /** Apply up to `max` claims of the log, oldest first, in one transaction; answers how many. */
  applyClaims(max: number): number {
    if (this.log.size === 0) return 0;
    // The first `max` only: copying a long log every tick would cost more than applying.
    const batch: Claim[] = [];
    for (const c of this.log.all()) {
      if (batch.length >= max) break;
      batch.push(c);
    }
    return this.transaction(() => {
      for (const c of batch) this.applyClaim(c);
      return batch.length;
    });
  }

  private applyClaim(c: Claim): void {
    this.transaction(() => {
      this.forgetPid(c.pid);
      this.forgetToken(c.hash);
      assert(this.s.claimPid.run(c.claimed_at, c.hash, c.pid).changes === 1, 'a logged claim is of an unclaimed PID');
      this.s.insertToken.run(c.hash, c.pid, c.source, c.balance, c.claimed_at, c.used_at);
      this.log.drop(c, this.onRollback);
    });
  }

  /** Before anything else writes a PID or token, its pending claim is applied. */
  private settlePid(pid: string): void {
    const c = this.log.ofPid(pid);
    if (c) this.applyClaim(c);
  }

  private settleToken(hash: Buffer): void {
    const c = this.log.ofHash(hash);
    if (c) this.applyClaim(c);
  }

  private claimedRow(c: Claim): TokenRow {
    return { hash: c.hash, pid: c.pid, source: c.source, balance: c.balance, spent: '0', issued_at: c.claimed_at, revoked_at: null, revoke_reason: null, used_at: c.used_at };
  }

  private cached<R extends object>(rows: Lru<string, R>, missKey: string, key: string, read: () => R | undefined): R | undefined {
    const hit = rows.get(key);
    if (hit) return hit;
    // Misses are not moved up when seen again (no reordering on the flood's path): the
    // oldest goes first, which bounds them just as well.
    if (this.misses.has(missKey)) return undefined;
    const row = read();
    if (!this.db.inTransaction) {
      if (row) rows.set(key, Object.freeze(row));
      else this.misses.set(missKey, true);
    }
    return row;
  }

  private forgetPid(pid: string): void {
    this.pidRows.delete(pid);
    this.misses.delete(`p${pid}`);
  }

  private forgetToken(hash: Buffer): void {
    const key = hash.toString('hex');
    this.tokenRows.delete(key);
    this.misses.delete(`t${key}`);
  }

  cursor(source: Source): number | undefined {
    return this.s.cursor.get(source)?.height;
  }

  setCursor(source: Source, height: number): void {
    this.s.setCursor.run(source, height);
  }

  pid(pid: string): PidRow | undefined {
    const row = this.cached(this.pidRows, `p${pid}`, pid, () => this.s.pid.get(pid));
    const c = row && this.log.ofPid(pid);
    return c ? { ...row, claimed_at: c.claimed_at, token_hash: c.hash } : row;
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
    const key = hash.toString('hex');
    const c = this.log.ofKey(key);
    if (c) return this.claimedRow(c);
    return this.cached(this.tokenRows, `t${key}`, key, () => this.s.token.get(hash));
  }

  /** Tokens issued before (issuedAt, hash), newest first. */
  tokensPage(status: 'active' | 'revoked' | null, before: { issuedAt: number; hash: Buffer }, limit: number): TokenRow[] {
    const rows = this.s.tokensPage.all(status, status, before.issuedAt, before.issuedAt, before.hash, limit);
    if (status === 'revoked' || this.log.size === 0) return rows;
    // Claims not yet applied are active tokens too: merged in, in the same order.
    const newer = (a: TokenRow, b: TokenRow) => b.issued_at - a.issued_at || Buffer.compare(b.hash, a.hash);
    const pending = [...this.log.all()].map((c) => this.claimedRow(c))
      .filter((t) => t.issued_at < before.issuedAt || (t.issued_at === before.issuedAt && Buffer.compare(t.hash, before.hash) < 0));
    return [...rows, ...pending].sort(newer).slice(0, limit);
  }

  /**
   * Record one confirmed payment (call inside a transaction). A txid seen before only has its
   * height brought up to date; one that had vanished (reorg) and is back is credited again.
   */
  recordPayment(p: IncomingPayment, minAmount: bigint, nowMs: number): RecordResult {
    assert(p.amount > 0n, 'payments are positive');
    this.settlePid(p.pid);
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
      this.forgetPid(p.pid);
      this.s.insertPid.run(p.pid, p.source, '0', '0', nowMs);
      row = this.pid(p.pid)!;
    }
    this.forgetPid(p.pid);
    if (p.amount < minAmount) {
      this.s.setPidAmounts.run(row.credited, (BigInt(row.dust) + p.amount).toString(), p.pid);
      this.upsertPayment(p, 'dust', known, nowMs);
      return 'dust';
    }
    this.s.setPidAmounts.run((BigInt(row.credited) + p.amount).toString(), row.dust, p.pid);
    // A top-up of a redeemed PID goes straight to its token.
    if (row.token_hash) {
      const t = this.token(row.token_hash)!;
      this.forgetToken(t.hash);
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
    this.settlePid(pay.pid);
    const row = this.pid(pay.pid)!;
    const redeemed = row.token_hash !== null;
    this.forgetPid(pay.pid);
    if (pay.status === 'credited' && !redeemed) this.s.setPidAmounts.run((BigInt(row.credited) - BigInt(pay.amount)).toString(), row.dust, pay.pid);
    if (pay.status === 'dust') this.s.setPidAmounts.run(row.credited, (BigInt(row.dust) - BigInt(pay.amount)).toString(), pay.pid);
    this.s.setPayment.run(pay.height, 'vanished', pay.status, source, txid);
    return { redeemed: redeemed && pay.status === 'credited' };
  }

  /**
   * Bind a new token to a paid PID; false if another redeem won the race. Appends to the
   * claim log (claim-log.ts); this process is the only writer of the tables, and the check
   * below sees every claim, applied or not, so one PID gets one token.
   */
  claim(pid: string, hash: Buffer, source: Source, balance: bigint, nowMs: number): boolean {
    // One statement: in a transaction already (group commit), no savepoint of its own is needed.
    if (!this.db.inTransaction) return this.transaction(() => this.claim(pid, hash, source, balance, nowMs));
    const row = this.pid(pid);
    if (!row || row.token_hash || this.token(hash)) return false;
    this.forgetPid(pid);
    this.forgetToken(hash);
    this.log.append({ pid, hash, source, balance: balance.toString(), claimed_at: nowMs, used_at: null }, this.onRollback);
    return true;
  }

  setTokenBalance(hash: Buffer, balance: bigint, spent: bigint): void {
    this.settleToken(hash);
    this.forgetToken(hash);
    this.s.setTokenBalance.run(balance.toString(), spent.toString(), hash);
  }

  /** The token was presented: from now on its PID no longer fetches it after redeemGraceSecs. */
  markUsed(hash: Buffer, nowMs: number): void {
    // Right after a redeem the claim is usually still in the log: marking its row there
    // writes the log's last page, where applying the claim first would write three random
    // B-tree pages (PID, token, its index) and then the token's page again.
    const c = this.log.ofHash(hash);
    if (c) {
      this.log.markUsed(c, nowMs, this.onRollback);
      return;
    }
    this.settleToken(hash);
    this.forgetToken(hash);
    this.s.markUsed.run(nowMs, hash);
  }

  revoke(hash: Buffer, nowMs: number, reason: string): boolean {
    this.settleToken(hash);
    this.forgetToken(hash);
    return this.s.revokeToken.run(nowMs, reason, hash).changes === 1;
  }
}
