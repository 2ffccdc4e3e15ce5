// The notary's tables in PostgreSQL, shared by worker processes on any number of machines.
// The same guarantees as the SQLite store, by PostgreSQL's means: a lease is taken with
// SELECT ... FOR NO KEY UPDATE SKIP LOCKED (two workers never wait on, or take, the same
// free key or batch) and the primary and unique keys of notary_leases make a second holder
// impossible whatever races; every write carries the lease's fencing token and renews the
// lease in the same transaction (a worker whose lease lapsed writes nothing), and the
// statement trigger on notary_signatures checks the token again. Private keys are sealed
// with the KEK (kek.ts). Calls that fail because PostgreSQL is restarting are retried.
import type pg from 'pg';
import { fail, TallyError } from '../../core/errors.js';
import { toB64u } from '../../core/encoding.js';
import { merkleRoot } from '../../core/merkle.js';
import { migratePostgres, pgFailure, pgTransaction, withPgRetry } from '../../store/postgres.js';
import type { BatchStatus, NotaryBackend, NotaryStatus } from './backend.js';
import { openPrivateKey, sealPrivateKey } from './kek.js';
import type { Algorithm, KeyMaterial } from './keys.js';
import { notaryLimits } from './limits.js';
import { batchContentHash, recordLeafHash } from './records.js';
import { notaryMigrations } from './schema.js';
import { proofOf, type PendingRecord, type RecordProof } from './proof.js';
import { batchView, leaseLost, type BatchRow, type KeyRow, type Lease, type LeaseLogRow, type SignedRecordRow, type SubmittedBatch } from './store.js';

const NOW = 'notary_now_ms()';
const KEY_COLS = 'id, kid, type, alg, public_pem, created_at, retired_at';
const BATCH_COLS = 'id, first_record, record_count, source, created_at, signed_at, root, anchor_tx, anchor_height';
type Db = pg.Pool | pg.PoolClient;

function translate(err: unknown): never {
  const msg = (err as Error)?.message ?? '';
  if (msg.includes('notary: lease_lost')) throw leaseLost();
  if (msg.includes('notary: key_retired')) fail('key_retired', 'the key is retired; it takes no new leases', { status: 409 });
  if (msg.includes('notary: batch_incomplete')) fail('batch_incomplete', 'the batch still has unsigned records', { status: 409 });
  if (err instanceof TallyError) throw err;
  throw pgFailure(err);
}

export interface PgNotaryOptions {
  /** The key-encryption key: needed to add keys and to lease them (sign); not for reads. */
  kek?: Buffer;
  /** How long a call keeps retrying while PostgreSQL does not answer (a restart). */
  retryMs?: number;
  log?: (line: string) => void;
}

export class PgNotaryStore implements NotaryBackend {
  readonly kind = 'postgres';
  /** Round trips and their total time, for the per-signature database cost in the bench. */
  queries = 0;
  queryMs = 0;
  transactions = 0;

  constructor(readonly pool: pg.Pool, private readonly o: PgNotaryOptions = {}) {}

  /** Apply the notary migrations (once, whatever processes start together). */
  static async open(pool: pg.Pool, o: PgNotaryOptions = {}): Promise<PgNotaryStore> {
    await migratePostgres(pool, 'notary', notaryMigrations);
    return new PgNotaryStore(pool, o);
  }

  private async q<R extends pg.QueryResultRow = Record<string, unknown>>(db: Db, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    const t = performance.now();
    try {
      return await db.query<R>(text, values);
    } finally {
      this.queries++;
      this.queryMs += performance.now() - t;
    }
  }

  private retry<T>(fn: () => Promise<T>): Promise<T> {
    return withPgRetry(fn, {
      deadlineMs: this.o.retryMs ?? 30_000,
      onRetry: (err, attempt) => { if (attempt === 1) this.o.log?.(`notary: PostgreSQL not answering (${(err as { code?: string }).code ?? (err as Error).message}); retrying`); },
    }).catch(translate);
  }

