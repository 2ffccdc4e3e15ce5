// The sequencer turns the mempool into blocks. One block is one storage transaction:
// block + transactions + receipts + state changes commit together, and only then are the
// submitters acknowledged (group commit). It runs on the main thread and never yields
// in the middle of a block, so admission and sequencing never interleave.
import { TallyError } from '../core/errors.js';
import { applyTx } from './apply.js';
import { fromHex } from '../core/encoding.js';
import { leafHash, merkleLevels, rootOfLevels } from '../core/merkle.js';
import type { Signer } from '../core/keys.js';
import { txSeq, type SqliteStore, type TxRow } from '../store/sqlite.js';
import { signHeader, type BlockHeader, type SignedBlock } from './blocks.js';
import { receiptLeafBytes, type Receipt } from './envelope.js';
import type { Mempool, PendingTx } from './mempool.js';
import type { ChainParams, IndexedTx, TxType } from './module.js';
import { authKey, LayeredState, nextStateRoot, type AuthRecord } from './state.js';
import type { StateCache } from './state-cache.js';

export interface SequencerOptions {
  blockTxCountMax: number;
  blockDelayMsMax: number;
  /** Module indexes, written in the block's own storage transaction. */
  indexBlock?: (block: { height: number; timeMs: number }, txs: IndexedTx[]) => void;
}

export interface Tip {
  height: number;
  hash: string;
  time: number;
  stateRoot: string;
}

export interface BlockCommitted {
  block: SignedBlock;
  receipts: Receipt[];
  /** sender account id of each receipt's transaction */
  senders: string[];
  commitMs: number;
  /** HOOK(fix/heavy-reads): the tree's levels (merkleLevels), for the node's block cache. */
  levels?: Uint8Array[];
}

export class Sequencer {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;

  constructor(
    private readonly store: SqliteStore,
    private readonly cache: StateCache,
    private readonly mempool: Mempool,
    private readonly txTypes: Map<string, TxType>,
    private readonly params: ChainParams,
    private readonly signer: Signer,
    public tip: Tip,
    private readonly options: SequencerOptions,
    private readonly onBlock: (event: BlockCommitted) => void,
  ) {}

  /** Called after admission: make a block now if one is full, else within blockDelayMsMax. */
  poke(): void {
    if (this.stopped || this.running) return;
    if (this.mempool.size >= this.options.blockTxCountMax) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      setImmediate(() => this.runBlock());
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.runBlock();
      }, this.options.blockDelayMsMax);
    }
  }

  /** Sequence everything still in the mempool now (graceful shutdown). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (!this.stopped && this.mempool.size > 0) this.runBlock();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private runBlock(): void {
    if (this.stopped || this.running) return;
    this.running = true;
    try {
      const taken = this.mempool.take(this.options.blockTxCountMax);
      if (taken.length > 0) this.makeBlock(taken);
    } finally {
      this.running = false;
    }
    if (this.mempool.size > 0) this.poke();
  }

  private makeBlock(taken: PendingTx[]): void {
    const started = performance.now();
    const height = this.tip.height + 1;
    const timeMs = Math.max(Date.now(), this.tip.time);
    const state = new LayeredState((k) => this.cache.get(k));
    const included: PendingTx[] = [];
    const receipts: Receipt[] = [];
    const rows: TxRow[] = [];
    const refused: Array<[PendingTx, TallyError]> = [];
    const dropped = new Set<string>();

    for (const p of taken) {
      const tx = p.env.tx;
      if (dropped.has(tx.from)) {
        refused.push([p, new TallyError('nonce_gap', 'an earlier transaction of this account expired before it was sequenced', { status: 409 })]);
        continue;
      }
      if (tx.expires * 1000 < timeMs) {
        dropped.add(tx.from);
        refused.push([p, new TallyError('expired', 'the transaction expired before it was sequenced', { status: 409 })]);
        continue;
      }
      const auth = state.get<AuthRecord>(authKey(tx.from));
      const nonce = auth?.nonce ?? 0;
      if (nonce !== tx.nonce) {
        // Admission keeps nonces contiguous, so this is only reachable after a drop.
        dropped.add(tx.from);
        refused.push([p, new TallyError('nonce_gap', `expected nonce ${nonce}`, { status: 409 })]);
        continue;
      }
      const index = included.length;
      const receipt = applyTx({
        state, type: this.txTypes.get(tx.type)!, params: this.params, height, index, timeMs, id: p.id, env: p.env, body: p.body, auth,
      });
      included.push(p);
      receipts.push(receipt);
      rows.push({
        id: fromHex(p.id, 'tx id', 32),
        height,
        idx: index,
        sender: tx.from,
        type: tx.type,
        env: p.canonical,
        status: receipt.status,
        code: receipt.code ?? null,
        events: JSON.stringify(receipt.events),
      });
    }

    for (const [p, err] of refused) {
      this.mempool.settle(p);
      p.reject(err);
    }
    for (const from of dropped) for (const p of this.mempool.dropAccount(from)) p.reject(new TallyError('nonce_gap', 'an earlier transaction of this account expired before it was sequenced', { status: 409 }));
    if (included.length === 0) return;

    // HOOK(fix/heavy-reads): keep every level (same hashing as merkleRoot) for the block cache.
    const levels = merkleLevels(receipts.map((r) => leafHash(receiptLeafBytes(r))));
    const txRoot = rootOfLevels(levels);
    const stateRoot = nextStateRoot(this.tip.stateRoot, state.blockWrites);
    const header: BlockHeader = {
      chain: this.params.chain,
      height,
      prevHash: this.tip.hash,
      time: timeMs,
      txRoot,
      stateRoot,
      txCount: included.length,
      proposer: this.signer.pub,
    };
    const block = signHeader(header, this.signer);
    try {
      this.store.commitBlock({
        block: { height, hash: block.hash, header: JSON.stringify(header), sig: block.sig },
        txs: rows,
        writes: state.blockWrites,
        also: this.options.indexBlock && (() => this.options.indexBlock!({ height, timeMs },
          included.map((p, i) => ({ seq: txSeq(height, i), id: p.id, tx: p.env.tx, receipt: receipts[i]! })))),
      });
    } catch (err) {
      // Nothing was written (one storage transaction). Refuse the whole block; the
      // accounts' later pending nonces would now gap, so they are refused too.
      console.error('tally: block commit failed', err);
      const failure = new TallyError('storage_failed', 'the node could not store the block; resubmit', { status: 503 });
      for (const p of included) {
        this.mempool.settle(p);
        p.reject(failure);
      }
      for (const p of included) for (const q of this.mempool.dropAccount(p.env.tx.from)) q.reject(failure);
      return;
    }
    // Committed: now (and only now) the state cache, the tip and the submitters move on.
    this.cache.apply(state.blockWrites);
    this.tip = { height, hash: block.hash, time: timeMs, stateRoot };
    included.forEach((p, i) => {
      this.mempool.settle(p);
      p.resolve(receipts[i]!);
    });
    this.onBlock({ block, receipts, senders: included.map((p) => p.env.tx.from), commitMs: performance.now() - started, levels });
  }
}
