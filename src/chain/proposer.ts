// The proposer turns the mempool into blocks: it picks transactions and a block time,
// calls the one executor, signs the header, and commits block + transactions + receipts +
// state + module indexes in one storage transaction; only then are submitters
// acknowledged (group commit), each with exactly the outcome that was committed. It runs
// on the main thread and never yields inside a block, so admission and proposing never
// interleave.
import { assert, TallyError } from '../core/errors.js';
import { fromHex } from '../core/encoding.js';
import { lastCommitHashAfter, singleValidator, validatorsHash } from '../core/header.js';
import type { Signer } from '../core/keys.js';
import { txSeq, type SqliteStore, type TxRow } from '../store/sqlite.js';
import type { IndexedBlock, IndexedTx } from './app-module.js';
import { signHeader, type BlockCommitted, type BlockHeader, type SignedBlock } from './blocks.js';

export type { BlockCommitted } from './blocks.js';
import { executeBlock, type BlockResult } from './execute.js';
import type { Kernel } from './kernel.js';
import type { Mempool, PendingTx } from './mempool.js';
import type { StateCache } from './state-cache.js';
import type { StateReader } from './state.js';
import type { StoredTree } from './state-tree/stored.js';
import type { BlockHooks } from './health.js';

export interface ProposerOptions {
  blockTxCountMax: number;
  blockDelayMsMax: number;
  /** The wall clock, unix ms (tests inject one). Only the proposer reads it, to pick a block time. */
  clock: () => number;
  /** Module indexes, written in the block's own storage transaction. */
  indexBlock?: (block: IndexedBlock, txs: IndexedTx[]) => void;
  /** the block's storage transaction rolled back: what indexBlock kept for after the commit is void */
  rolledBack?: () => void;
  /** The signed-height record and node health, around each block (see health.ts). */
  hooks?: BlockHooks;
  /** committed state, parsed: the modules' limit on a block's transactions reads it */
  state?: StateReader;
}

export interface Tip {
  height: number;
  hash: string;
  time: number;
  stateRoot: string;
  /** the tip's header and signature: the next header's lastCommitHash is the hash of its commit */
  block: SignedBlock;
}

/** The tip as a stored block row holds it (at open, and after a rolled-back replica run). */
export function tipOfRow(row: { hash: string; header: string; sig: string }): Tip {
  const header = JSON.parse(row.header) as SignedBlock['header'];
  return { height: header.height, hash: row.hash, time: header.time, stateRoot: header.stateRoot, block: { hash: row.hash, header, sig: row.sig } };
}

/** Why the proposer stopped making blocks: a programmer or storage error inside execution. */
export class ProposerHalted extends Error {}

const HEX64 = /^[0-9a-f]{64}$/;

/** A read of committed state failed: the storage's fault, never a transaction's or a module's. */
class StorageReadError extends Error {}

function storageRead<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new StorageReadError(`reading state failed: ${(err as Error).message}`, { cause: err });
  }
}

export class Proposer {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  /** set when execution hit an error that is not a transaction's fault */
  halted: Error | undefined;
  /** today's validator set: the node key alone */
  private readonly validatorsHash: string;

  constructor(
    private readonly store: SqliteStore,
    private readonly cache: StateCache,
    private readonly tree: StoredTree,
    private readonly mempool: Mempool,
    private readonly kernel: Kernel,
    private readonly signer: Signer,
    public tip: Tip,
    private readonly options: ProposerOptions,
    private readonly onBlock: (event: BlockCommitted) => void,
    private readonly onHalt: (err: Error) => void,
  ) {
    this.validatorsHash = validatorsHash(singleValidator(signer.pub));
    assert(options.blockTxCountMax >= 1 && Number.isSafeInteger(options.blockTxCountMax), 'blockTxCountMax must be a positive integer');
    assert(options.blockDelayMsMax >= 0 && Number.isFinite(options.blockDelayMsMax), 'blockDelayMsMax must be a non-negative number');
  }