  private tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.retry(() => pgTransaction(this.pool, async (c) => {
      this.queries += 2; // BEGIN and COMMIT are round trips too
      this.transactions++;
      return fn(c);
    }));
  }

  private kek(): Buffer {
    return this.o.kek ?? fail('kek_missing', 'this command needs the notary key-encryption key (keys in PostgreSQL are sealed with it)', {
      status: 500,
      hint: 'give --kek-file FILE (or "kek_file" in the notary section of config.json)',
    });
  }

  // ---- keys

  async addKey(k: KeyMaterial): Promise<KeyRow> {
    const sealed = sealPrivateKey(this.kek(), k.kid, k.privateDer);
    try {
      const r = await this.retry(() => this.q<KeyRow>(this.pool,
        `INSERT INTO notary_keys (kid, type, alg, public_pem, private_der, created_at) VALUES ($1, $2, $3, $4, $5, ${NOW}) RETURNING ${KEY_COLS}`,
        [k.kid, k.type, k.alg, k.publicPem, sealed]));
      return r.rows[0]!;
    } catch (err) {
      if ((err as TallyError).code === 'pg_failed' && ((err as TallyError).cause as { code?: string })?.code === '23505') {
        fail('key_exists', `key ${k.kid} is already in the pool`, { status: 409 });
      }
      throw err;
    }
  }

  async keys(): Promise<KeyRow[]> {
    return (await this.retry(() => this.q<KeyRow>(this.pool, `SELECT ${KEY_COLS} FROM notary_keys ORDER BY id`))).rows;
  }

  async key(kid: string): Promise<KeyRow> {
    const r = await this.retry(() => this.q<KeyRow>(this.pool, `SELECT ${KEY_COLS} FROM notary_keys WHERE kid = $1`, [kid]));
    return r.rows[0] ?? fail('key_not_found', `no key ${kid.slice(0, 64)} in the pool`, { status: 404, hint: 'see `tally notary keys list --store postgres`' });
  }

  async retireKey(kid: string): Promise<KeyRow> {
    const k = await this.key(kid);
    if (k.retired_at !== null) fail('key_retired', `key ${kid} is already retired`, { status: 409 });
    await this.retry(() => this.q(this.pool, `UPDATE notary_keys SET retired_at = ${NOW} WHERE id = $1 AND retired_at IS NULL`, [k.id]));
    return this.key(kid);
  }

  // ---- intake

  /**
   * As NotaryStore.submit: one transaction, durable on return, a batch already stored (same
   * content hash) is named instead of stored again. Record ids are given here, under a
   * transaction-scoped advisory lock, so each batch is one contiguous id range even with
   * several submitters on several machines.
   */
  async submit(records: string[], source: string, batchSize: number = notaryLimits.batchRecordsMax): Promise<SubmittedBatch[]> {
    if (records.length === 0) fail('no_records', 'no records given');
    const size = Math.max(1, Math.min(batchSize, notaryLimits.batchRecordsMax));
    return this.tx(async (c) => {
      await this.q(c, `SELECT pg_advisory_xact_lock(hashtext('tally:notary:submit'))`);
      let next = (await this.q<{ n: number }>(c, 'SELECT coalesce(max(id), 0) + 1 AS n FROM notary_records')).rows[0]!.n;
      const out: SubmittedBatch[] = [];
      for (let i = 0; i < records.length; i += size) {
        const slice = records.slice(i, i + size);
        const content = batchContentHash(slice);
        const known = (await this.q<{ id: number; first_record: number; record_count: number }>(c,
          'SELECT id, first_record, record_count FROM notary_batches WHERE content_hash = $1', [content])).rows[0];
        if (known) {
          out.push({ batch: known.id, first: known.first_record, count: known.record_count, duplicate: true });
          continue;
        }
        const batch = (await this.q<{ id: number }>(c,
          `INSERT INTO notary_batches (first_record, record_count, source, content_hash, created_at) VALUES ($1, $2, $3, $4, ${NOW}) RETURNING id`,
          [next, slice.length, source, content])).rows[0]!.id;
        await this.q(c, 'INSERT INTO notary_records (id, batch_id, record) SELECT $1::bigint + o - 1, $2, r FROM unnest($3::text[]) WITH ORDINALITY AS t(r, o)', [next, batch, slice]);
        out.push({ batch, first: next, count: slice.length, duplicate: false });
        next += slice.length;
      }
      return out;
    });
  }

  // ---- leases

  async hasLeasableWork(): Promise<boolean> {
    const r = await this.retry(() => this.q<{ n: boolean }>(this.pool, `SELECT
      EXISTS (SELECT 1 FROM notary_batches b WHERE b.signed_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM notary_leases l WHERE l.batch_id = b.id AND l.expires_at > ${NOW}))
      AND EXISTS (SELECT 1 FROM notary_keys k WHERE k.retired_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM notary_leases l WHERE l.key_id = k.id AND l.expires_at > ${NOW})) AS n`));
    return r.rows[0]!.n;
  }

  async hasPendingBatches(): Promise<boolean> {
    const r = await this.retry(() => this.q<{ n: boolean }>(this.pool, 'SELECT EXISTS (SELECT 1 FROM notary_batches WHERE signed_at IS NULL) AS n'));
    return r.rows[0]!.n;
  }

  /**
   * Reclaim expired leases, then lease a free active key for the oldest free unsigned
   * batch. Rows another worker is looking at are skipped, not waited for. If two workers
   * still pick the same row (one committed between the other's snapshot and its lock),
   * the unique keys of notary_leases refuse the second: it gets no lease this round.
   */
  async acquire(holder: string, leaseMs: number): Promise<Lease | undefined> {
    const got = await this.tx(async (c) => {
      await this.q(c, `WITH e AS (
          DELETE FROM notary_leases WHERE key_id IN (SELECT key_id FROM notary_leases WHERE expires_at <= ${NOW} FOR UPDATE SKIP LOCKED)
          RETURNING token, expires_at)
        UPDATE notary_lease_log g SET ended_at = e.expires_at, end_reason = 'expired' FROM e WHERE g.token = e.token AND g.ended_at IS NULL`);
      const batch = (await this.q<{ id: number; first_record: number; record_count: number }>(c, `
        SELECT b.id, b.first_record, b.record_count FROM notary_batches b
        WHERE b.signed_at IS NULL AND NOT EXISTS (SELECT 1 FROM notary_leases l WHERE l.batch_id = b.id)
        ORDER BY b.id LIMIT 1 FOR NO KEY UPDATE OF b SKIP LOCKED`)).rows[0];
      if (!batch) return undefined;
      // Least recently leased first, so work spreads over the pool.
      const key = (await this.q<{ id: number; kid: string; alg: Algorithm; private_der: Buffer }>(c, `
        SELECT k.id, k.kid, k.alg, k.private_der FROM notary_keys k
        WHERE k.retired_at IS NULL AND NOT EXISTS (SELECT 1 FROM notary_leases l WHERE l.key_id = k.id)
        ORDER BY (SELECT max(token) FROM notary_lease_log g WHERE g.key_id = k.id) NULLS FIRST, k.id
        LIMIT 1 FOR NO KEY UPDATE OF k SKIP LOCKED`)).rows[0];
      if (!key) return undefined;
      const token = (await this.q<{ token: number }>(c,
        `INSERT INTO notary_lease_log (key_id, batch_id, holder, acquired_at) VALUES ($1, $2, $3, ${NOW}) RETURNING token`, [key.id, batch.id, holder])).rows[0]!.token;
      try {
        await this.q(c, `INSERT INTO notary_leases (key_id, batch_id, token, holder, expires_at) VALUES ($1, $2, $3, $4, ${NOW} + $5)`, [key.id, batch.id, token, holder, leaseMs]);
      } catch (err) {
        if ((err as { code?: string }).code === '23505') return 'raced' as const;
        throw err;
      }
      // Opened before COMMIT: a wrong or missing KEK rolls the lease back instead of leaving it held.
      const privateDer = openPrivateKey(this.kek(), key.kid, key.private_der);
      return {
        token, keyId: key.id, kid: key.kid, alg: key.alg, privateDer,
        batchId: batch.id, firstRecord: batch.first_record, recordCount: batch.record_count, holder,
      };
    });
    return got === 'raced' ? undefined : got;
  }

  async renew(lease: Lease, leaseMs: number): Promise<boolean> {
    const r = await this.retry(() => this.q(this.pool,
      `UPDATE notary_leases SET expires_at = ${NOW} + $1 WHERE key_id = $2 AND token = $3 AND expires_at > ${NOW}`, [leaseMs, lease.keyId, lease.token]));
    return r.rowCount === 1;
  }

  async unsigned(lease: Lease, limit: number): Promise<Array<{ id: number; record: string }>> {
    const r = await this.retry(() => this.q<{ id: number; record: string }>(this.pool, `
      SELECT r.id, r.record FROM notary_records r WHERE r.id BETWEEN $1 AND $2
      AND NOT EXISTS (SELECT 1 FROM notary_signatures s WHERE s.record_id = r.id) ORDER BY r.id LIMIT $3`,
    [lease.firstRecord, lease.firstRecord + lease.recordCount - 1, limit]));
    return r.rows;
  }

  /**
   * The renewal is the guard (no live lease with this token: nothing is written), then
   * all rows in one INSERT, checked again by the statement trigger. A retry after a
   * connection lost at COMMIT skips the rows its first attempt already wrote (under this
   * same token: nobody else can have written them while the lease was ours).
   */
  async writeSignatures(lease: Lease, leaseMs: number, rows: Array<{ id: number; sig: Buffer }>, complete?: { leafHashes?: Uint8Array[] }): Promise<void> {
    await this.writeChunk(lease, leaseMs, rows);
    // The batch's last chunk: complete it (its own transaction; the root is read back here).
    if (complete) await this.complete(lease);
  }

  private async writeChunk(lease: Lease, leaseMs: number, rows: Array<{ id: number; sig: Buffer }>): Promise<void> {
    let attempt = 0;
    await this.tx(async (c) => {
      const renewed = await this.q(c, `UPDATE notary_leases SET expires_at = ${NOW} + $1 WHERE key_id = $2 AND token = $3 AND expires_at > ${NOW}`, [leaseMs, lease.keyId, lease.token]);
      if (renewed.rowCount !== 1) throw leaseLost();
      let todo = rows;
      if (attempt++ > 0) {
        const done = new Set((await this.q<{ record_id: number }>(c, 'SELECT record_id FROM notary_signatures WHERE record_id = ANY($1::bigint[]) AND lease_token = $2', [rows.map((r) => r.id), lease.token])).rows.map((r) => r.record_id));
        todo = rows.filter((r) => !done.has(r.id));
      }
      if (todo.length === 0) return;
      await this.q(c, `INSERT INTO notary_signatures (record_id, key_id, lease_token, sig, signed_at)
        SELECT id, $2, $3, sig, ${NOW} FROM unnest($1::bigint[], $4::bytea[]) AS t(id, sig)`,
      [todo.map((r) => r.id), lease.keyId, lease.token, todo.map((r) => r.sig)]);
    });
  }

  async complete(lease: Lease): Promise<string> {
    return this.tx(async (c) => {
      const live = await this.q(c, `SELECT 1 FROM notary_leases WHERE key_id = $1 AND token = $2 AND expires_at > ${NOW} FOR UPDATE`, [lease.keyId, lease.token]);
      if (live.rowCount !== 1) throw leaseLost();
      const root = await this.rootOf(c, lease.firstRecord, lease.recordCount);
      const marked = await this.q(c, `UPDATE notary_batches SET signed_at = ${NOW}, root = $1 WHERE id = $2 AND signed_at IS NULL`, [root, lease.batchId]);
      if (marked.rowCount !== 1) fail('batch_signed', `batch ${lease.batchId} is already signed`, { status: 409 });
      await this.q(c, `UPDATE notary_lease_log SET ended_at = ${NOW}, end_reason = 'completed' WHERE token = $1 AND ended_at IS NULL`, [lease.token]);
      await this.q(c, 'DELETE FROM notary_leases WHERE key_id = $1 AND token = $2', [lease.keyId, lease.token]);
      return root;
    });
  }

  async release(lease: Lease): Promise<void> {
    await this.tx(async (c) => {
      const gone = await this.q(c, 'DELETE FROM notary_leases WHERE key_id = $1 AND token = $2', [lease.keyId, lease.token]);
      if (gone.rowCount === 1) await this.q(c, `UPDATE notary_lease_log SET ended_at = ${NOW}, end_reason = 'released' WHERE token = $1 AND ended_at IS NULL`, [lease.token]);
    });
  }

  private async rootOf(db: Db, first: number, count: number): Promise<string> {
    const rows = await this.signedRangeOn(db, first, first + count - 1);
    if (rows.length !== count) fail('batch_incomplete', 'the batch still has unsigned records', { status: 409 });
    return merkleRoot(rows.map((r) => recordLeafHash({ id: r.id, batch: r.batch_id, kid: r.kid, alg: r.alg, sig: toB64u(r.sig), record: r.record })));
  }

  private async signedRangeOn(db: Db, first: number, last: number): Promise<SignedRecordRow[]> {
    return (await this.q<SignedRecordRow>(db, `
      SELECT r.id, r.batch_id, r.record, s.sig, k.kid, k.alg, s.signed_at FROM notary_records r
      JOIN notary_signatures s ON s.record_id = r.id JOIN notary_keys k ON k.id = s.key_id
      WHERE r.id BETWEEN $1 AND $2 ORDER BY r.id`, [first, last])).rows;
  }

  signedRange(first: number, last: number): Promise<SignedRecordRow[]> {
    return this.retry(() => this.signedRangeOn(this.pool, first, last));
  }

  // ---- anchors and reads

  async unanchored(limit: number): Promise<BatchRow[]> {
    return (await this.retry(() => this.q<BatchRow>(this.pool,
      `SELECT ${BATCH_COLS} FROM notary_batches WHERE signed_at IS NOT NULL AND anchor_tx IS NULL ORDER BY id LIMIT $1`, [limit]))).rows;
  }

  async signedBatches(afterId: number, limit: number): Promise<BatchRow[]> {
    return (await this.retry(() => this.q<BatchRow>(this.pool,
      `SELECT ${BATCH_COLS} FROM notary_batches WHERE signed_at IS NOT NULL AND id > $1 ORDER BY id LIMIT $2`, [afterId, limit]))).rows;
  }

  async setAnchor(batch: number, txId: string, height: number): Promise<void> {
    await this.retry(() => this.q(this.pool, 'UPDATE notary_batches SET anchor_tx = $1, anchor_height = $2 WHERE id = $3 AND anchor_tx IS NULL', [txId, height, batch]));
  }

  async batchStatus(id: number): Promise<BatchStatus> {
    const b = (await this.retry(() => this.q<BatchRow>(this.pool, `SELECT ${BATCH_COLS} FROM notary_batches WHERE id = $1`, [id]))).rows[0]
      ?? fail('batch_not_found', `no batch ${id}`, { status: 404 });
    const signed = (await this.retry(() => this.q<{ n: number }>(this.pool, 'SELECT count(*) AS n FROM notary_signatures WHERE record_id BETWEEN $1 AND $2',
      [b.first_record, b.first_record + b.record_count - 1]))).rows[0]!.n;
    return batchView(b, signed);
  }

  async status(): Promise<NotaryStatus> {
    return this.retry(async () => {
      const c = (await this.q<{ batches: number; signed: number; anchored: number; records: number; sigs: number }>(this.pool,
        `SELECT count(*) AS batches, count(signed_at) AS signed, count(anchor_tx) AS anchored, coalesce(sum(record_count), 0)::bigint AS records,
                (SELECT count(*) FROM notary_signatures) AS sigs FROM notary_batches`)).rows[0]!;
      const keys = (await this.q<KeyRow>(this.pool, `SELECT ${KEY_COLS} FROM notary_keys ORDER BY id`)).rows;
      const leases = (await this.q<{ kid: string; batch_id: number; token: number; holder: string; expires_at: number }>(this.pool,
        'SELECT k.kid, l.batch_id, l.token, l.holder, l.expires_at FROM notary_leases l JOIN notary_keys k ON k.id = l.key_id ORDER BY l.key_id')).rows;
      return {
        records: c.records,
        signed: c.sigs,
        batches: { total: c.batches, pending: c.batches - c.signed, signed: c.signed - c.anchored, anchored: c.anchored },
        keys: { active: keys.filter((k) => k.retired_at === null).length, retired: keys.filter((k) => k.retired_at !== null).length },
        leases: leases.map((l) => ({ kid: l.kid, batch: l.batch_id, token: l.token, holder: l.holder, expires_at: new Date(l.expires_at).toISOString() })),
      };
    });
  }

  /** A record with its proof (proof.ts), as GET /v1/notary/records/:id answers it. */
  async recordProof(id: number): Promise<RecordProof | PendingRecord | undefined> {
    const r = (await this.retry(() => this.q<{ id: number; batch_id: number; record: string }>(this.pool, 'SELECT id, batch_id, record FROM notary_records WHERE id = $1', [id]))).rows[0];
    if (!r) return undefined;
    const b = (await this.retry(() => this.q<BatchRow>(this.pool, `SELECT ${BATCH_COLS} FROM notary_batches WHERE id = $1`, [r.batch_id]))).rows[0]!;
    return proofOf(id, r, b, await this.signedRange(b.first_record, b.first_record + b.record_count - 1));
  }

  /** The figures of the tally_notary_* metrics (metrics.ts), the same queries as on SQLite. */
  async metricsSnapshot() {
    // One attempt: a scrape must not hang on a PostgreSQL that does not answer.
    return withPgRetry(async () => {
      const b = (await this.q<{ records: number; pending_records: number; batches: number; signed: number; anchored: number }>(this.pool,
        `SELECT coalesce(sum(record_count), 0)::bigint AS records,
                coalesce(sum(CASE WHEN signed_at IS NULL THEN record_count END), 0)::bigint AS pending_records,
                count(*) AS batches, count(signed_at) AS signed, count(anchor_tx) AS anchored FROM notary_batches`)).rows[0]!;
      const pendingSigned = (await this.q<{ n: number }>(this.pool,
        `SELECT count(*) AS n FROM notary_batches b JOIN notary_signatures s
         ON s.record_id BETWEEN b.first_record AND b.first_record + b.record_count - 1 WHERE b.signed_at IS NULL`)).rows[0]!.n;
      const l = (await this.q<{ live: number; acquired: number; expired: number }>(this.pool,
        `SELECT (SELECT count(*) FROM notary_leases WHERE expires_at > ${NOW}) AS live,
                (SELECT count(*) FROM notary_lease_log) AS acquired,
                (SELECT count(*) FROM notary_lease_log WHERE end_reason = 'expired') AS expired`)).rows[0]!;
      const k = (await this.q<{ active: number; retired: number }>(this.pool,
        'SELECT count(*) - count(retired_at) AS active, count(retired_at) AS retired FROM notary_keys')).rows[0]!;
      return { b, pendingSigned, l, k };
    }, { deadlineMs: 0 }).catch(translate);
  }

  async leaseLog(): Promise<LeaseLogRow[]> {
    return (await this.retry(() => this.q<LeaseLogRow>(this.pool, 'SELECT token, key_id, batch_id, holder, acquired_at, ended_at, end_reason FROM notary_lease_log ORDER BY key_id, token'))).rows;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

