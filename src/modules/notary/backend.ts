// Where the notary's tables live: the node's SQLite file (NotaryStore, synchronous, one
// machine) or PostgreSQL (PgNotaryStore, shared by worker processes on many machines).
// The engine, the worker command and the anchorer see only this interface, so the two
// backends give the same guarantees through the same calls: one holder per key (a lease),
// fenced writes (a lease's token is checked on every write), one signature per record.
import type { KeyMaterial } from './keys.js';
import type { BatchRow, KeyRow, Lease, LeaseLogRow, NotaryStore, SignedRecordRow, SubmittedBatch } from './store.js';

export type NotaryStatus = ReturnType<NotaryStore['status']>;
export type BatchStatus = ReturnType<NotaryStore['batchStatus']>;

/** What a signing engine needs: leases, the unsigned records of a lease, guarded writes. */
export interface NotaryWorkStore {
  hasLeasableWork(): Promise<boolean>;
  hasPendingBatches(): Promise<boolean>;
  acquire(holder: string, leaseMs: number): Promise<Lease | undefined>;
  renew(lease: Lease, leaseMs: number): Promise<boolean>;
  unsigned(lease: Lease, limit: number): Promise<Array<{ id: number; record: string }>>;
  /**
   * Write a chunk's signatures under the lease. With `complete`, the chunk is the batch's
   * last: the batch is completed too (SQLite: in the same transaction, its root from the
   * signing threads' leaf hashes when given).
   */
  writeSignatures(lease: Lease, leaseMs: number, rows: Array<{ id: number; sig: Buffer }>, complete?: { leafHashes?: Uint8Array[] }): Promise<void>;
  complete(lease: Lease): Promise<string>;
  release(lease: Lease): Promise<void>;
}

/** The whole store: the work calls plus keys, intake, anchoring and reads. */
export interface NotaryBackend extends NotaryWorkStore {
  readonly kind: 'sqlite' | 'postgres';
  addKey(k: KeyMaterial): Promise<KeyRow>;
  keys(): Promise<KeyRow[]>;
  retireKey(kid: string): Promise<KeyRow>;
  submit(records: string[], source: string, batchSize?: number): Promise<SubmittedBatch[]>;
  status(): Promise<NotaryStatus>;
  batchStatus(id: number): Promise<BatchStatus>;
  unanchored(limit: number): Promise<BatchRow[]>;
  setAnchor(batch: number, txId: string, height: number): Promise<void>;
  leaseLog(): Promise<LeaseLogRow[]>;
  signedRange(first: number, last: number): Promise<SignedRecordRow[]>;
  /** Signed batches with id > afterId, in id order (export). */
  signedBatches(afterId: number, limit: number): Promise<BatchRow[]>;
  close(): Promise<void>;
}

/** The SQLite store behind the async interface: every call is the synchronous one, unchanged. */
export class SqliteNotaryBackend implements NotaryBackend {
  readonly kind = 'sqlite';

  constructor(readonly store: NotaryStore, private readonly onClose: () => void = () => {}) {}

  async hasLeasableWork() { return this.store.hasLeasableWork(); }
  async hasPendingBatches() { return this.store.hasPendingBatches(); }
  async acquire(holder: string, leaseMs: number) { return this.store.acquire(holder, leaseMs); }
  async renew(lease: Lease, leaseMs: number) { return this.store.renew(lease, leaseMs); }
  async unsigned(lease: Lease, limit: number) { return this.store.unsigned(lease, limit); }
  async writeSignatures(lease: Lease, leaseMs: number, rows: Array<{ id: number; sig: Buffer }>, complete?: { leafHashes?: Uint8Array[] }) { this.store.writeSignatures(lease, leaseMs, rows, complete); }
  async complete(lease: Lease) { return this.store.complete(lease); }
  async release(lease: Lease) { this.store.release(lease); }
  async addKey(k: KeyMaterial) { return this.store.addKey(k); }
  async keys() { return this.store.keys(); }
  async retireKey(kid: string) { return this.store.retireKey(kid); }
  async submit(records: string[], source: string, batchSize?: number) { return this.store.submit(records, source, batchSize); }
  async status() { return this.store.status(); }
  async batchStatus(id: number) { return this.store.batchStatus(id); }
  async unanchored(limit: number) { return this.store.unanchored(limit); }
  async setAnchor(batch: number, txId: string, height: number) { this.store.setAnchor(batch, txId, height); }
  async leaseLog() { return this.store.leaseLog(); }
  async signedRange(first: number, last: number) { return this.store.signedRange(first, last); }
  async signedBatches(afterId: number, limit: number) { return this.store.signedBatches(afterId, limit); }
  async close() { this.onClose(); }
}
