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
import type { Tip } from './proposer.js';
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
  hooks?: BlockHooks;
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
  readonly checked: { envs: Envelope[]; verdicts: Promise<VerifyVerdict[]> } | TallyError;
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
      // A prepared block may never be imported (a refusal before it, a stop): no unhandled rejection.
      verdicts.catch(() => undefined);
      return { block, checked: { envs, verdicts } };
    } catch (err) {
      if (!(err instanceof TallyError)) throw err;
      return { block, checked: err };
    }
  }

  /** Check against the tip, execute and commit a prepared block; one at a time. */
  async import(ready: Prepared): Promise<BlockCommitted> {
    assert(!this.busy, 'one block import at a time');
    this.busy = true;
    try {
      return await this.importOne(ready);
    } finally {
      this.busy = false;
    }
  }

  private async importOne({ block, checked }: Prepared): Promise<BlockCommitted> {
    const started = performance.now();
    const h = block.header;
    if (h.height !== this.tip.height + 1) refuse('not_next', `block ${h.height} is not the next block (the tip is ${this.tip.height})`);
    if (checked instanceof TallyError) throw checked;
    const link = checkHeaderLink(this.tip.block, block);
    if (!link.ok) refuse('bad_block', `block ${h.height} does not follow our block ${this.tip.height}: ${link.reason}`);
    const { envs } = checked;
    const verdicts = await checked.verdicts;
    // The pool awaited: the tip must not have moved meanwhile (imports are serial).
    assert(h.height === this.tip.height + 1, 'the tip moved during an import');
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
    this.store.commitBlock({
      block: { height: h.height, hash: block.hash, header: JSON.stringify(h), sig: block.sig },
      txs: rows,
      writes: result.writes,
      tree: this.tree.rows(result.tree),
      also: () => {
        this.options.indexBlock?.({ height: h.height, timeMs: h.time, hookEvents: result.events }, exec.map((t, i) => ({ seq: txSeq(h.height, i), id: t.id, tx: t.env.tx, receipt: result.receipts[i]! })));
      },
    });
    this.options.hooks?.committed(h.height, block.hash);
    this.cache.apply(result.writes);
    this.tree.committed(result.tree);
    this.tip = { height: h.height, hash: block.hash, time: h.time, stateRoot: h.stateRoot, block };
    this.counts.blocks++;
    this.counts.txs += exec.length;
    const event: BlockCommitted = { block, receipts: result.receipts, senders: exec.map((t) => t.env.tx.from), commitMs: performance.now() - started, txLevels: result.txLevels, hookEvents: result.events };
    this.onBlock(event);
    return event;
  }
}

export function isRefusal(err: unknown): err is TallyError & { code: RefusalCode } {
  return err instanceof TallyError && ['bad_block', 'bad_signature', 'bad_tx', 'bad_tx_root', 'bad_state_root', 'not_next'].includes(err.code);
}
