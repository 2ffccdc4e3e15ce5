// The signing engine: N slots over T signing threads (by default one each, at most one per
// core). A slot leases a key for a batch, loads the key into its thread once, then signs the
// batch's unsigned records in chunks, each chunk written in one guarded transaction. Two
// slots sharing a thread keep it busy while one of them is between leases (completing,
// leasing anew). The same engine runs inside the node (worker threads) and in `tally notary
// worker` processes against the same database (the node's SQLite file, or PostgreSQL for
// workers on other machines: backend.ts).
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3-multiple-ciphers';
import { TallyError } from '../../core/errors.js';
import { notaryDefaults, notaryLimits } from './limits.js';
import { LEAF_HASH_BYTES } from './records.js';
import type { SignerReply, SignerRequest } from './signer-thread.js';
import { NotaryStore, type Lease } from './store.js';
import { SqliteNotaryBackend, type NotaryWorkStore } from './backend.js';

export interface EngineOptions {
  /** slots: leases held at once */
  concurrency: number;
  /** signing threads the slots share, slot i on thread i mod threads (default: one per slot, at most one per core) */
  threads?: number;
  /** Identifies this process in leases and the lease log, e.g. "worker:1234". */
  holder: string;
  leaseMs?: number;
  chunk?: number;
  idlePollMs?: number;
  /** Stop once no batch is left unsigned (tests, bench, one-shot runs). */
  untilIdle?: boolean;
  log?: (line: string) => void;
}

class SignerThread {
  private readonly worker: Worker;
  // Replies come back in the order of the requests: the thread answers one message at a
  // time. Several requests may be outstanding, so the thread always has the next chunk.
  private readonly pending: Array<{ resolve: (r: SignerReply) => void; reject: (e: Error) => void }> = [];

  constructor() {
    this.worker = new Worker(new URL('./signer-thread.js', import.meta.url));
    this.worker.on('message', (r: SignerReply) => this.pending.shift()?.resolve(r));
    this.worker.on('error', (err) => this.failAll(err));
    this.worker.on('exit', () => {
      this.dead = true;
      this.failAll(new Error('signing thread exited'));
    });
  }

  dead = false;

