// Every read and write of the notary tables, as prepared statements over one connection.
// Writes are short IMMEDIATE transactions (the write lock is taken up front, so two
// processes never deadlock upgrading a read lock); busy_timeout makes them wait their turn.
import type Database from 'better-sqlite3-multiple-ciphers';
import { fail, TallyError } from '../../core/errors.js';
import { toB64u } from '../../core/encoding.js';
import { merkleRoot } from '../../core/merkle.js';
import type { Algorithm, KeyMaterial, KeyType } from './keys.js';
import { notaryLimits } from './limits.js';
import { batchContentHash, recordLeafHash } from './records.js';
import { NOW_MS } from './schema.js';

// Node 24.19+ aborts when a better-sqlite3 statement is garbage-collected at the wrong
// moment (see src/store/sqlite.ts); statements made here stay reachable for the process.
const keepAlive: unknown[] = [];

export interface KeyRow {
  id: number;
  kid: string;
  type: KeyType;
  alg: Algorithm;
  public_pem: string;
  created_at: number;
  retired_at: number | null;
}

export interface Lease {
  token: number;
  keyId: number;
  kid: string;
  alg: Algorithm;
  privateDer: Buffer;
  batchId: number;
  firstRecord: number;
  recordCount: number;
  holder: string;
}

export interface BatchRow {
  id: number;
  first_record: number;
  record_count: number;
  source: string;
  created_at: number;
  signed_at: number | null;
  root: string | null;
  anchor_tx: string | null;
  anchor_height: number | null;
}

export interface SignedRecordRow {
  id: number;
  batch_id: number;
  record: string;
  sig: Buffer;
  kid: string;
  alg: Algorithm;
  signed_at: number;
}

export interface LeaseLogRow {
  token: number;
  key_id: number;
  batch_id: number;
  holder: string;
  acquired_at: number;
  ended_at: number | null;
  end_reason: string | null;
}

export interface SubmittedBatch {
  batch: number;
  first: number;
  count: number;
  /** the same content was already a batch: this is that batch, nothing new was stored */
  duplicate: boolean;
}

export function leaseLost(message = 'the lease expired or was taken over; nothing was written'): TallyError {
  return new TallyError('lease_lost', message, { status: 409 });
}

/** SQLite RAISE() messages from our triggers become stable error codes. */
function translate(err: unknown): never {
  const msg = (err as Error)?.message ?? '';
  if (msg.includes('notary: lease_lost')) throw leaseLost();
  if (msg.includes('notary: key_retired')) fail('key_retired', 'the key is retired; it takes no new leases', { status: 409 });
  if (msg.includes('notary: batch_incomplete')) fail('batch_incomplete', 'the batch still has unsigned records', { status: 409 });
  throw err;
}

/** Signatures per multi-row insert (4 parameters each, far under SQLite's 32,766). */
const SIG_ROWS = 64;

export class NotaryStore {
  private readonly s;

