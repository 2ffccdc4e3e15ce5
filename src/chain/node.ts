// A Tally node: composes the store, the kernel, the verifier pool, admission, the mempool
// and the proposer behind the few calls every transport uses (submit, query, tx, proof,
// block). Process wiring (listeners, services, signals) lives in the app layer.
import { EventEmitter } from 'node:events';
import { fail, TallyError } from '../core/errors.js';
import { hasStateTreeRoot } from '../core/header.js';
import { ACCOUNT_ID, type Signer } from '../core/keys.js';
import { limits } from '../core/limits.js';
import { SqliteStore, txSeq, type Synchronous } from '../store/sqlite.js';
import { Admission } from './admission.js';
import type { BlockIndexer, IndexedBlock, IndexedTx, NodeHandle, SubmitResult, TallyModule } from './app-module.js';
import type { BlockHeader } from './blocks.js';
import { acquireNodeLock, dataPaths, kernelFor, loadNodeSigner, REPLICA_META } from './datadir.js';
import { BlockHooks, NodeHealth } from './health.js';
import { SignedWatermark } from '../store/watermark.js';
import { validateGenesis, type Genesis } from './genesis.js';
import { accountKeys, scopedReader, type Kernel } from './kernel.js';
import { Mempool } from './mempool.js';
import type { ChainParams, Query, QueryContext } from './module.js';
import { Proposer, tipOfRow, type BlockCommitted, type Tip } from './proposer.js';
import { Follower } from './follower.js';
import { ValidatorChain } from './validator-chain.js';
import { blstBls } from './consensus/bls-native.js';
import { QueryAuthReplays, verifyQueryAuth } from './query-auth.js';
import { ChainReads, txView } from './reads.js';
import { storeSource, verifyChain, type VerifyReport } from './replay.js';
import { StateCache } from './state-cache.js';
import { authKey, decodeValue, type AuthRecord, type StateReader } from './state.js';
import { defaultVerifierThreads, VERIFIER_THREADS_MAX, VerifierPool } from './verifier.js';
import { STATE_TREE_KEEP_VERSIONS_DEFAULT, type StateTreeReads } from './state-tree/reads.js';
import { buildStoredTree, convertTreeRows, StoredTree } from './state-tree/stored.js';

export { dataPaths, initDataDir, isInitialized, loadNodeSigner } from './datadir.js';
export type { BlockCommitted } from './proposer.js';
export type { ProofView, TxView } from './reads.js';
export type { StateTreeReads } from './state-tree/reads.js';

export interface NodeOptions {
  dataDir: string;
  modules: TallyModule[];
  synchronous?: Synchronous;
  blockTxCountMax?: number;
  blockDelayMsMax?: number;
  /** signature threads (default: defaultVerifierThreads, by role) */
  verifierThreads?: number;
  /** The wall clock, unix ms (tests inject one): admission's expiry check and the block time. */
  clock?: () => number;
  /** How many heights behind the tip keep state proofs (config `stateTree.keepVersions`). */
  stateTreeKeepVersions?: number;
}


/** What the network layer (src/net) tells the node about itself: for info, status, metrics and /health. */
export interface NetworkView {
  status(): NetworkStatus;
}

export type NodeRole = 'writer' | 'replica' | 'validator';

export interface NetworkStatus {
  role: NodeRole;
  /** replica: connecting, syncing (behind the best known head), following, or halted (equivocation) */
  state: 'serving' | 'connecting' | 'syncing' | 'following' | 'halted';
  peers: Array<{ id: string; addrs: string[]; height: number | null; score: number; direction: string }>;
  height: number;
  /** highest head any peer announced (a signed header or a status) */
  bestHeight: number;
  lagBlocks: number;
  /** how long the block after the tip has been known to exist (0 when caught up) */
  lagMs: number;
  blocksVerified: number;
  txsVerified: number;
  /** over the last 10 s */
  blocksVerifiedPerSec: number;
  gossipIn: number;
  gossipOut: number;
  rejectedPeers: Record<string, number>;
  equivocation: { height: number; hashes: string[]; file: string } | null;
  /** a validator chain: where consensus is and how it has gone */
  consensus?: ConsensusStatus;
}

