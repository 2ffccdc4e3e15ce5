// A replica's half of the proposer: it takes a block someone else signed, checks the
// header against its own tip and the chain's key, verifies every transaction signature
// (the verifier pool), runs the one executor on its own parent state, and commits only if
// every transaction is included and the txRoot and stateRoot match the header. Then the
// block goes into the store exactly as the proposer would have written it, and only then
// is it served. A refusal is a TallyError with a stable code and changes nothing.
import { assert, fail, TallyError } from '../core/errors.js';
import { fromHex } from '../core/encoding.js';
import { checkHeaderLink, checkSignedHeader } from '../core/header.js';
import { verifySignature } from '../core/keys.js';
import { limits } from '../core/limits.js';
import { txSeq, type SqliteStore, type TxRow } from '../store/sqlite.js';
import type { IndexedBlock, IndexedTx } from './app-module.js';
import type { BlockCommitted, SignedBlock } from './blocks.js';
import { parseEnvelope, type Envelope } from './envelope.js';
import { executeBlock, type BlockResult, type ExecTx } from './execute.js';
import type { BlockHooks } from './health.js';
import type { Kernel } from './kernel.js';
import { tipOfRow, type Tip } from './proposer.js';
import type { StateCache } from './state-cache.js';
import type { StoredTree } from './state-tree/stored.js';
import type { VerifierPool } from './verifier.js';
import type { VerifyVerdict } from './verifier-worker.js';

/** Why a block was refused: the codes sync maps to a peer's drop reason. */
export type RefusalCode = 'bad_block' | 'bad_signature' | 'bad_tx' | 'bad_tx_root' | 'bad_state_root' | 'not_next';

export interface FollowerOptions {
  /** the chain's block-signing key (base64url): the only key whose blocks are accepted */
  chainKey: string;
  indexBlock?: (block: IndexedBlock, txs: IndexedTx[]) => void;
  /** a run's storage transaction rolled back: what indexBlock kept for after the commit is void */
  rolledBack?: () => void;
  hooks?: BlockHooks;
}

/** A run (one storage transaction) takes whole blocks up to this many transactions... */
const RUN_TXS_MAX = 16_000;
/** ...and adds no block once it has held the main thread this long (ms). */
const RUN_MS_MAX = 1_000;

/** What importAll committed, in order, and the refusal that stopped it (the blocks before it stay committed). */
export interface ImportResult {
  committed: BlockCommitted[];
  refusal?: TallyError & { code: RefusalCode };
}

function refuse(code: RefusalCode, message: string): never {
  fail(code, message, { status: 422 });
}

/** Header checks that need no state: hash, key, signature, shape. Also used on gossiped headers. */
export function checkHeader(block: SignedBlock, chain: string, chainKey: string): void {
  const h = block.header;
  if (h.chain !== chain) refuse('bad_block', `the block is of chain "${h.chain}", not "${chain}"`);
  if (h.version !== 2 && h.version !== 3) refuse('bad_block', 'replicas follow version 2 and 3 blocks only');
  const check = checkSignedHeader(block, chainKey, verifySignature);
  if (!check.ok) refuse(check.code === 'wrong_proposer' || check.code === 'bad_block_signature' ? 'bad_signature' : 'bad_block', check.reason);
}

/**
 * A block checked as far as it can be without state: its header (chain, version, the
 * chain key's signature), its transaction count, every envelope parsed, and the verifier
 * pool started on the signatures. Made before the import, so that the pool checks block
 * N + 1 while block N executes and commits; a block that fails here costs no pool work.
 */
export interface Prepared {
  readonly block: SignedBlock;
  /** the parsed envelopes and the pool's verdicts, or the refusal (thrown at import, after not_next) */
  readonly checked: { envs: Envelope[]; verdicts: Promise<VerifyVerdict[]>; settled: boolean } | TallyError;
}

export class Follower {
  private busy = false;
  /** blocks imported since start, and their transactions */
  readonly counts = { blocks: 0, txs: 0 };

  constructor(
    private readonly store: SqliteStore,
    private readonly cache: StateCache,
    private readonly tree: StoredTree,
    private readonly kernel: Kernel,
    private readonly pool: VerifierPool,
    public tip: Tip,
    private readonly options: FollowerOptions,
    private readonly onBlock: (event: BlockCommitted) => void,
  ) {}