  constructor(readonly db: Database.Database) {
    const p = <T extends unknown[] = unknown[], R = unknown>(sql: string) => {
      const st = db.prepare<T, R>(sql);
      keepAlive.push(st);
      return st;
    };
    this.s = {
      insertKey: p<[string, string, string, string, Buffer]>(`INSERT INTO notary_keys (kid, type, alg, public_pem, private_der, created_at) VALUES (?, ?, ?, ?, ?, ${NOW_MS})`),
      keyByKid: p<[string], KeyRow>('SELECT id, kid, type, alg, public_pem, created_at, retired_at FROM notary_keys WHERE kid = ?'),
      keys: p<[], KeyRow>('SELECT id, kid, type, alg, public_pem, created_at, retired_at FROM notary_keys ORDER BY id'),
      retireKey: p<[number]>(`UPDATE notary_keys SET retired_at = ${NOW_MS} WHERE id = ? AND retired_at IS NULL`),
      insertBatch: p<[number, number, string, Buffer]>(`INSERT INTO notary_batches (first_record, record_count, source, content_hash, created_at) VALUES (?, ?, ?, ?, ${NOW_MS})`),
      batchByContent: p<[Buffer], { id: number; first_record: number; record_count: number }>('SELECT id, first_record, record_count FROM notary_batches WHERE content_hash = ?'),
      fixBatchFirst: p<[number, number]>('UPDATE notary_batches SET first_record = ? WHERE id = ?'),
      insertRecord: p<[number, string]>('INSERT INTO notary_records (batch_id, record) VALUES (?, ?)'),
      expiredLeases: p<[], { key_id: number; token: number; expires_at: number }>(`SELECT key_id, token, expires_at FROM notary_leases WHERE expires_at <= ${NOW_MS}`),
      endLog: p<[number, string, number]>('UPDATE notary_lease_log SET ended_at = ?, end_reason = ? WHERE token = ? AND ended_at IS NULL'),
      endLogNow: p<[string, number]>(`UPDATE notary_lease_log SET ended_at = ${NOW_MS}, end_reason = ? WHERE token = ? AND ended_at IS NULL`),
      deleteLease: p<[number, number]>('DELETE FROM notary_leases WHERE key_id = ? AND token = ?'),
      freeBatch: p<[], { id: number; first_record: number; record_count: number }>(
        'SELECT id, first_record, record_count FROM notary_batches WHERE signed_at IS NULL AND id NOT IN (SELECT batch_id FROM notary_leases) ORDER BY id LIMIT 1'),
      freeKey: p<[], { id: number; kid: string; alg: Algorithm; private_der: Buffer }>(
        // Least recently leased first, so work spreads over the pool.
        `SELECT k.id, k.kid, k.alg, k.private_der FROM notary_keys k
         WHERE k.retired_at IS NULL AND k.id NOT IN (SELECT key_id FROM notary_leases)
         ORDER BY (SELECT max(token) FROM notary_lease_log g WHERE g.key_id = k.id) NULLS FIRST, k.id LIMIT 1`),
      insertLog: p<[number, number, string]>(`INSERT INTO notary_lease_log (key_id, batch_id, holder, acquired_at) VALUES (?, ?, ?, ${NOW_MS})`),
      insertLease: p<[number, number, number, string, number]>(`INSERT INTO notary_leases (key_id, batch_id, token, holder, expires_at) VALUES (?, ?, ?, ?, ${NOW_MS} + ?)`),
      live: p<[number, number], { one: number }>(`SELECT 1 AS one FROM notary_leases WHERE key_id = ? AND token = ? AND expires_at > ${NOW_MS}`),
      renew: p<[number, number, number]>(`UPDATE notary_leases SET expires_at = ${NOW_MS} + ? WHERE key_id = ? AND token = ? AND expires_at > ${NOW_MS}`),
      unsigned: p<[number, number, number], { id: number; record: string }>(
        'SELECT r.id, r.record FROM notary_records r WHERE r.id BETWEEN ? AND ? AND NOT EXISTS (SELECT 1 FROM notary_signatures s WHERE s.record_id = r.id) ORDER BY r.id LIMIT ?'),
      insertSig: p<[number, number, number, Buffer]>(`INSERT INTO notary_signatures (record_id, key_id, lease_token, sig, signed_at) VALUES (?, ?, ?, ?, ${NOW_MS})`),
      // SIG_ROWS signatures in one statement: a chunk's rows cost one step through the
      // binding per SIG_ROWS instead of one each (the lease trigger still checks every row).
      insertSigs: p<unknown[]>(`INSERT INTO notary_signatures (record_id, key_id, lease_token, sig, signed_at) VALUES ${Array(SIG_ROWS).fill(`(?, ?, ?, ?, ${NOW_MS})`).join(', ')}`),
      signedRange: p<[number, number], SignedRecordRow>(
        `SELECT r.id, r.batch_id, r.record, s.sig, k.kid, k.alg, s.signed_at FROM notary_records r
         JOIN notary_signatures s ON s.record_id = r.id JOIN notary_keys k ON k.id = s.key_id
         WHERE r.id BETWEEN ? AND ? ORDER BY r.id`),
      markSigned: p<[string, number]>(`UPDATE notary_batches SET signed_at = ${NOW_MS}, root = ? WHERE id = ? AND signed_at IS NULL`),
      batch: p<[number], BatchRow>('SELECT * FROM notary_batches WHERE id = ?'),
      unanchored: p<[number], BatchRow>('SELECT * FROM notary_batches WHERE signed_at IS NOT NULL AND anchor_tx IS NULL ORDER BY id LIMIT ?'),
      setAnchor: p<[string, number, number]>('UPDATE notary_batches SET anchor_tx = ?, anchor_height = ? WHERE id = ? AND anchor_tx IS NULL'),
      pendingBatches: p<[], { n: number }>('SELECT count(*) AS n FROM notary_batches WHERE signed_at IS NULL'),
      // What acquire() could lease right now: an unsigned batch and an active key, neither
      // under a live lease (an expired one is reclaimed by acquire).
      leasable: p<[], { n: number }>(`SELECT
        EXISTS (SELECT 1 FROM notary_batches b WHERE b.signed_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM notary_leases l WHERE l.batch_id = b.id AND l.expires_at > ${NOW_MS}))
        AND EXISTS (SELECT 1 FROM notary_keys k WHERE k.retired_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM notary_leases l WHERE l.key_id = k.id AND l.expires_at > ${NOW_MS})) AS n`),
      counts: p<[], { batches: number; signed: number; anchored: number; records: number }>(
        `SELECT count(*) AS batches, count(signed_at) AS signed, count(anchor_tx) AS anchored, coalesce(sum(record_count), 0) AS records FROM notary_batches`),
      sigCount: p<[], { n: number }>('SELECT count(*) AS n FROM notary_signatures'),
      leases: p<[], { kid: string; batch_id: number; token: number; holder: string; expires_at: number }>(
        'SELECT k.kid, l.batch_id, l.token, l.holder, l.expires_at FROM notary_leases l JOIN notary_keys k ON k.id = l.key_id ORDER BY l.key_id'),
      batchSigCount: p<[number, number], { n: number }>('SELECT count(*) AS n FROM notary_signatures WHERE record_id BETWEEN ? AND ?'),
      signedBatches: p<[number, number], BatchRow>('SELECT * FROM notary_batches WHERE signed_at IS NOT NULL AND id > ? ORDER BY id LIMIT ?'),
      leaseLog: p<[], LeaseLogRow>('SELECT * FROM notary_lease_log ORDER BY key_id, token'),
      record: p<[number], { id: number; batch_id: number; record: string }>('SELECT id, batch_id, record FROM notary_records WHERE id = ?'),
    };
  }