export interface ConsensusStatus {
  /** whether this node's key is in the set in force (else it follows) */
  voting: boolean;
  height: number;
  round: number;
  step: string;
  validators: number;
  /** validators with a libp2p connection to this node, itself included (as far as it can tell by peer count) */
  peersConnected: number;
  lastCommit: { height: number; round: number; signers: number; of: number } | null;
  /** heights this node committed since start, and the rounds past the first they needed */
  heights: number;
  extraRounds: number;
  /** wall time from the block's header time (its proposer's clock) to this node's commit, last height */
  lastFinalityMs: number;
  /** per validator key: heights whose certificate (as this node decided it) lacks its vote */
  missedVotes: Record<string, number>;
  evidenceSeen: number;
}

/** A replica hands submitted transactions to the writer (set by the network layer). */
export type SubmitForwarder = (raws: unknown[]) => Promise<SubmitResult[]>;

export interface NodeStats {
  txsAccepted: number;
  txsRefused: Map<string, number>;
  blocks: number;
  txsCommitted: number;
  lastCommitMs: number;
}

export class TallyNode extends EventEmitter implements NodeHandle {
  readonly params: ChainParams;
  readonly genesis: Genesis;
  readonly signer: Signer;
  readonly store: SqliteStore;
  readonly mempool: Mempool;
  readonly paths: ReturnType<typeof dataPaths>;
  readonly kernel: Kernel;
  readonly modules: TallyModule[];
  readonly reads: ChainReads;
  /** What /health reports; blockHooks feed it and record the signed-height watermark. */
  readonly health = new NodeHealth();
  private readonly blockHooks = new BlockHooks(this.health);
  private readonly cache: StateCache;
  private readonly tree: StoredTree;
  /** State proofs at the kept heights (the state tree). */
  readonly stateTree: StateTreeReads;
  private readonly pool: VerifierPool;
  /** the writer's block maker; absent on a replica */
  private readonly proposer: Proposer | undefined;
  /** a replica's block importer; absent on the writer */
  readonly follower: Follower | undefined;
  /** a validator chain's blocks (proposals, checks, commits with certificates); the network layer runs consensus over it */
  readonly validatorChain: ValidatorChain | undefined;
  /** a validator: hears of every admitted transaction, and tells the other validators of those a client sent (`relay`); set by the network layer */
  relay: ((canonical: string[], relay: boolean) => void) | undefined;
  /** the key that signs this chain's blocks: ours on the writer, the followed one on a replica */
  readonly chainKey: string;
  /** set by the network layer when it runs */
  network: NetworkView | undefined;
  /** a replica's way to the writer, set by the network layer */
  forward: SubmitForwarder | undefined;
  private readonly admission: Admission;
  private readonly queries = new Map<string, { query: Query; ctx: QueryContext }>();
  private readonly counts = { blocks: 0, txsCommitted: 0, lastCommitMs: 0 };
  private readonly indexers: Array<{ name: string; indexer: BlockIndexer }>;
  /** committed state, parsed and frozen */
  readonly state: StateReader;
  private stopping = false;
  /** each signed query is usable once */
  private readonly queryAuthReplays = new QueryAuthReplays();
  private releaseLock: () => void = () => {};