  get chainKey(): string {
    return this.options.chainKey;
  }

  /** The checks that need no state, and the signatures started in the pool (see Prepared). */
  prepare(block: SignedBlock, rawTxs: unknown[]): Prepared {
    const h = block.header;
    try {
      checkHeader(block, this.kernel.params.chain, this.options.chainKey);
      if (h.txCount !== rawTxs.length || h.txCount < 1 || h.txCount > limits.blockTxCountMax) {
        refuse('bad_block', `the header says ${h.txCount} transactions, the block carries ${rawTxs.length} (1 to ${limits.blockTxCountMax})`);
      }
      const envs = rawTxs.map((raw) => {
        try {
          return parseEnvelope(raw);
        } catch (err) {
          return refuse('bad_tx', `a transaction of block ${h.height}: ${(err as Error).message}`);
        }
      });
      const verdicts = this.pool.verify(envs, this.kernel.mayOpenAccount);
      const checked = { envs, verdicts, settled: false };
      // settled: a run may take the block without waiting. A prepared block may never be
      // imported (a refusal before it, a stop): no unhandled rejection.
      verdicts.then(() => { checked.settled = true; }, () => { checked.settled = true; });
      return { block, checked };
    } catch (err) {
      if (!(err instanceof TallyError)) throw err;
      return { block, checked: err };
    }
  }

  /**
   * Check, execute and commit prepared blocks in order; one call at a time. Consecutive
   * blocks share one storage transaction (a run): during catch-up most of a block's commit
   * is rewriting the same random state pages, and a run writes each page once. A run takes
   * whole blocks up to RUN_TXS_MAX transactions and stops adding blocks once it has held
   * the main thread RUN_MS_MAX: nothing in a run awaits, so no read sees a block before its
   * transaction commits, and reads wait at most about that long. Each run's blocks are
   * published (watermark, events) after its commit. A refusal stops the import: the blocks
   * before it are committed and returned with it.
   */
  async importAll(readies: Prepared[]): Promise<ImportResult> {
    assert(!this.busy, 'one block import at a time');
    this.busy = true;
    try {
      const committed: BlockCommitted[] = [];
      let at = 0;
      while (at < readies.length) {
        await verdictsOf(readies[at]!);
        // The run takes the blocks after it whose signatures the pool has already checked:
        // while it runs, the pool goes on with the next ones. The pool's answers that
        // arrived while the last run held the thread are queued as events: let them in.
        await new Promise((resolve) => setImmediate(resolve));
        let end = at + 1;
        let txs = readies[at]!.block.header.txCount;
        const ready = (r: Prepared) => r.checked instanceof TallyError || r.checked.settled;
        while (end < readies.length && ready(readies[end]!) && txs + readies[end]!.block.header.txCount <= RUN_TXS_MAX) txs += readies[end++]!.block.header.txCount;
        const candidates = readies.slice(at, end);
        const verdicts = await Promise.all(candidates.map(verdictsOf));
        const run = this.run(candidates, verdicts);
        committed.push(...run.committed);
        at += run.committed.length;
        if (run.refusal) return { committed, refusal: run.refusal };
      }
      return { committed };
    } finally {
      this.busy = false;
    }
  }

  /** A run: blocks applied in one storage transaction until a refusal or the time budget, then published. */
  private run(candidates: Prepared[], verdicts: Array<VerifyVerdict[] | undefined>): ImportResult {
    const started = performance.now();
    const committed: BlockCommitted[] = [];
    let refusal: (TallyError & { code: RefusalCode }) | undefined;
    try {
      this.store.transaction(() => {
        for (let i = 0; i < candidates.length; i++) {
          if (i > 0 && performance.now() - started > RUN_MS_MAX) break;
          try {
            committed.push(this.apply(candidates[i]!, verdicts[i]));
          } catch (err) {
            if (!isRefusal(err)) throw err;
            refusal = err;
            break;
          }
        }
      });
    } catch (err) {
      // The transaction rolled back: memory forgets the blocks it applied.
      this.reload();
      throw err;
    }
    const last = committed.at(-1)?.block;
    if (last) this.options.hooks?.committed(last.header.height, last.hash);
    const share = (performance.now() - started) / Math.max(1, committed.length);
    for (const event of committed) {
      event.commitMs = share;
      this.counts.blocks++;
      this.counts.txs += event.receipts.length;
      this.onBlock(event);
    }
    return refusal ? { committed, refusal } : { committed };
  }

