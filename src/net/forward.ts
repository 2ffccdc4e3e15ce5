// A replica's submit: the transactions go to the writer (the `submit` protocol; a peer
// that answers not_writer is skipped), and each submitter is answered with the receipt
// from the replica's own store once the block holding the transaction has arrived here and
// been verified. So an acknowledgement from a replica means: committed by the writer and
// re-executed here. Bounded: forwards in flight and submitters waiting for a block.
import { errorBody, TallyError } from '../core/errors.js';
import type { SubmitResult } from '../chain/app-module.js';
import type { TallyNode } from '../chain/node.js';
import { decodeMessage, encodeMessage, netLimits, protocolIds } from './protocol.js';
import type { Transport } from './transport.js';

const FORWARDS_IN_FLIGHT_MAX = 64;
const WAITERS_MAX = 10_000;

interface Waiter {
  height: number;
  done: () => void;
}

export class Forwarder {
  private inFlight = 0;
  private waiters: Waiter[] = [];
  private writer: string | undefined;
  private closed = false;

  constructor(
    private readonly node: TallyNode,
    private readonly transport: Transport,
    private readonly peers: () => string[],
    private readonly receiptWaitMs: number,
    private readonly requestTimeoutMs: number,
  ) {}

  async submit(raws: unknown[]): Promise<SubmitResult[]> {
    if (this.inFlight >= FORWARDS_IN_FLIGHT_MAX) throw new TallyError('replica_busy', `this replica forwards ${FORWARDS_IN_FLIGHT_MAX} batches at once, its most; retry`, { status: 503 });
    this.inFlight++;
    try {
      const results: SubmitResult[] = [];
      for (let i = 0; i < raws.length; i += netLimits.submitTxCountMax) results.push(...(await this.forward(raws.slice(i, i + netLimits.submitTxCountMax))));
      return await Promise.all(results.map((r) => this.local(r)));
    } finally {
      this.inFlight--;
    }
  }

  private async forward(txs: unknown[]): Promise<SubmitResult[]> {
    const data = encodeMessage({ txs });
    if (data.length > netLimits.submitRequestBytesMax) throw new TallyError('oversized', `a forwarded batch is at most ${netLimits.submitRequestBytesMax} bytes`, { status: 413 });
    const order = this.peers();
    if (this.writer && order.includes(this.writer)) order.unshift(this.writer);
    for (const peer of new Set(order)) {
      let results: SubmitResult[];
      try {
        const bytes = await this.transport.request(peer, protocolIds(this.node.params.chain, this.node.params.genesisHash).submit, data, { timeoutMs: this.requestTimeoutMs, maxResponseBytes: netLimits.submitResponseBytesMax });
        results = decodeMessage('submitResponse', bytes).results;
      } catch {
        continue;
      }
      if (results.length !== txs.length) continue;
      if (results.every((r) => 'error' in r && r.error.code === 'not_writer')) continue;
      this.writer = peer;
      return results;
    }
    throw new TallyError('no_writer', 'this replica cannot reach the writer now; retry later', { status: 503 });
  }

  /** The writer's receipt, answered from our own store once its block is here. */
  private async local(r: SubmitResult): Promise<SubmitResult> {
    if ('error' in r) return r;
    try {
      await this.waitFor(r.height);
    } catch (err) {
      return { error: errorBody(err), status: 504 };
    }
    const mine = this.node.tx(r.id)?.receipt;
    if (!mine) return { error: { code: 'receipt_mismatch', message: `the writer says ${r.id} is in block ${r.height}, which this replica verified without it` }, status: 502 };
    return mine;
  }

  private waitFor(height: number): Promise<void> {
    if (this.node.tip.height >= height) return Promise.resolve();
    if (this.closed) return Promise.reject(new TallyError('node_stopping', 'the replica is stopping'));
    if (this.waiters.length >= WAITERS_MAX) return Promise.reject(new TallyError('replica_busy', 'too many submitters wait for blocks here; retry', { status: 503 }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new TallyError('receipt_timeout', `the writer committed the transaction in block ${height}, which has not reached this replica within ${this.receiptWaitMs} ms; look it up later`, { status: 504 }));
      }, this.receiptWaitMs);
      const waiter: Waiter = { height, done: () => { clearTimeout(timer); resolve(); } };
      this.waiters.push(waiter);
    });
  }

  /** After each imported block: answer the submitters whose block is now here. */
  blockArrived(): void {
    const tip = this.node.tip.height;
    if (!this.waiters.some((w) => w.height <= tip)) return;
    const ready = this.waiters.filter((w) => w.height <= tip);
    this.waiters = this.waiters.filter((w) => w.height > tip);
    for (const w of ready) w.done();
  }

  close(): void {
    this.closed = true;
  }
}