  private constructor(options: NodeOptions, store: SqliteStore, genesis: Genesis, signer: Signer) {
    super();
    this.setMaxListeners(0);
    this.modules = options.modules;
    this.paths = dataPaths(options.dataDir);
    this.store = store;
    this.genesis = genesis;
    this.kernel = kernelFor(genesis, options.modules);
    this.params = this.kernel.params;
    this.signer = signer;
    this.reads = new ChainReads(store);
    const keep = options.stateTreeKeepVersions ?? STATE_TREE_KEEP_VERSIONS_DEFAULT;
    if (!Number.isSafeInteger(keep) || keep < 0) fail('bad_option', 'stateTreeKeepVersions must be a non-negative integer');
    this.tree = new StoredTree(store, keep);
    // The tree and the state table change in the same commit, so the tree's tip answers for the state's absent keys.
    this.cache = new StateCache(store, undefined, (k) => this.tree.knownAbsent(k));
    this.stateTree = this.tree;
    this.mempool = new Mempool();
    const replicaOf = store.getMeta(REPLICA_META);
    const threads = options.verifierThreads ?? defaultVerifierThreads(replicaOf !== undefined);
    if (!Number.isSafeInteger(threads) || threads < 1 || threads > VERIFIER_THREADS_MAX) fail('bad_option', `verifierThreads must be an integer from 1 to ${VERIFIER_THREADS_MAX}`);
    this.pool = new VerifierPool(threads);
    const clock = options.clock ?? Date.now;
    this.state = {
      get: <T>(k: string): T | undefined => { const v = this.cache.get(k); return v === undefined ? undefined : decodeValue<T>(v); },
      entries: <T>(prefix: string, o: { after?: string; limit?: number } = {}) =>
        store.stateRange(prefix, o.after, Math.min(o.limit ?? 1000, 1000)).map(([k, v]): [string, T] => [k, decodeValue<T>(v)]),
    };

    const tipRow = store.tip();
    if (!tipRow) fail('db_corrupt', 'the database has no genesis block', { status: 500 });
    const tip = tipOfRow(tipRow);
    if (this.tree.tip?.version !== tip.height) {
      fail('db_corrupt', `the state tree is at height ${this.tree.tip?.version ?? 'none'}, the chain at ${tip.height}`, { status: 500 });
    }
    this.indexers = options.modules.filter((m) => m.app.indexer).map((m) => ({ name: m.name, indexer: m.app.indexer!(store) }));
    this.catchUpIndexes(tip.height);

    const indexBlock = this.indexers.length ? {
      indexBlock: (block: IndexedBlock, txs: IndexedTx[]) => this.indexBlock(block, txs),
      rolledBack: () => { for (const { indexer } of this.indexers) indexer.rolledBack?.(); },
    } : {};
    this.chainKey = replicaOf ?? signer.pub;
    this.follower = replicaOf === undefined ? undefined
      : new Follower(store, this.cache, this.tree, this.kernel, this.pool, tip, { chainKey: replicaOf, hooks: this.blockHooks, ...indexBlock }, (event) => this.blockCommitted(event));
    const blockTxCountMax = options.blockTxCountMax ?? limits.blockTxCountMax;
    if (!Number.isSafeInteger(blockTxCountMax) || blockTxCountMax < 1 || blockTxCountMax > limits.blockTxCountMax) {
      fail('bad_option', `blockTxCountMax must be an integer from 1 to ${limits.blockTxCountMax}`);
    }
    if (genesis.validators && this.follower) fail('bad_args', 'replicas of a validator chain are not supported yet', { status: 500 });
    this.validatorChain = genesis.validators ? new ValidatorChain(
      store, this.cache, this.tree, this.mempool, this.kernel, this.pool, signer, tip,
      { scheme: blstBls, state: this.state, clock, blockTxCountMax, hooks: this.blockHooks, ...indexBlock },
      (event) => this.blockCommitted(event),
    ) : undefined;
    this.proposer = this.follower || this.validatorChain ? undefined : new Proposer(
      store, this.cache, this.tree, this.mempool, this.kernel, signer, tip,
      { blockTxCountMax, blockDelayMsMax: options.blockDelayMsMax ?? 2, clock, hooks: this.blockHooks, state: this.state, ...indexBlock },
      (event) => this.blockCommitted(event),
      (err) => this.emit('halt', err),
    );
    this.admission = new Admission({
      kernel: this.kernel,
      pool: this.pool,
      mempool: this.mempool,
      state: this.state,
      clock,
      closed: () => this.closedReason(),
      committedReceipt: (id) => this.reads.tx(id)?.receipt,
      queued: () => this.proposer?.poke(),
      admitted: (canonical, relay) => this.relay?.(canonical, relay),
    });
    const chainReader = {
      store,
      tx: (id: string) => this.reads.tx(id),
      proof: (id: string) => this.reads.proof(id),
      block: (height: number) => this.reads.block(height),
      verify: () => this.verifySnapshot(),
    };
    for (const m of options.modules) {
      const ctx: QueryContext = {
        state: scopedReader(this.state, m.name),
        params: this.params,
        accounts: accountKeys(this.state),
        chain: chainReader,
        authenticate: (name, params) => verifyQueryAuth(this.params.chain, name, params, (id) => this.state.get<AuthRecord>(authKey(id))?.pub, Date.now(), this.queryAuthReplays),
      };
      for (const q of m.chain.queries) this.queries.set(q.name, { query: q, ctx });
    }
  }

