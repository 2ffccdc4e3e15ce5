// The signing engine: N slots, each with its own signing thread. A slot leases a key for a
// batch, loads the key into its thread once, then signs the batch's unsigned records in
// chunks, each chunk written in one guarded transaction. The same engine runs inside the
// node (worker threads) and in `tally notary worker` processes against the same database
// (the node's SQLite file, or PostgreSQL for workers on other machines: backend.ts).
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3-multiple-ciphers';
import { TallyError } from '../../core/errors.js';
import { notaryDefaults, notaryLimits } from './limits.js';
import { signedMessage } from './records.js';
import type { SignerReply, SignerRequest } from './signer-thread.js';
import { NotaryStore, type Lease } from './store.js';
import { SqliteNotaryBackend, type NotaryWorkStore } from './backend.js';

export interface EngineOptions {
  concurrency: number;
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
  private pending: { resolve: (r: SignerReply) => void; reject: (e: Error) => void } | undefined;

  constructor() {
    this.worker = new Worker(new URL('./signer-thread.js', import.meta.url));
    this.worker.on('message', (r: SignerReply) => {
      const p = this.pending;
      this.pending = undefined;
      p?.resolve(r);
    });
    this.worker.on('error', (err) => {
      const p = this.pending;
      this.pending = undefined;
      p?.reject(err);
    });
    this.worker.on('exit', () => {
      this.dead = true;
      const p = this.pending;
      this.pending = undefined;
      p?.reject(new Error('signing thread exited'));
    });
  }

  dead = false;

  async call(req: SignerRequest, transfer: ArrayBuffer[] = []): Promise<Uint8Array[] | undefined> {
    if (this.dead) throw new Error('signing thread exited');
    if (this.pending) throw new Error('invariant violated: one request at a time per signing thread');
    const reply = await new Promise<SignerReply>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(req, transfer);
    });
    if (!reply.ok) throw new Error(`signing thread: ${reply.error}`);
    return reply.sigs;
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
    for (let i = 0; i < this.o.concurrency; i++) {
      const thread = new SignerThread();
      this.threads.push(thread);
      this.slots.push(this.runSlot(thread, `${this.o.holder}/${i}`, i));
    }
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

  private async runSlot(first: SignerThread, holder: string, index: number): Promise<void> {
    let thread = first;
    while (!this.stopping) {
      if (thread.dead) {
        // A signing thread that died (out of memory, a crash in the binding) is replaced.
        thread = new SignerThread();
        this.threads[index] = thread;
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
      await this.work(thread, lease);
    }
  }

  private async work(thread: SignerThread, lease: Lease): Promise<void> {
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
      await thread.call({ kind: 'load', alg: lease.alg, der: lease.privateDer });
      while (!this.stopping && !lost) {
        const rows = await this.store.unsigned(lease, lease.alg === 'ed25519' ? this.chunk : Math.min(this.chunk, notaryLimits.rsaSignChunk));
        if (rows.length === 0) {
          await this.store.complete(lease);
          finished = true;
          this.batches++;
          break;
        }
        const messages = rows.map((r) => signedMessage(lease.batchId, r.id, r.record));
        const sigs = (await thread.call({ kind: 'sign', messages }))!;
        if (lost) break;
        await this.store.writeSignatures(lease, this.leaseMs, rows.map((r, i) => ({ id: r.id, sig: Buffer.from(sigs[i]!) })));
        this.signed += rows.length;
      }
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
      await thread.call({ kind: 'unload' }).catch(() => undefined);
    }
  }
}