  // ---- keys

  addKey(k: KeyMaterial): KeyRow {
    if (this.s.keyByKid.get(k.kid)) fail('key_exists', `key ${k.kid} is already in the pool`, { status: 409 });
    this.s.insertKey.run(k.kid, k.type, k.alg, k.publicPem, k.privateDer);
    return this.s.keyByKid.get(k.kid)!;
  }

  keys(): KeyRow[] {
    return this.s.keys.all();
  }

  key(kid: string): KeyRow {
    return this.s.keyByKid.get(kid) ?? fail('key_not_found', `no key ${kid.slice(0, 64)} in the pool`, { status: 404, hint: 'see `tally notary keys list`' });
  }

  /** No new leases; a lease already held finishes its batch; signatures stay verifiable. */
  retireKey(kid: string): KeyRow {
    const k = this.key(kid);
    if (k.retired_at !== null) fail('key_retired', `key ${kid} is already retired`, { status: 409 });
    this.s.retireKey.run(k.id);
    return this.key(kid);
  }

  // ---- intake

  /**
   * Store records as batches of at most batchRecordsMax, all in one transaction: durable on
   * return. A slice whose content (batchContentHash) is already a batch is not stored again:
   * its entry names the existing batch, with duplicate: true. So a client that resends a
   * batch (its answer lost) or a whole file (after a crash midway) gets no second signing.
   */
  submit(records: string[], source: string, batchSize: number = notaryLimits.batchRecordsMax): SubmittedBatch[] {
    if (records.length === 0) fail('no_records', 'no records given');
    const size = Math.max(1, Math.min(batchSize, notaryLimits.batchRecordsMax));
    return this.db.transaction(() => {
      const out: SubmittedBatch[] = [];
      for (let i = 0; i < records.length; i += size) {
        const slice = records.slice(i, i + size);
        const content = batchContentHash(slice);
        const known = this.s.batchByContent.get(content);
        if (known) {
          out.push({ batch: known.id, first: known.first_record, count: known.record_count, duplicate: true });
          continue;
        }
        const batch = Number(this.s.insertBatch.run(0, slice.length, source, content).lastInsertRowid);
        let first = -1;
        let prev = -1;
        for (const r of slice) {
          const id = Number(this.s.insertRecord.run(batch, r).lastInsertRowid);
          if (first < 0) first = id;
          // The batch's records must be one id range; inside one write transaction they are.
          if (prev >= 0 && id !== prev + 1) throw new Error('invariant violated: record ids of a batch are not contiguous');
          prev = id;
        }
        this.s.fixBatchFirst.run(first, batch);
        out.push({ batch, first, count: slice.length, duplicate: false });
      }
      return out;
    }).immediate();
  }

