// The tickets tables in PostgreSQL, shared by every `tally tickets serve` process and node
// that names the same database. Nothing here trusts memory of this process: each answer is
// read from the database, and each write checks its own condition in its transaction.
//  - One token per PID: a claim is one statement (with the other claims of its event-loop
//    turn, pg-claims.ts) that sets token_hash only WHERE
//    token_hash IS NULL (and the credit is the one read, and the PID's other row is not
//    claimed) and inserts the token, whose hash is the primary key and whose pid is UNIQUE.
//    Two processes redeeming one PID: the second's update finds the row claimed (PostgreSQL
//    re-checks the WHERE after waiting for the first's row lock) and writes nothing.
//  - No caches: a token revoked through process A must never be shown active by B, and a
//    PID credited by the watcher in A must be redeemable through B at once. A read is one
//    indexed SELECT (see README, "Tickets: scale-out on PostgreSQL", for the figures).
//  - No claim log: it saves SQLite random page writes in one process; here a claim is
//    one UPDATE and one INSERT in one transaction.
import type pg from 'pg';
import { assert, TallyError } from '../../core/errors.js';
import { migratePostgres, openPostgres, pgFailure, pgTransaction, readPostgresUrl, withPgRetry, type PgUrlSource } from '../../store/postgres.js';
import type { ClaimResult, Debit, PaymentOp, PaymentOpResult, PidChooser, PidPair, TicketsBackend } from './backend.js';
import { PgClaimBatcher } from './pg-claims.js';
import { tallyMemoTag } from './pid.js';
import { ticketsMigrations, type IncomingPayment, type PaymentRow, type PidRow, type RecordResult, type Source, type TokenRow } from './store.js';

/** A request waits this long for PostgreSQL to come back (a restart), then fails with pg_unreachable (503). */
const REQUEST_RETRY_MS = 2000;

const UNIQUE_VIOLATION = '23505';

export class PgTicketsBackend implements TicketsBackend {
  readonly kind = 'postgres';
  /** Why calls fail before the store is open (undefined once it is). */
  private closedReason: TallyError | undefined = new TallyError('pg_unreachable', 'the tickets store (PostgreSQL) is not open yet', {
    status: 503, hint: 'this process migrates it as soon as PostgreSQL answers; see its log',
  });
  private stopped = false;
  private opened!: () => void;
  /** Settles once the tables are migrated and calls work. */
  readonly ready = new Promise<void>((resolve) => { this.opened = resolve; });

  /** Claims of one event-loop turn commit together (pg-claims.ts). */
  readonly claims = new PgClaimBatcher(
    (sql, params) => this.read<{ pid: string }>(sql, params),
    (err) => err instanceof TallyError && (err.cause as { code?: string } | undefined)?.code === UNIQUE_VIOLATION,
  );

  constructor(
    readonly pool: pg.Pool,
    private readonly retryMs = REQUEST_RETRY_MS,
    /** the connection string, for the watcher lock's own connection (never logged) */
    readonly url?: string,
  ) {}

  /** Migrate, again every OPEN_RETRY_MS while PostgreSQL does not answer (a newer schema stops it: pg_schema_newer). */
  open(log: (line: string) => void, onOpen?: () => void, onFailure?: (reason: string) => void): void {
    let said = '';
    const attempt = async (): Promise<void> => {
      if (this.stopped) return;
      try {
        await migratePostgres(this.pool, 'tickets', ticketsMigrations, { deadlineMs: OPEN_RETRY_MS });
        this.closedReason = undefined;
        if (said) log('tickets: PostgreSQL store open');
        onOpen?.();
        this.opened();
      } catch (err) {
        const e = pgFailure(err);
        const line = `tickets: cannot open the PostgreSQL store (${e.code}: ${e.message})`;
        if (line !== said) log(e.code === 'pg_schema_newer' ? line : `${line}; retrying every ${OPEN_RETRY_MS / 1000} s`);
        said = line;
        onFailure?.(`PostgreSQL store not open: ${e.code}: ${e.message}`);
        if (e.code === 'pg_schema_newer') {
          this.closedReason = e;
          return;
        }
        setTimeout(() => void attempt(), OPEN_RETRY_MS).unref();
      }
    };
    void attempt();
  }

