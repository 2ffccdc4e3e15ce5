// A pool of worker threads that check signatures off the main thread. A batch is split
// into one chunk per worker so every core verifies at once. A worker that dies is
// replaced, and the chunks it held are failed rather than left waiting forever.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { rememberStrongKey } from '../core/keys.js';
import type { Envelope } from './envelope.js';
import type { VerifyVerdict } from './verifier-worker.js';

interface PendingChunk {
  worker: number;
  resolve: (verdicts: VerifyVerdict[]) => void;
  reject: (err: Error) => void;
}

/** The most signature threads a node may be given (`--verifier-threads`). */
export const VERIFIER_THREADS_MAX = 64;

/**
 * Signature threads by default. A replica's main thread executes and stores block N while
 * the pool checks block N + 1: with one thread per core the pool takes cores from the main
 * thread, which is the serial part of a sync (on 2 cores it waited for a core about 23% of
 * the time, and 16% with one thread; README, "Replica tests and figures", session 35). So
 * a replica leaves one core to its main thread. A writer keeps one per core: its pool
 * checks what clients submit, as fast as they send it.
 */
export function defaultVerifierThreads(replica: boolean, cores = os.availableParallelism()): number {
  return replica ? Math.max(1, cores - 1) : Math.max(1, cores);
}

export class VerifierPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, PendingChunk>();
  private seq = 0;
  private next = 0;
  private closed = false;

  constructor(size = os.availableParallelism()) {
    for (let i = 0; i < Math.max(1, size); i++) this.workers.push(this.spawn(i));
  }

  private spawn(slot: number): Worker {
    const w = new Worker(new URL('./verifier-worker.js', import.meta.url));
    w.on('message', (msg: { seq: number; verdicts: VerifyVerdict[] }) => {
      const p = this.pending.get(msg.seq);
      if (!p) return;
      this.pending.delete(msg.seq);
      p.resolve(msg.verdicts);
    });
    const died = (err: Error) => {
      if (this.workers[slot] !== w) return; // already replaced
      for (const [seq, p] of this.pending) {
        if (p.worker !== slot) continue;
        this.pending.delete(seq);
        p.reject(err);
      }
      if (!this.closed) {
        console.error(`tally: signature worker ${slot} stopped (${err.message}); starting a new one`);
        this.workers[slot] = this.spawn(slot);
      }
    };
    w.on('error', died);
    w.on('exit', (code) => died(new Error(`exit code ${code}`)));
    return w;
  }

  get size(): number {
    return this.workers.length;
  }

  /**
   * Verdicts in order. `mayOpenAccount(env)`: the envelopes whose key the executor may
   * check for strength (an account-opening type); the workers check it, and the strong
   * ones are remembered here, on the main thread, where the executor asks.
   */
  async verify(envelopes: Envelope[], mayOpenAccount?: (env: Envelope) => boolean): Promise<VerifyVerdict[]> {
    if (envelopes.length === 0) return [];
    const chunkCount = Math.min(this.workers.length, Math.ceil(envelopes.length / 16));
    const chunkSize = Math.ceil(envelopes.length / chunkCount);
    const parts: Promise<VerifyVerdict[]>[] = [];
    for (let i = 0; i < envelopes.length; i += chunkSize) {
      const chunk = envelopes.slice(i, i + chunkSize);
      const keys = mayOpenAccount ? chunk.flatMap((env, k) => (mayOpenAccount(env) ? [k] : [])) : [];
      parts.push(this.send(chunk, keys));
    }
    const verdicts = (await Promise.all(parts)).flat();
    verdicts.forEach((v, i) => {
      if (v.strongKey) rememberStrongKey(envelopes[i]!.pub);
    });
    return verdicts;
  }

  private send(envelopes: Envelope[], keys: number[]): Promise<VerifyVerdict[]> {
    if (this.closed) return Promise.reject(new Error('verifier pool closed'));
    const seq = ++this.seq;
    const slot = this.next++ % this.workers.length;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { worker: slot, resolve, reject });
      this.workers[slot]!.postMessage(keys.length > 0 ? { seq, envelopes, keys } : { seq, envelopes });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error('verifier pool closed'));
    this.pending.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** For tests: stop one worker as if it had crashed. */
  async crashWorkerForTest(slot: number): Promise<void> {
    await this.workers[slot]!.terminate();
  }
}