  // ---- leases

  /**
   * Reclaim expired leases, then lease a free active key for the oldest unsigned batch
   * nobody holds. One IMMEDIATE transaction: the primary key of notary_leases makes a
   * second holder of a key impossible, whatever two processes race.
   */
  acquire(holder: string, leaseMs: number): Lease | undefined {
    try {
      return this.db.transaction(() => {
        for (const e of this.s.expiredLeases.all()) {
          this.s.endLog.run(e.expires_at, 'expired', e.token);
          this.s.deleteLease.run(e.key_id, e.token);
        }
        const batch = this.s.freeBatch.get();
        if (!batch) return undefined;
        const key = this.s.freeKey.get();
        if (!key) return undefined;
        const token = Number(this.s.insertLog.run(key.id, batch.id, holder).lastInsertRowid);
        this.s.insertLease.run(key.id, batch.id, token, holder, leaseMs);
        return {
          token, keyId: key.id, kid: key.kid, alg: key.alg, privateDer: key.private_der,
          batchId: batch.id, firstRecord: batch.first_record, recordCount: batch.record_count, holder,
        };
      }).immediate();
    } catch (err) {
      return translate(err);
    }
  }

  /** Extend a live lease; false if it already expired or was taken over. */
  renew(lease: Lease, leaseMs: number): boolean {
    return this.s.renew.run(leaseMs, lease.keyId, lease.token).changes === 1;
  }

  unsigned(lease: Lease, limit: number): Array<{ id: number; record: string }> {
    return this.s.unsigned.all(lease.firstRecord, lease.firstRecord + lease.recordCount - 1, limit);
  }

  /**
   * Write signatures under the lease, renewing it in the same transaction. The renewal
   * is the guard (no live lease with this token: nothing is written), and the trigger on
   * notary_signatures checks it again per row; the primary key refuses a second signature.
   * With complete (the batch's last chunk), the same transaction also completes the batch
   * as complete() does and returns its root: one commit, so one fsync, less per batch.
   * complete.leafHashes: the whole batch's leaf hashes in record order, when the caller
   * signed all of it (the signing threads hash the leaves); else they are read back here.
   */
  writeSignatures(lease: Lease, leaseMs: number, rows: Array<{ id: number; sig: Buffer }>, complete?: { leafHashes?: Uint8Array[] }): string | undefined {
    try {
      return this.db.transaction(() => {
        if (this.s.renew.run(leaseMs, lease.keyId, lease.token).changes !== 1) throw leaseLost();
        let i = 0;
        for (; i + SIG_ROWS <= rows.length; i += SIG_ROWS) {
          const args: unknown[] = [];
          for (let j = i; j < i + SIG_ROWS; j++) args.push(rows[j]!.id, lease.keyId, lease.token, rows[j]!.sig);
          this.s.insertSigs.run(...args);
        }
        for (; i < rows.length; i++) this.s.insertSig.run(rows[i]!.id, lease.keyId, lease.token, rows[i]!.sig);
        return complete ? this.completeGuarded(lease, complete.leafHashes) : undefined;
      }).immediate();
    } catch (err) {
      return translate(err);
    }
  }

  /** All records signed: compute the batch root, mark it signed and end the lease, guarded like a write. */
  complete(lease: Lease): string {
    try {
      return this.db.transaction(() => this.completeGuarded(lease)).immediate();
    } catch (err) {
      return translate(err);
    }
  }