  private async read<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    if (this.closedReason) throw this.closedReason;
    try {
      return (await withPgRetry(() => this.pool.query<R>(sql, params), { deadlineMs: this.retryMs })).rows;
    } catch (err) {
      throw pgFailure(err);
    }
  }

  /** One transaction, run again on a transient failure (restart, deadlock victim); coded errors pass through. */
  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.closedReason) throw this.closedReason;
    try {
      return await withPgRetry(() => pgTransaction(this.pool, fn), { deadlineMs: this.retryMs });
    } catch (err) {
      throw err instanceof TallyError ? err : pgFailure(err);
    }
  }

  /** The rows of these PIDs, locked for this transaction in key order (so two lockers never deadlock). */
  private async lockPids(c: pg.PoolClient, pids: string[]): Promise<Map<string, PidRow>> {
    const r = await c.query<PidRow>('SELECT * FROM tickets_pids WHERE pid = ANY($1::text[]) ORDER BY pid FOR UPDATE', [pids]);
    return new Map(r.rows.map((row) => [row.pid, row]));
  }

  async pidPair(pid: string, tag: string): Promise<[PidRow | undefined, PidRow | undefined]> {
    const rows = await this.read<PidRow>('SELECT * FROM tickets_pids WHERE pid = $1 OR pid = $2', [pid, tag]);
    return [rows.find((r) => r.pid === pid), rows.find((r) => r.pid === tag)];
  }

  async claim(pid: string, tag: string, hash: Buffer, choose: PidChooser, now: () => number, seen?: PidPair): Promise<ClaimResult | null> {
    // The statement below re-checks what it relies on, so rows read just before will do.
    const [direct, tagged] = seen ?? await this.pidPair(pid, tag);
    const row = choose(direct, tagged);
    const balance = row ? BigInt(row.credited) : 0n;
    if (!row || row.token_hash || balance <= 0n) return null;
    const other = row.pid === pid ? tag : pid;
    const at = now();
    // With the other claims of this turn, in one statement (pg-claims.ts): the guards are the
    // database's, and whatever changed since the read, nothing is written and the caller reads again.
    const won = await this.claims.claim({ pid: row.pid, other, hash, credited: row.credited, at });
    return won ? { source: row.source, balance, at } : null;
  }

  async token(hash: Buffer): Promise<TokenRow | undefined> {
    return (await this.read<TokenRow>('SELECT * FROM tickets_tokens WHERE hash = $1', [hash]))[0];
  }

  async markUsed(hash: Buffer, nowMs: number): Promise<TokenRow | undefined> {
    // The row after, revocation included, in the same round trip.
    return (await this.read<TokenRow>('UPDATE tickets_tokens SET used_at = COALESCE(used_at, $1) WHERE hash = $2 RETURNING *', [nowMs, hash]))[0];
  }

  async spend(hash: Buffer, debit: Debit, nowMs: number): Promise<TokenRow> {
    return this.tx(async (c) => {
      const row = (await c.query<TokenRow>('SELECT * FROM tickets_tokens WHERE hash = $1 FOR UPDATE', [hash])).rows[0];
      const { balance, spent } = debit(row);
      const r = await c.query<TokenRow>('UPDATE tickets_tokens SET balance = $1, spent = $2, used_at = COALESCE(used_at, $3) WHERE hash = $4 RETURNING *',
        [balance.toString(), spent.toString(), nowMs, hash]);
      return r.rows[0]!;
    });
  }

  async revoke(hash: Buffer, nowMs: number, reason: string): Promise<TokenRow | undefined> {
    return this.tx(async (c) => {
      await c.query('UPDATE tickets_tokens SET revoked_at = $1, revoke_reason = $2 WHERE hash = $3 AND revoked_at IS NULL', [nowMs, reason, hash]);
      return (await c.query<TokenRow>('SELECT * FROM tickets_tokens WHERE hash = $1', [hash])).rows[0];
    });
  }

  async paymentsOfPid(pid: string): Promise<PaymentRow[]> {
    return this.read<PaymentRow>('SELECT * FROM tickets_payments WHERE pid = $1 ORDER BY height, txid LIMIT 100', [pid]);
  }

  async tokensPage(status: 'active' | 'revoked' | null, before: { issuedAt: number; hash: Buffer }, limit: number): Promise<TokenRow[]> {
    return this.read<TokenRow>(
      `SELECT * FROM tickets_tokens WHERE ($1::text IS NULL OR (CASE WHEN revoked_at IS NULL THEN 'active' ELSE 'revoked' END) = $1::text)
       AND (issued_at < $2 OR (issued_at = $2 AND hash < $3)) ORDER BY issued_at DESC, hash DESC LIMIT $4`,
      [status, before.issuedAt, before.hash, limit]);
  }

  async cursor(source: Source): Promise<number | undefined> {
    return (await this.read<{ height: number }>('SELECT height FROM tickets_cursors WHERE source = $1', [source]))[0]?.height;
  }

  async setCursor(source: Source, height: number): Promise<void> {
    await this.read('INSERT INTO tickets_cursors (source, height) VALUES ($1, $2) ON CONFLICT (source) DO UPDATE SET height = excluded.height', [source, height]);
  }

  async payment(source: Source, txid: string): Promise<PaymentRow | undefined> {
    return (await this.read<PaymentRow>('SELECT * FROM tickets_payments WHERE source = $1 AND txid = $2', [source, txid]))[0];
  }

  async paymentsInRange(source: Source, lo: number, hi: number): Promise<PaymentRow[]> {
    return this.read<PaymentRow>("SELECT * FROM tickets_payments WHERE source = $1 AND height > $2 AND height <= $3 AND status <> 'vanished'", [source, lo, hi]);
  }

  async applyPayments(ops: PaymentOp[], minAmount: bigint, nowMs: number, cursor?: { source: Source; height: number }): Promise<PaymentOpResult[]> {
    return this.tx(async (c) => {
      const out: PaymentOpResult[] = [];
      for (const op of ops) out.push(op.kind === 'record' ? await recordPayment(c, this, op.payment, minAmount, nowMs) : await vanish(c, this, op.source, op.txid));
      if (cursor) await c.query('INSERT INTO tickets_cursors (source, height) VALUES ($1, $2) ON CONFLICT (source) DO UPDATE SET height = excluded.height', [cursor.source, cursor.height]);
      return out;
    });
  }

  /** For recordPayment and vanish below. */
  lock(c: pg.PoolClient, pids: string[]): Promise<Map<string, PidRow>> {
    return this.lockPids(c, pids);
  }

  cacheSizes(): Record<string, number> {
    return { commits: this.claims.batches, committed: this.claims.claims };
  }

  startBackground(): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.pool.end();
  }
}

