// A pool of worker threads that check signatures off the main thread. A batch is split
// into one chunk per worker so every core verifies at once.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Envelope } from './envelope.js';
import type { VerifyVerdict } from './verifier-worker.js';

interface PendingChunk {
  resolve: (verdicts: VerifyVerdict[]) => void;
  reject: (err: Error) => void;
}

export class VerifierPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, PendingChunk>();
  private seq = 0;
  private next = 0;
  private closed = false;

  constructor(size = os.availableParallelism()) {
    for (let i = 0; i < Math.max(1, size); i++) {
      const w = new Worker(new URL('./verifier-worker.js', import.meta.url));
      w.on('message', (msg: { seq: number; verdicts: VerifyVerdict[] }) => {
        const p = this.pending.get(msg.seq);
        if (!p) return;
        this.pending.delete(msg.seq);
        p.resolve(msg.verdicts);
      });
      w.on('error', (err) => this.failAll(err));
      this.workers.push(w);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  async verify(envelopes: Envelope[]): Promise<VerifyVerdict[]> {
    if (envelopes.length === 0) return [];
    const chunkCount = Math.min(this.workers.length, Math.ceil(envelopes.length / 16));
    const chunkSize = Math.ceil(envelopes.length / chunkCount);
    const parts: Promise<VerifyVerdict[]>[] = [];
    for (let i = 0; i < envelopes.length; i += chunkSize) parts.push(this.send(envelopes.slice(i, i + chunkSize)));
    return (await Promise.all(parts)).flat();
  }

  private send(envelopes: Envelope[]): Promise<VerifyVerdict[]> {
    if (this.closed) return Promise.reject(new Error('verifier pool closed'));
    const seq = ++this.seq;
    const worker = this.workers[this.next++ % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      worker.postMessage({ seq, envelopes });
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new Error('verifier pool closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