  private completeGuarded(lease: Lease, leafHashes?: Uint8Array[]): string {
    if (!this.s.live.get(lease.keyId, lease.token)) throw leaseLost();
    const last = lease.firstRecord + lease.recordCount - 1;
    const whole = leafHashes?.length === lease.recordCount && this.s.batchSigCount.get(lease.firstRecord, last)!.n === lease.recordCount;
    const root = whole ? merkleRoot(leafHashes) : this.batchRoot(lease.firstRecord, lease.recordCount);
    if (this.s.markSigned.run(root, lease.batchId).changes !== 1) fail('batch_signed', `batch ${lease.batchId} is already signed`, { status: 409 });
    this.s.endLogNow.run('completed', lease.token);
    this.s.deleteLease.run(lease.keyId, lease.token);
    return root;
  }

  /** Give a lease back early (shutdown); harmless if it already expired. */
  release(lease: Lease): void {
    this.db.transaction(() => {
      if (this.s.deleteLease.run(lease.keyId, lease.token).changes === 1) this.s.endLogNow.run('released', lease.token);
    }).immediate();
  }

  batchRoot(first: number, count: number): string {
    const rows = this.s.signedRange.all(first, first + count - 1);
    if (rows.length !== count) fail('batch_incomplete', 'the batch still has unsigned records', { status: 409 });
    return merkleRoot(rows.map((r) => recordLeafHash({ id: r.id, batch: r.batch_id, kid: r.kid, alg: r.alg, sig: toB64u(r.sig), record: r.record })));
  }

  signedRange(first: number, last: number): SignedRecordRow[] {
    return this.s.signedRange.all(first, last);
  }

  hasPendingBatches(): boolean {
    return this.s.pendingBatches.get()!.n > 0;
  }

  /** A read (no write lock): would acquire() find a batch and a key now? */
  hasLeasableWork(): boolean {
    return this.s.leasable.get()!.n === 1;
  }

  // ---- anchors and reads

  unanchored(limit: number): BatchRow[] {
    return this.s.unanchored.all(limit);
  }

  setAnchor(batch: number, txId: string, height: number): void {
    this.s.setAnchor.run(txId, height, batch);
  }

  batch(id: number): BatchRow | undefined {
    return this.s.batch.get(id);
  }

  /** A batch with its progress: how many of its records carry a signature. */
  batchStatus(id: number) {
    const b = this.batch(id) ?? fail('batch_not_found', `no batch ${id}`, { status: 404 });
    const signed = this.s.batchSigCount.get(b.first_record, b.first_record + b.record_count - 1)!.n;
    return batchView(b, signed);
  }

  status() {
    const c = this.s.counts.get()!;
    const keys = this.keys();
    return {
      records: c.records,
      signed: this.s.sigCount.get()!.n,
      batches: { total: c.batches, pending: c.batches - c.signed, signed: c.signed - c.anchored, anchored: c.anchored },
      keys: { active: keys.filter((k) => k.retired_at === null).length, retired: keys.filter((k) => k.retired_at !== null).length },
      leases: this.s.leases.all().map((l) => ({ kid: l.kid, batch: l.batch_id, token: l.token, holder: l.holder, expires_at: new Date(l.expires_at).toISOString() })),
    };
  }

  signedBatches(afterId: number, limit: number): BatchRow[] {
    return this.s.signedBatches.all(afterId, limit);
  }

  leaseLog(): LeaseLogRow[] {
    return this.s.leaseLog.all();
  }

  record(id: number) {
    return this.s.record.get(id);
  }
}

/** A batch as the API shows it, the same from either backend: its row and how many of its records are signed. */
export function batchView(b: BatchRow, signed: number) {
  return {
    batch: b.id,
    state: b.anchor_tx ? 'anchored' : b.signed_at ? 'signed' : 'pending',
    records: b.record_count,
    first_record: b.first_record,
    signed,
    created_at: new Date(b.created_at).toISOString(),
    signed_at: b.signed_at ? new Date(b.signed_at).toISOString() : null,
    root: b.root,
    anchor_tx: b.anchor_tx,
    anchor_height: b.anchor_height,
  };
}