/** How long to wait between tries to migrate (open) the store while PostgreSQL does not answer. */
const OPEN_RETRY_MS = 2000;

/**
 * The store named by `source` (a 0600 file or an environment variable; a missing or bad URL
 * throws here). It opens in the background: the tables are migrated as soon as PostgreSQL
 * answers, and until then every call fails with pg_unreachable (503), so a process started
 * while PostgreSQL is down serves as soon as it is back. `ready` settles once it is open.
 */
export function openPgTickets(source: PgUrlSource, o: { log?: (line: string) => void; max?: number; onOpen?: () => void; onFailure?: (reason: string) => void } = {}): PgTicketsBackend {
  const url = readPostgresUrl(source);
  const pool = openPostgres(url, {
    max: o.max ?? 8,
    applicationName: 'tally-tickets',
    // An idle connection dropped by a restart: the pool replaces it on next use.
    onIdleError: (err) => o.log?.(`tickets: PostgreSQL connection lost (${(err as { code?: string }).code ?? err.message}); reconnecting on next use`),
  });
  const backend = new PgTicketsBackend(pool, REQUEST_RETRY_MS, url);
  backend.open(o.log ?? (() => {}), o.onOpen, o.onFailure);
  return backend;
}

// The same rules as TicketsStore.recordPayment and .vanish (store.ts), written for a
// transaction on PostgreSQL: the rows are locked before they are read for a decision.