  static open(options: NodeOptions): TallyNode {
    const p = dataPaths(options.dataDir);
    const signer = loadNodeSigner(p.nodeKey);
    const release = acquireNodeLock(p.lock);
    let store: SqliteStore | undefined;
    let watermark: SignedWatermark | undefined;
    try {
      // A start checks the database (PRAGMA quick_check) and refuses one behind the
      // heights this node has already signed (a damaged WAL rolls the chain back silently).
      store = SqliteStore.open({ dbPath: p.db, keyPath: p.dbKey, synchronous: options.synchronous ?? 'FULL', integrityCheck: true });
      watermark = SignedWatermark.open(p.dir, (options.synchronous ?? 'FULL') !== 'NORMAL');
      watermark.check(store);
      for (const m of options.modules) if (m.app.migrations) store.migrate(m.name, m.app.migrations);
      upgradeToStateTree(store);
      convertTreeRowsLoudly(store);
      const stored = store.getMeta('genesis');
      if (!stored) fail('db_corrupt', 'the database has no genesis record', { status: 500 });
      const genesis = validateGenesis(JSON.parse(stored), options.modules.map((m) => m.chain));
      const node = new TallyNode(options, store, genesis, signer);
      node.releaseLock = release;
      node.blockHooks.watermark = watermark;
      return node;
    } catch (err) {
      watermark?.close();
      store?.close();
      release();
      throw err;
    }
  }

  get tip(): Tip {
    return (this.proposer ?? this.follower ?? this.validatorChain)!.tip;
  }

  get role(): NodeRole {
    return this.follower ? 'replica' : this.validatorChain ? 'validator' : 'writer';
  }

  /** Why the proposer stopped, if it did (a programmer or storage error). */
  get halted(): Error | undefined {
    return this.proposer?.halted;
  }

  get stats(): NodeStats {
    return { ...this.admission.stats, ...this.counts };
  }

  private closedReason(): TallyError | undefined {
    if (this.proposer?.halted) return new TallyError('node_halted', 'the node stopped making blocks after an internal error', { status: 503, hint: 'the operator must look at the node\'s log' });
    if (this.stopping) return new TallyError('node_stopping', 'the node is shutting down; retry against it after restart', { status: 503 });
    return undefined;
  }

  private indexBlock(block: IndexedBlock, txs: IndexedTx[]): void {
    for (const { name, indexer } of this.indexers) {
      indexer.index(block, txs);
      this.store.setMeta(`index/${name}`, String(block.height));
    }
  }

  /** A module index added to an existing chain (or behind for any reason) is filled from the stored blocks. */
  private catchUpIndexes(tip: number): void {
    for (const { name, indexer } of this.indexers) {
      let done = Number(this.store.getMeta(`index/${name}`) ?? '0');
      while (done < tip) {
        const until = Math.min(tip, done + 200);
        this.store.transaction(() => {
          for (let h = done + 1; h <= until; h++) {
            const header = JSON.parse(this.store.block(h)!.header) as BlockHeader;
            indexer.index({ height: h, timeMs: header.time }, this.store.blockTxs(h).map((row) => {
              const view = txView(row);
              return { seq: txSeq(h, row.idx), id: view.id, tx: view.envelope.tx, receipt: view.receipt };
            }));
            // (inside the transaction: if it fails, the node does not start at all)
            indexer.committed?.();
          }
          this.store.setMeta(`index/${name}`, String(until));
        });
        done = until;
      }
    }
  }

  private verifying: Promise<VerifyReport> | undefined;

  /**
   * Replay the chain from a read-only snapshot (its own connection inside one read
   * transaction), so blocks committed meanwhile neither disturb nor join the check.
   * One at a time: a second caller shares the running replay.
   */
  verifySnapshot(): Promise<VerifyReport> {
    if (this.verifying) return this.verifying;
    const run = async () => {
      const snap = SqliteStore.open({ dbPath: this.paths.db, keyPath: this.paths.dbKey, readonly: true });
      try {
        snap.db.exec('BEGIN');
        return await verifyChain(storeSource(snap, this.genesis), this.modules.map((m) => m.chain), this.pool, () => {}, { genesis: this.genesis, nodeKey: this.chainKey });
      } finally {
        if (snap.db.inTransaction) snap.db.exec('COMMIT');
        snap.close();
      }
    };
    this.verifying = run().finally(() => { this.verifying = undefined; });
    return this.verifying;
  }

  private blockCommitted(event: BlockCommitted): void {
    if (event.txLevels) this.reads.committed(event.block.header.height, event.txLevels);
    for (const { indexer } of this.indexers) indexer.committed?.();
    this.counts.blocks++;
    this.counts.txsCommitted += event.receipts.length;
    this.counts.lastCommitMs = event.commitMs;
    this.emit('block', event);
  }