  /** Called after admission: make a block now if one is full, else within blockDelayMsMax. */
  poke(): void {
    if (this.stopped || this.running || this.halted) return;
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

  /** Propose everything still in the mempool now (graceful shutdown). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Every turn takes at least one transaction out of the mempool (committed or refused),
    // so this ends; a turn that took none is a bug, not a reason to spin.
    while (!this.stopped && !this.halted && this.mempool.size > 0) {
      const before = this.mempool.size;
      this.runBlock();
      assert(this.mempool.size < before, 'flush made no progress');
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private runBlock(): void {
    if (this.stopped || this.running || this.halted) return;
    this.running = true;
    try {
      const most = this.options.state ? this.kernel.blockTxCountMax(this.options.state, this.options.blockTxCountMax) : this.options.blockTxCountMax;
      const taken = this.mempool.take(most);
      if (taken.length > 0) this.propose(taken);
    } finally {
      this.running = false;
    }
    if (this.mempool.size > 0) this.poke();
  }

  private propose(taken: PendingTx[]): void {
    const started = performance.now();
    const height = this.tip.height + 1;
    const timeMs = Math.max(this.options.clock(), this.tip.time);
    let result: BlockResult;
    try {
      const treeTip = this.tree.tip;
      assert(treeTip && treeTip.version === this.tip.height, 'the state tree is at the tip');
      result = executeBlock({
        get: (k) => storageRead(() => this.cache.get(k)),
        range: (p, a, l) => storageRead(() => this.store.stateRange(p, a, l)),
        stateRoot: this.tip.stateRoot,
        tree: { reader: { node: (v, p) => storageRead(() => this.tree.node(v, p)) }, version: treeTip },
      }, { height, time: timeMs }, taken, this.kernel);
    } catch (err) {
      // Not a transaction's fault, and nothing is signed. A storage read that failed (a
      // damaged page, say) abandons the block and marks the node unhealthy; submitters
      // are told to retry. Anything else is a bug in a module: the node stops.
      if (err instanceof StorageReadError) this.abandon(taken, err.cause);
      else this.halt(err as Error, taken);
      return;
    }

    // Refused at block time (expired, or after an earlier refusal a nonce gap): they leave
    // the mempool first, then their accounts' later pending ones, which would now gap.
    // Included transactions are never in that drop: they are settled with their receipt.
    const included = result.included.map((i) => taken[i]!);
    const includedSet = new Set(included);
    const gapped = new Set<string>();
    for (const { input, error } of result.excluded) {
      const p = taken[input]!;
      this.mempool.settle(p);
      p.reject(error);
      gapped.add(p.env.tx.from);
    }
    for (const from of gapped) {
      for (const p of this.mempool.dropAccount(from, includedSet)) {
        p.reject(new TallyError('nonce_gap', 'an earlier transaction of this account was refused before it was included', { status: 409 }));
      }
    }
    if (included.length === 0) return;

    assert(result.version === 2 && result.tree !== undefined, 'the proposer makes version 2 blocks');
    // Version 3 from the first block after an upgrade on (versions never go down).
    const header: BlockHeader = {
      version: 3,
      chain: this.kernel.params.chain,
      height,
      prevHash: this.tip.hash,
      time: timeMs,
      txRoot: result.txRoot,
      stateRoot: result.stateRoot,
      txCount: included.length,
      proposer: this.signer.pub,
      validatorsHash: this.validatorsHash,
      lastCommitHash: lastCommitHashAfter(this.tip.block),
    };
    // The commit path's preconditions (TigerBeetle style: a broken one stops the node).
    assert(header.height === this.tip.height + 1, 'block height is tip + 1');
    assert(header.time >= this.tip.time, 'block time never goes backwards');
    assert(result.receipts.length === included.length && header.txCount === included.length, 'one receipt per included transaction');
    assert(HEX64.test(header.txRoot) && HEX64.test(header.stateRoot) && HEX64.test(header.prevHash), 'roots are 32-byte hex');
    result.receipts.forEach((r, i) => assert(r.index === i && r.height === height && r.id === included[i]!.id, 'receipt matches its transaction'));

    const block = signHeader(header, this.signer);
    const rows: TxRow[] = included.map((p, i) => {
      const r = result.receipts[i]!;
      return {
        id: fromHex(p.id, 'tx id', 32), height, idx: i, sender: p.env.tx.from, type: p.env.tx.type, env: p.canonical,
        status: r.status, code: r.code ?? null, events: JSON.stringify(r.events),
      };
    });
    try {
      this.store.commitBlock({
        block: { height, hash: block.hash, header: JSON.stringify(header), sig: block.sig },
        txs: rows,
        writes: result.writes,
        tree: this.tree.rows(result.tree),
        also: () => {
          this.options.indexBlock?.({ height, timeMs, hookEvents: result.events }, included.map((p, i) => ({ seq: txSeq(height, i), id: p.id, tx: p.env.tx, receipt: result.receipts[i]! })));
        },
      });
    } catch (err) {
      // Nothing was written (one storage transaction): a full disk, say, which clears by
      // itself. The node keeps going.
      this.options.rolledBack?.();
      this.abandon(included, err);
      return;
    }
    // Record the signed height before anyone learns of the block. If that fails, nothing
    // is published: the node halts, and on restart the committed block is recorded.
    try {
      this.options.hooks?.committed(height, block.hash);
    } catch (err) {
      this.halt(err as Error, included, true);
      return;
    }
    // Committed: now (and only now) the state cache, the tip and the submitters move on.
    this.cache.apply(result.writes);
    this.tree.committed(result.tree);
    this.tip = { height, hash: block.hash, time: timeMs, stateRoot: header.stateRoot, block };
    included.forEach((p, i) => {
      this.mempool.settle(p);
      p.resolve(result.receipts[i]!);
    });
    this.onBlock({ block, receipts: result.receipts, senders: included.map((p) => p.env.tx.from), commitMs: performance.now() - started, txLevels: result.txLevels, hookEvents: result.events });
  }

  /**
   * A storage failure: refuse the block's transactions (retry later); their accounts'
   * later pending nonces would now gap, so those are refused too. /health reports it
   * until a block commits again.
   */
  private abandon(txs: PendingTx[], err: unknown): void {
    console.error('tally: block abandoned after a storage failure', err);
    const given = this.options.hooks?.failed(err);
    const failure = given instanceof TallyError ? given : new TallyError('storage_failed', 'the node could not read or store the block; resubmit', { status: 503 });
    for (const p of txs) {
      this.mempool.settle(p);
      p.reject(failure);
    }
    for (const p of txs) for (const q of this.mempool.dropAccount(p.env.tx.from)) q.reject(failure);
  }

  private halt(err: Error, taken: PendingTx[], committed = false): void {
    this.halted = new ProposerHalted(committed ? err.message : `block ${this.tip.height + 1} could not be executed: ${err.message}`, { cause: err });
    this.options.hooks?.failed(err);
    // The block's transactions and everything still queued: told to retry once it is back.
    const failure = new TallyError('node_halted', 'the node stopped making blocks after an internal error; resubmit once it is back', { status: 503 });
    for (const p of [...taken, ...this.mempool.take(Number.MAX_SAFE_INTEGER)]) {
      this.mempool.settle(p);
      p.reject(failure);
    }
    this.onHalt(this.halted);
  }
}