async function recordPayment(c: pg.PoolClient, b: PgTicketsBackend, p: IncomingPayment, minAmount: bigint, nowMs: number): Promise<RecordResult> {
  assert(p.amount > 0n, 'payments are positive');
  const known = (await c.query<PaymentRow>('SELECT * FROM tickets_payments WHERE source = $1 AND txid = $2 FOR UPDATE', [p.source, p.txid])).rows[0];
  if (known && known.status !== 'vanished') {
    if (known.height !== p.height) await c.query('UPDATE tickets_payments SET height = $1 WHERE source = $2 AND txid = $3', [p.height, p.source, p.txid]);
    return 'known';
  }
  const tag = p.source !== 'tally' ? tallyMemoTag(p.pid) : undefined;
  const rows = await b.lock(c, tag ? [p.pid, tag] : [p.pid]);
  let row = rows.get(p.pid);
  const upsert = async (status: PaymentRow['status']) => {
    if (known) await c.query('UPDATE tickets_payments SET height = $1, status = $2, was = NULL WHERE source = $3 AND txid = $4', [p.height, status, p.source, p.txid]);
    else await c.query('INSERT INTO tickets_payments (source, txid, pid, amount, height, status, seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [p.source, p.txid, p.pid, p.amount.toString(), p.height, status, nowMs]);
  };
  // Redeemed through its Tally payment, or first paid on another source: not credited.
  if ((tag && rows.get(tag)?.token_hash) || (row && row.source !== p.source)) {
    await upsert('conflict');
    return 'conflict';
  }
  if (!row) {
    await c.query("INSERT INTO tickets_pids (pid, source, credited, dust, first_seen) VALUES ($1, $2, '0', '0', $3) ON CONFLICT (pid) DO NOTHING", [p.pid, p.source, nowMs]);
    row = (await b.lock(c, [p.pid])).get(p.pid)!;
    if (row.source !== p.source) {
      await upsert('conflict');
      return 'conflict';
    }
  }
  if (p.amount < minAmount) {
    await c.query('UPDATE tickets_pids SET dust = $1 WHERE pid = $2', [(BigInt(row.dust) + p.amount).toString(), p.pid]);
    await upsert('dust');
    return 'dust';
  }
  await c.query('UPDATE tickets_pids SET credited = $1 WHERE pid = $2', [(BigInt(row.credited) + p.amount).toString(), p.pid]);
  // A top-up of a redeemed PID goes straight to its token (in SQL: a spend may hold the token).
  if (row.token_hash) await c.query('UPDATE tickets_tokens SET balance = (balance::numeric + $1::numeric)::text WHERE hash = $2', [p.amount.toString(), row.token_hash]);
  await upsert('credited');
  return known ? 'recredited' : 'credited';
}

async function vanish(c: pg.PoolClient, b: PgTicketsBackend, source: Source, txid: string): Promise<PaymentOpResult> {
  const pay = (await c.query<PaymentRow>('SELECT * FROM tickets_payments WHERE source = $1 AND txid = $2 FOR UPDATE', [source, txid])).rows[0];
  assert(pay && pay.status !== 'vanished', 'only a recorded payment can vanish');
  const row = (await b.lock(c, [pay.pid])).get(pay.pid)!;
  const redeemed = row.token_hash !== null;
  if (pay.status === 'credited' && !redeemed) await c.query('UPDATE tickets_pids SET credited = $1 WHERE pid = $2', [(BigInt(row.credited) - BigInt(pay.amount)).toString(), pay.pid]);
  if (pay.status === 'dust') await c.query('UPDATE tickets_pids SET dust = $1 WHERE pid = $2', [(BigInt(row.dust) - BigInt(pay.amount)).toString(), pay.pid]);
  await c.query("UPDATE tickets_payments SET status = 'vanished', was = $1 WHERE source = $2 AND txid = $3", [pay.status, source, txid]);
  return { vanished: true, redeemed: redeemed && pay.status === 'credited' };
}