  /** A validator: transactions another validator admitted (checked again here; not relayed again). */
  submitRelayed(raws: unknown[]): Promise<SubmitResult[]> {
    if (!this.validatorChain) return Promise.reject(new TallyError('bad_request', 'only validators take relayed transactions', { status: 400 }));
    return this.admission.submit(raws, { relay: false });
  }

  /** Check, verify and queue transactions; each result is a receipt (after commit) or an error. */
  submit(raws: unknown[]): Promise<SubmitResult[]> {
    if (!this.follower) return this.admission.submit(raws);
    const closed = this.closedReason();
    if (closed) return Promise.reject(closed);
    if (!this.forward) return Promise.reject(new TallyError('no_writer', 'this replica is not connected to the writer; retry later', { status: 503 }));
    return this.forward(raws);
  }

  /** Key and next nonce of an account id; an id the chain has not seen has nonce 0. */
  auth(id: string): { id: string; pub: string | null; nonce: number; pending: number } {
    if (!ACCOUNT_ID.test(id)) fail('bad_params', 'id must be an account id (40 lowercase hex digits)');
    const rec = this.state.get<AuthRecord>(authKey(id));
    const committed = rec?.nonce ?? 0;
    const nonce = this.mempool.expectedNonce(id, committed);
    return { id, pub: rec?.pub ?? null, nonce, pending: nonce - committed };
  }

  query(name: string, params: Record<string, unknown>): unknown {
    const q = this.queries.get(name);
    if (!q) fail('unknown_query', `unknown query "${name}"`, { status: 404, details: { known: [...this.queries.keys()] } });
    return q.query.run(q.ctx, params);
  }

  queryNames(): Array<{ name: string; summary: string }> {
    return [...this.queries.values()].map(({ query }) => ({ name: query.name, summary: query.summary }));
  }

  txTypeNames(): string[] {
    return this.kernel.txTypeNames();
  }

  tx(id: string) {
    return this.reads.tx(id);
  }

  proof(id: string) {
    return this.reads.proof(id);
  }

  block(height: number) {
    return this.reads.block(height);
  }

  blockTxViews(height: number) {
    return this.reads.blockTxViews(height);
  }

  blockTxIds(height: number) {
    return this.reads.blockTxIds(height);
  }

  info() {
    const tip = this.tip;
    return {
      chain: this.params.chain,
      decimals: this.params.decimals,
      genesisHash: this.params.genesisHash,
      nodeKey: this.chainKey,
      role: this.role,
      ...(this.follower ? { replicaKey: this.signer.pub } : {}),
      height: tip.height,
      tipHash: tip.hash,
      mempool: this.mempool.size,
      modules: this.modules.map((m) => m.name),
      txTypes: this.txTypeNames(),
      queries: [...this.queries.keys()],
      ...(this.network ? { network: this.network.status() } : {}),
    };
  }

  /** Stop admitting, and commit (and acknowledge) everything already admitted. */
  drain(): void {
    this.stopping = true;
    this.proposer?.flush();
  }

  async close(): Promise<void> {
    this.drain();
    this.proposer?.stop();
    await this.pool.close();
    this.store.close();
    this.blockHooks.watermark?.close();
    this.releaseLock();
  }
}

/** Core migration 3 marked tree rows of format 1: rewrite them (once; roots do not change). */
function convertTreeRowsLoudly(store: SqliteStore): void {
  const started = performance.now();
  const n = convertTreeRows(store);
  if (n > 0) console.error(`tally: rewrote ${n} state tree node rows in row format 2 in ${Math.round(performance.now() - started)} ms (core migration 3)`);
}

/**
 * A data directory made before the state tree (version 1 headers): build the tree once
 * from the state at the tip T; blocks T+1 on are version 3 and proofs exist from T on.
 * Nothing already signed changes.
 */
function upgradeToStateTree(store: SqliteStore): void {
  if (store.treeRange() !== undefined) return;
  const tip = store.tip();
  if (!tip) return;
  const header = JSON.parse(tip.header) as BlockHeader;
  if (hasStateTreeRoot(header)) fail('db_corrupt', `the chain has version ${String(header.version)} blocks but the database has no state tree`, { status: 500 });
  const started = performance.now();
  const entries = function* () {
    for (const row of store.allState()) yield [row.k, row.v] as [string, string];
  };
  const root = buildStoredTree(store, entries(), header.height);
  console.error(`tally: built the state tree at height ${header.height} (root ${root}) in ${Math.round(performance.now() - started)} ms; blocks from ${header.height + 1} on are version 3`);
}