  /** One block of a run: checks, execution, its rows written in the open transaction, memory moved to it. */
  private apply({ block, checked }: Prepared, verdicts: VerifyVerdict[] | undefined): BlockCommitted {
    const h = block.header;
    if (h.height !== this.tip.height + 1) refuse('not_next', `block ${h.height} is not the next block (the tip is ${this.tip.height})`);
    if (checked instanceof TallyError) throw checked;
    assert(verdicts, 'a checked block has its verdicts');
    const link = checkHeaderLink(this.tip.block, block);
    if (!link.ok) refuse('bad_block', `block ${h.height} does not follow our block ${this.tip.height}: ${link.reason}`);
    const { envs } = checked;
    const exec: ExecTx[] = verdicts.map((v, i) => {
      if (v.code) refuse('bad_tx', `transaction ${i} of block ${h.height}: ${v.code}`);
      return { id: v.id, env: envs[i]! };
    });
    const treeTip = this.tree.tip;
    assert(treeTip && treeTip.version === this.tip.height, 'the state tree is at the tip');
    // A storage read that fails throws out of here (not a TallyError): the caller stops.
    const result: BlockResult = executeBlock({
      get: (k) => this.cache.get(k),
      range: (p, a, l) => this.store.stateRange(p, a, l),
      stateRoot: this.tip.stateRoot,
      tree: { reader: this.tree, version: treeTip },
    }, { height: h.height, time: h.time }, exec, this.kernel);
    if (result.excluded.length > 0) {
      const first = result.excluded[0]!;
      refuse('bad_tx', `transaction ${exec[first.input]!.id} of block ${h.height} breaks a block rule: ${first.error.message}`);
    }
    if (result.txRoot !== h.txRoot) refuse('bad_tx_root', `block ${h.height}: the replayed receipts' root differs from the header's txRoot`);
    if (result.stateRoot !== h.stateRoot || !result.tree) refuse('bad_state_root', `block ${h.height}: the replayed state root differs from the header's stateRoot`);

    // The pool made each valid envelope's canonical JSON (what the store keeps), as for the proposer.
    const rows: TxRow[] = exec.map((t, i) => {
      const r = result.receipts[i]!;
      return {
        id: fromHex(t.id, 'tx id', 32), height: h.height, idx: i, sender: t.env.tx.from, type: t.env.tx.type, env: verdicts[i]!.canonical!,
        status: r.status, code: r.code ?? null, events: JSON.stringify(r.events),
      };
    });
    // In the run's transaction: the next block executes against these rows.
    this.store.writeBlock({
      block: { height: h.height, hash: block.hash, header: JSON.stringify(h), sig: block.sig },
      txs: rows,
      writes: result.writes,
      tree: this.tree.rows(result.tree),
      also: () => {
        this.options.indexBlock?.({ height: h.height, timeMs: h.time, hookEvents: result.events }, exec.map((t, i) => ({ seq: txSeq(h.height, i), id: t.id, tx: t.env.tx, receipt: result.receipts[i]! })));
      },
    });
    this.cache.apply(result.writes);
    this.tree.committed(result.tree);
    this.tip = { height: h.height, hash: block.hash, time: h.time, stateRoot: h.stateRoot, block };
    return { block, receipts: result.receipts, senders: exec.map((t) => t.env.tx.from), commitMs: 0, txLevels: result.txLevels, hookEvents: result.events };
  }

  /** After a rolled-back run: the caches, the tree and the tip as the database holds them. */
  private reload(): void {
    this.cache.clear();
    this.tree.reload();
    this.options.rolledBack?.();
    const row = this.store.tip();
    assert(row, 'the database has blocks');
    this.tip = tipOfRow(row);
  }
}

const verdictsOf = (r: Prepared): Promise<VerifyVerdict[] | undefined> => (r.checked instanceof TallyError ? Promise.resolve(undefined) : r.checked.verdicts);

export function isRefusal(err: unknown): err is TallyError & { code: RefusalCode } {
  return err instanceof TallyError && ['bad_block', 'bad_signature', 'bad_tx', 'bad_tx_root', 'bad_state_root', 'not_next'].includes(err.code);
}