  private failAll(err: Error): void {
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  async call(req: SignerRequest): Promise<SignerReply & { ok: true }> {
    if (this.dead) throw new Error('signing thread exited');
    const reply = await new Promise<SignerReply>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.worker.postMessage(req);
    });
    if (!reply.ok) throw new Error(`signing thread: ${reply.error}`);
    return reply;
  }

  /** The signatures of rows and their leaf hashes, in their order, as views into the transferred buffers. */
  async sign(slot: number, batch: number, rows: Array<{ id: number; record: string }>): Promise<{ sigs: Buffer[]; leaves: Uint8Array[] }> {
    const { sigs, sigBytes, leaves } = await this.call({ kind: 'sign', slot, batch, ids: Float64Array.from(rows, (r) => r.id), records: rows.map((r) => r.record).join('\n') });
    if (!sigs || !sigBytes || sigs.byteLength !== sigBytes * rows.length || leaves?.byteLength !== LEAF_HASH_BYTES * rows.length) {
      throw new Error('invariant violated: the signing thread answered the wrong number of signatures');
    }
    return {
      sigs: rows.map((_, i) => Buffer.from(sigs, i * sigBytes, sigBytes)),
      leaves: rows.map((_, i) => new Uint8Array(leaves, i * LEAF_HASH_BYTES, LEAF_HASH_BYTES)),
    };
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class NotaryEngine {
  readonly store: NotaryWorkStore;
  private stopping = false;
  private readonly threads: SignerThread[] = [];
  private readonly slots: Array<Promise<void>> = [];
  private readonly leaseMs: number;
  private readonly chunk: number;
  private readonly log: (line: string) => void;
  signed = 0;
  batches = 0;
  leasesLost = 0;

  /** A database handle means the node's SQLite file; otherwise any NotaryWorkStore (PostgreSQL). */
  constructor(source: Database.Database | NotaryWorkStore, private readonly o: EngineOptions) {
    this.store = source instanceof Database ? new SqliteNotaryBackend(new NotaryStore(source)) : source;
    this.leaseMs = o.leaseMs ?? notaryDefaults.leaseMs;
    this.chunk = Math.min(o.chunk ?? notaryLimits.signChunkMax, notaryLimits.signChunkMax);
    this.log = o.log ?? (() => {});
  }

  start(): this {
    // More signing threads than cores would only take turns on them.
    const threads = Math.max(1, Math.min(this.o.threads ?? Math.min(this.o.concurrency, os.availableParallelism()), this.o.concurrency));
    for (let t = 0; t < threads; t++) this.threads.push(new SignerThread());
    for (let i = 0; i < this.o.concurrency; i++) this.slots.push(this.runSlot(`${this.o.holder}/${i}`, i, i % threads));
    return this;
  }

  /** Resolves when every slot has stopped (after stop(), or when idle with untilIdle). */
  async done(): Promise<void> {
    await Promise.all(this.slots);
  }

  /** Finish the chunk in hand, give leases back, end the threads. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.done();
    await Promise.all(this.threads.map((t) => t.terminate()));
  }

  private async runSlot(holder: string, slot: number, threadIndex: number): Promise<void> {
    while (!this.stopping) {
      let thread = this.threads[threadIndex]!;
      if (thread.dead) {
        // A signing thread that died (out of memory, a crash in the binding) is replaced,
        // once: the slots sharing it find the new one here.
        thread = new SignerThread();
        this.threads[threadIndex] = thread;
      }
      let lease: Lease | undefined;
      try {
        // A cheap read first: an idle slot (nothing to lease, or every pending batch or
        // every key already held) must not take the write lock five times a second.
        if (await this.store.hasLeasableWork()) lease = await this.store.acquire(holder, this.leaseMs);
      } catch (err) {
        this.log(`notary: ${holder} could not lease: ${(err as Error).message}`);
      }
      if (!lease) {
        if (this.o.untilIdle && !(await this.store.hasPendingBatches().catch(() => true))) break;
        await sleep(this.o.idlePollMs ?? notaryDefaults.idlePollMs);
        continue;
      }
      await this.work(thread, slot, lease);
    }
  }

  private async work(thread: SignerThread, slot: number, lease: Lease): Promise<void> {
    let lost = false;
    let finished = false;
    // Renew while a slow chunk (RSA-3072) is being signed, so the lease outlives the work.
    let renewing = false;
    const renewer = setInterval(() => {
      // One renewal at a time (a store that retries through an outage must not pile them up);
      // busy or unreachable: the next chunk write renews, or the lease lapses and the write is refused.
      if (renewing) return;
      renewing = true;
      this.store.renew(lease, this.leaseMs).then((ok) => { if (!ok) lost = true; }, () => undefined).finally(() => { renewing = false; });
    }, Math.max(50, Math.floor(this.leaseMs / 3)));
    try {
      await thread.call({ kind: 'load', slot, kid: lease.kid, alg: lease.alg, der: lease.privateDer });
      // The lease holds the batch alone, so its unsigned records are read once, not per chunk.
      const rows = await this.store.unsigned(lease, lease.recordCount);
      const size = Math.min(this.chunk, lease.alg === 'ed25519' ? notaryLimits.ed25519SignChunk : notaryLimits.rsaSignChunk);
      const chunks: Array<Array<{ id: number; record: string }>> = [];
      for (let i = 0; i < rows.length; i += size) chunks.push(rows.slice(i, i + size));
      // Two chunks at the thread at a time: it signs the next one while this one is written
      // (and fsynced) here, so a signing core never waits for the database.
      const inFlight: Array<{ rows: Array<{ id: number; record: string }>; sigs: ReturnType<SignerThread['sign']> }> = [];
      let sent = 0;
      const sendNext = () => {
        if (sent >= chunks.length) return;
        const c = chunks[sent++]!;
        const sigs = thread.sign(slot, lease.batchId, c);
        sigs.catch(() => undefined); // a chunk given up on (stop, lost lease) must not be an unhandled rejection
        inFlight.push({ rows: c, sigs });
      };
      sendNext();
      sendNext();
      // Leaf hashes of the whole batch, when this lease signs all of it: the batch root is
      // then computed from them rather than read back and hashed again on this thread.
      const leaves: Uint8Array[] | undefined = rows.length === lease.recordCount ? [] : undefined;
      let written = 0;
      while (inFlight.length > 0 && !this.stopping && !lost) {
        const chunk = inFlight.shift()!;
        const { sigs, leaves: chunkLeaves } = await chunk.sigs;
        if (lost) break;
        leaves?.push(...chunkLeaves);
        // The last chunk completes the batch in its own transaction.
        const last = written + 1 === chunks.length;
        await this.store.writeSignatures(lease, this.leaseMs, chunk.rows.map((r, i) => ({ id: r.id, sig: sigs[i]! })), last ? { leafHashes: leaves } : undefined);
        this.signed += chunk.rows.length;
        written++;
        finished = last;
        sendNext();
      }
      // Nothing left to sign (a holder before us signed it all, then lost the lease): complete it.
      if (chunks.length === 0 && !this.stopping && !lost) {
        await this.store.complete(lease);
        finished = true;
      }
      if (finished) this.batches++;
    } catch (err) {
      if (err instanceof TallyError && err.code === 'lease_lost') {
        lost = true;
      } else {
        this.log(`notary: ${lease.holder} batch ${lease.batchId}: ${(err as Error).message}`);
        await sleep(100);
      }
    } finally {
      clearInterval(renewer);
      if (lost) {
        this.leasesLost++;
        this.log(`notary: ${lease.holder} lost its lease on key ${lease.kid} (batch ${lease.batchId}); its unwritten signatures are dropped`);
      } else if (!finished) {
        try {
          await this.store.release(lease);
        } catch {
          // it expires on its own
        }
      }
      await thread.call({ kind: 'unload', slot }).catch(() => undefined);
    }
  }
}
