// A Tally node: the data directory, the store, the verifier pool, the mempool and the
// sequencer, behind the few calls every transport uses (submit, query, tx, proof, block).
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../core/canonical.js';
import { errorBody, errorStatus, fail, TallyError } from '../core/errors.js';
import { fromHex } from '../core/encoding.js';
import { ACCOUNT_ID, accountIdFromPub, assertStrongPublicKey, signerFromPrivateKey, type Signer } from '../core/keys.js';
import { limits } from '../core/limits.js';
import { EMPTY_ROOT, leafHash, type MerkleProof } from '../core/merkle.js';
import { checkSecretFileMode, createDatabaseKey, writeSecretFile } from '../store/keyfile.js';
import { SqliteStore, txSeq, type Synchronous, type TxRow } from '../store/sqlite.js';
import { signHeader, type BlockHeader, type SignedBlock } from './blocks.js';
import { parseEnvelope, receiptLeafBytes, type Envelope, type Receipt, type TxEvent } from './envelope.js';
import { genesisHash, validateGenesis, type Genesis } from './genesis.js';
import { Mempool, type PendingTx } from './mempool.js';
import type { BlockIndexer, ChainParams, IndexedTx, ModuleService, NodeHandle, Query, QueryContext, SubmitResult, TallyModule, TxType } from './module.js';
import { QueryAuthReplays, verifyQueryAuth } from './query-auth.js';
import { storeSource, verifyChain, type VerifyReport } from './replay.js';
import { BlockCache } from './block-cache.js';
import { Sequencer, type BlockCommitted } from './sequencer.js';
import { StateCache } from './state-cache.js';
import { authKey, LayeredState, nextStateRoot, ZERO_ROOT, type AuthRecord } from './state.js';
import { VerifierPool } from './verifier.js';

export function dataPaths(dataDir: string) {
  return {
    dir: dataDir,
    db: path.join(dataDir, 'tally.db'),
    dbKey: path.join(dataDir, 'db.key'),
    nodeKey: path.join(dataDir, 'node.key'),
    genesis: path.join(dataDir, 'genesis.json'),
    socket: path.join(dataDir, 'tally.sock'),
    lock: path.join(dataDir, 'node.lock'),
  };
}

/**
 * One node per data directory: two sequencers on one database would fork the chain.
 * The lock file holds the owner's pid; a lock left by a killed process is taken over.
 */
export function acquireNodeLock(lockPath: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lockPath, 'wx', 0o600);
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      return () => {
        try {
          if (fs.readFileSync(lockPath, 'utf8').trim() === String(process.pid)) fs.unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(fs.readFileSync(lockPath, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        fail('node_running', `another node (pid ${pid}) is running on this data directory`, {
          status: 409, hint: 'stop it first, or talk to it with --node',
        });
      }
      fs.rmSync(lockPath, { force: true }); // stale: its process is gone
    }
  }
  fail('node_running', `cannot take the lock ${lockPath}`, { status: 409 });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function isInitialized(dataDir: string): boolean {
  return fs.existsSync(dataPaths(dataDir).db);
}

export function loadNodeSigner(keyPath: string): Signer {
  checkSecretFileMode(keyPath, 'node key file');
  try {
    return signerFromPrivateKey(crypto.createPrivateKey(fs.readFileSync(keyPath)));
  } catch (err) {
    throw new TallyError('key_file_invalid', `node key file ${keyPath} is not an Ed25519 private key in PEM`, { status: 500, cause: err });
  }
}

export function chainParams(genesis: Genesis): ChainParams {
  return {
    chain: genesis.chain,
    decimals: genesis.decimals,
    genesisHash: genesisHash(genesis),
    moduleGenesis: (name) => genesis.modules[name],
  };
}

/** The state and the block at height 0, derived from the genesis file alone (replay uses it too). */
export function genesisBlockParts(genesis: Genesis, modules: TallyModule[]): { writes: Map<string, string | null>; header: Omit<BlockHeader, 'proposer'> } {
  const params = chainParams(genesis);
  const state = new LayeredState(() => undefined);
  for (const m of modules) if (m.genesis) m.genesis.init(state, genesis.modules[m.name], params);
  state.commitTx();
  return {
    writes: state.blockWrites,
    header: {
      chain: genesis.chain,
      height: 0,
      prevHash: params.genesisHash,
      time: genesis.time,
      txRoot: EMPTY_ROOT,
      stateRoot: nextStateRoot(ZERO_ROOT, state.blockWrites),
      txCount: 0,
    },
  };
}

/** Create a data directory: genesis.json, db.key and node.key (0600), the database and block 0. */
export function initDataDir(dataDir: string, genesisRaw: unknown, modules: TallyModule[]): { genesis: Genesis; nodePub: string } {
  const genesis = validateGenesis(genesisRaw, modules);
  const p = dataPaths(dataDir);
  if (fs.existsSync(p.db)) fail('already_initialized', `${dataDir} already holds a node`, { status: 409 });
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(p.genesis, JSON.stringify(genesis, null, 2) + '\n');
  if (!fs.existsSync(p.dbKey)) createDatabaseKey(p.dbKey);
  if (!fs.existsSync(p.nodeKey)) {
    const { privateKey } = crypto.generateKeyPairSync('ed25519');
    writeSecretFile(p.nodeKey, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
  }
  const signer = loadNodeSigner(p.nodeKey);
  const store = SqliteStore.open({ dbPath: p.db, keyPath: p.dbKey, create: true });
  try {
    for (const m of modules) if (m.migrations) store.migrate(m.name, m.migrations);
    const parts = genesisBlockParts(genesis, modules);
    const block = signHeader({ ...parts.header, proposer: signer.pub }, signer);
    store.transaction(() => {
      store.setMeta('genesis', canonicalJson(genesis));
      store.commitBlock({ block: { height: 0, hash: block.hash, header: JSON.stringify(block.header), sig: block.sig }, txs: [], writes: parts.writes });
    });
  } finally {
    store.close();
  }
  return { genesis, nodePub: signer.pub };
}

export interface NodeOptions {
  dataDir: string;
  modules: TallyModule[];
  synchronous?: Synchronous;
  blockTxCountMax?: number;
  blockDelayMsMax?: number;
  verifierThreads?: number;
}

export interface TxView {
  id: string;
  envelope: Envelope;
  receipt: Receipt;
}

export interface ProofView {
  receipt: Receipt;
  leaf: string;
  proof: MerkleProof;
  block: SignedBlock;
}

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
  readonly stats: NodeStats = { txsAccepted: 0, txsRefused: new Map(), blocks: 0, txsCommitted: 0, lastCommitMs: 0 };
  private readonly cache: StateCache;
  // HOOK(fix/heavy-reads): recent blocks' Merkle levels and parsed full blocks (block-cache.ts).
  readonly blockCache = new BlockCache();
  private readonly queryAuthReplays = new QueryAuthReplays();
  private readonly pool: VerifierPool;
  private readonly sequencer: Sequencer;
  private readonly txTypes = new Map<string, TxType>();
  private readonly queries = new Map<string, Query>();
  private readonly queryCtx: QueryContext;
  readonly modules: TallyModule[];

  private constructor(options: NodeOptions, store: SqliteStore, genesis: Genesis, signer: Signer) {
    super();
    this.setMaxListeners(0);
    this.modules = options.modules;
    this.paths = dataPaths(options.dataDir);
    this.store = store;
    this.genesis = genesis;
    this.params = chainParams(genesis);
    this.signer = signer;
    for (const m of options.modules) {
      for (const t of m.txTypes) this.txTypes.set(t.type, t);
      for (const q of m.queries) this.queries.set(q.name, q);
    }
    this.cache = new StateCache(store);
    this.mempool = new Mempool();
    this.pool = new VerifierPool(options.verifierThreads);
    const tipRow = store.tip();
    if (!tipRow) fail('db_corrupt', 'the database has no genesis block', { status: 500 });
    const tipHeader = JSON.parse(tipRow.header) as BlockHeader;
    this.indexers = options.modules.filter((m) => m.indexer).map((m) => ({ name: m.name, indexer: m.indexer!(store) }));
    this.catchUpIndexes(tipHeader.height);
    this.sequencer = new Sequencer(
      store, this.cache, this.mempool, this.txTypes, this.params, signer,
      { height: tipHeader.height, hash: tipRow.hash, time: tipHeader.time, stateRoot: tipHeader.stateRoot },
      {
        blockTxCountMax: Math.min(options.blockTxCountMax ?? limits.blockTxCountMax, limits.blockTxCountMax),
        blockDelayMsMax: options.blockDelayMsMax ?? 2,
        ...(this.indexers.length ? { indexBlock: (block: { height: number; timeMs: number }, txs: IndexedTx[]) => this.indexBlock(block, txs) } : {}),
      },
      (event) => this.blockCommitted(event),
    );
    const reader = { get: <T>(k: string): T | undefined => { const v = this.cache.get(k); return v === undefined ? undefined : (JSON.parse(v) as T); } };
    this.queryCtx = {
      state: reader,
      params: this.params,
      committedNonce: (id) => reader.get<AuthRecord>(authKey(id))?.nonce,
      chain: {
        store,
        tx: (id) => this.tx(id),
        proof: (id) => this.proof(id),
        block: (height) => this.block(height),
        verify: () => this.verifySnapshot(),
      },
      // HOOK(fix/heavy-reads): each signed query is usable once (QueryAuthReplays).
      authenticate: (name, params) => verifyQueryAuth(this.params.chain, name, params, (id) => reader.get<AuthRecord>(authKey(id))?.pub, Date.now(), this.queryAuthReplays),
    };
  }

  private readonly indexers: Array<{ name: string; indexer: BlockIndexer }>;

  private indexBlock(block: { height: number; timeMs: number }, txs: IndexedTx[]): void {
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
        return await verifyChain(storeSource(snap, this.genesis), this.modules, this.pool, () => {}, { genesis: this.genesis, nodeKey: this.signer.pub });
      } finally {
        if (snap.db.inTransaction) snap.db.exec('COMMIT');
        snap.close();
      }
    };
    this.verifying = run().finally(() => { this.verifying = undefined; });
    return this.verifying;
  }

  static open(options: NodeOptions): TallyNode {
    const p = dataPaths(options.dataDir);
    const signer = loadNodeSigner(p.nodeKey);
    const release = acquireNodeLock(p.lock);
    let store: SqliteStore | undefined;
    try {
      store = SqliteStore.open({ dbPath: p.db, keyPath: p.dbKey, synchronous: options.synchronous ?? 'FULL' });
      for (const m of options.modules) if (m.migrations) store.migrate(m.name, m.migrations);
      const stored = store.getMeta('genesis');
      if (!stored) fail('db_corrupt', 'the database has no genesis record', { status: 500 });
      const genesis = validateGenesis(JSON.parse(stored), options.modules);
      const node = new TallyNode(options, store, genesis, signer);
      node.releaseLock = release;
      return node;
    } catch (err) {
      store?.close();
      release();
      throw err;
    }
  }

  private releaseLock: () => void = () => {};

  get tip() {
    return this.sequencer.tip;
  }

  private blockCommitted(event: BlockCommitted): void {
    for (const { indexer } of this.indexers) indexer.committed?.();
    // HOOK(fix/heavy-reads): the proposer's Merkle levels, kept so this block's proofs need no rehash.
    if (event.levels) this.blockCache.recordLevels(event.block.header.height, event.levels);
    this.stats.blocks++;
    this.stats.txsCommitted += event.receipts.length;
    this.stats.lastCommitMs = event.commitMs;
    this.emit('block', event);
  }

  private refuse(err: unknown): SubmitResult {
    const body = errorBody(err);
    this.stats.txsRefused.set(body.code, (this.stats.txsRefused.get(body.code) ?? 0) + 1);
    return { error: body, status: errorStatus(err) };
  }

  /** Check, verify and queue transactions; each result is a receipt (after commit) or an error. */
  async submit(raws: unknown[]): Promise<SubmitResult[]> {
    if (this.stopping) fail('node_stopping', 'the node is shutting down; retry against it after restart', { status: 503 });
    if (raws.length > limits.batchTxCountMax) fail('batch_too_large', `at most ${limits.batchTxCountMax} transactions per batch`, { status: 413 });
    const results: Array<SubmitResult | Promise<SubmitResult> | undefined> = new Array(raws.length);
    const checked: Array<{ i: number; env: Envelope; type: TxType; body: unknown }> = [];
    const nowSecs = Math.floor(Date.now() / 1000);
    raws.forEach((raw, i) => {
      try {
        const env = parseEnvelope(raw);
        const tx = env.tx;
        if (tx.chain !== this.params.chain) fail('wrong_chain', `this node runs chain "${this.params.chain}", not "${tx.chain}"`);
        const type = this.txTypes.get(tx.type);
        if (!type) fail('unknown_type', `unknown transaction type "${tx.type}"`, { details: { known: [...this.txTypes.keys()] } });
        if (tx.expires < nowSecs) fail('expired', 'the transaction has expired', { status: 409 });
        if (tx.expires > nowSecs + limits.txLifetimeSecsMax) fail('expires_too_far', `expires may be at most ${limits.txLifetimeSecsMax} s ahead`);
        checked.push({ i, env, type, body: type.parse(tx.body, this.params) });
      } catch (err) {
        results[i] = this.refuse(err);
      }
    });
    const verdicts = await this.pool.verify(checked.map((c) => c.env));
    checked.forEach((c, k) => {
      const verdict = verdicts[k]!;
      try {
        if (verdict.code === 'bad_signature') fail('bad_signature', 'the signature does not verify for this transaction and key', { status: 401 });
        if (verdict.code) fail(verdict.code, verdict.code === 'tx_too_large' ? `a transaction may be at most ${limits.txBytesMax} bytes` : 'invalid transaction');
        results[c.i] = this.admit(verdict.id, verdict.canonical!, c.env, c.type, c.body);
      } catch (err) {
        results[c.i] = this.refuse(err);
      }
    });
    if (checked.length > 0) this.sequencer.poke();
    return Promise.all(results as Array<SubmitResult | Promise<SubmitResult>>);
  }

  private admit(id: string, canonical: string, env: Envelope, type: TxType, body: unknown): SubmitResult | Promise<SubmitResult> {
    // A batch whose signatures were being checked when shutdown began must not slip into a
    // mempool that nobody will sequence any more.
    if (this.stopping) fail('node_stopping', 'the node is shutting down; retry against it after restart', { status: 503 });
    const from = env.tx.from;
    const auth = this.queryCtx.state.get<AuthRecord>(authKey(from));
    if (!auth) {
      if (!type.opensAccount) fail('account_not_found', `no account ${from}; register it first`, { status: 404 });
      if (accountIdFromPub(env.pub) !== from) fail('account_mismatch', 'tx.from is not the account id of this public key', { status: 401 });
      assertStrongPublicKey(env.pub);
    } else if (auth.pub !== env.pub) {
      fail('wrong_key', 'this public key does not belong to the account', { status: 401 });
    }
    return new Promise<SubmitResult>((resolve) => {
      const pending: PendingTx = {
        id, env, canonical, body,
        resolve: (r) => resolve(r),
        reject: (err) => resolve(this.refuse(err)),
      };
      try {
        this.mempool.admit(pending, auth?.nonce ?? 0);
        this.stats.txsAccepted++;
      } catch (err) {
        // A retry of a transaction that already committed gets its receipt back; a retry
        // of one still pending waits for the same receipt.
        if (err instanceof TallyError && err.code === 'nonce_used') {
          const existing = this.tx(id);
          if (existing) return resolve(existing.receipt);
        }
        if (err instanceof TallyError && err.code === 'nonce_pending') {
          const twin = this.mempool.pendingAt(from, env.tx.nonce);
          if (twin && twin.id === id) {
            const [first, firstReject] = [twin.resolve, twin.reject];
            twin.resolve = (r) => { first(r); resolve(r); };
            twin.reject = (e) => { firstReject(e); resolve(this.refuse(e)); };
            return;
          }
        }
        resolve(this.refuse(err));
      }
    });
  }

  /** Key and next nonce of an account id; an id the chain has not seen has nonce 0. */
  auth(id: string): { id: string; pub: string | null; nonce: number; pending: number } {
    if (!ACCOUNT_ID.test(id)) fail('bad_params', 'id must be an account id (40 lowercase hex digits)');
    const rec = this.queryCtx.state.get<AuthRecord>(authKey(id));
    const committed = rec?.nonce ?? 0;
    const nonce = this.mempool.expectedNonce(id, committed);
    return { id, pub: rec?.pub ?? null, nonce, pending: nonce - committed };
  }

  query(name: string, params: Record<string, unknown>): unknown {
    const q = this.queries.get(name);
    if (!q) fail('unknown_query', `unknown query "${name}"`, { status: 404, details: { known: [...this.queries.keys()] } });
    return q.run(this.queryCtx, params);
  }

  queryNames(): Array<{ name: string; summary: string }> {
    return [...this.queries.values()].map((q) => ({ name: q.name, summary: q.summary }));
  }

  txTypeNames(): string[] {
    return [...this.txTypes.keys()];
  }

  tx(id: string): TxView | undefined {
    const row = this.store.tx(fromHex(id, 'transaction id', 32));
    return row ? txView(row) : undefined;
  }

  proof(id: string): ProofView | undefined {
    const row = this.store.tx(fromHex(id, 'transaction id', 32));
    if (!row) return undefined;
    // HOOK(fix/heavy-reads): O(log n) from the block cache; the leaves are read only on a miss.
    const { leaf, proof } = this.blockCache.proof(row.height, row.idx,
      () => this.store.blockTxs(row.height).map((r) => leafHash(receiptLeafBytes(txView(r).receipt))));
    return { receipt: txView(row).receipt, leaf, proof, block: this.block(row.height)! };
  }

  block(height: number): SignedBlock | undefined {
    const row = this.store.block(height);
    return row ? { hash: row.hash, header: JSON.parse(row.header) as BlockHeader, sig: row.sig } : undefined;
  }

  /** Parsed once per block and shared (deep-frozen): callers must not modify them. */
  blockTxViews(height: number): readonly TxView[] {
    // HOOK(fix/heavy-reads): full blocks come from the block cache.
    return this.blockCache.fullTxs(height, () => {
      const rows = this.store.blockTxs(height);
      return { txs: rows.map(txView), textBytes: rows.reduce((n, r) => n + r.env.length + r.events.length, 0) };
    });
  }

  blockTxIds(height: number): string[] {
    return this.store.blockTxs(height).map((r) => r.id.toString('hex'));
  }

  info() {
    const tip = this.tip;
    return {
      chain: this.params.chain,
      decimals: this.params.decimals,
      genesisHash: this.params.genesisHash,
      nodeKey: this.signer.pub,
      height: tip.height,
      tipHash: tip.hash,
      mempool: this.mempool.size,
      modules: this.modules.map((m) => m.name),
      txTypes: this.txTypeNames(),
      queries: [...this.queries.keys()],
    };
  }

  private stopping = false;
  private services: ModuleService[] = [];

  /** Start every module's background services (TallyModule.services); returns their info by module. close() stops them. */
  async startServices(options: { configs?: ReadonlyMap<string, unknown>; flags?: Record<string, unknown>; log?: (line: string) => void } = {}): Promise<Record<string, Record<string, unknown>>> {
    const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
    const infos: Record<string, Record<string, unknown>> = {};
    for (const m of this.modules) {
      if (!m.services) continue;
      const service = await m.services({
        node: this, store: this.store, dataDir: this.paths.dir, signer: this.signer, log,
        nextNonce: (accountId) => this.auth(accountId).nonce,
        config: options.configs?.get(m.name), flags: options.flags ?? {},
      });
      this.services.push(service);
      if (service.info) infos[m.name] = service.info;
    }
    return infos;
  }

  /** Stop the module services (before draining: they may still submit). */
  async stopServices(): Promise<void> {
    const running = this.services.reverse();
    this.services = [];
    for (const s of running) await Promise.resolve(s.stop()).catch(() => undefined);
  }

  /** Stop admitting, and commit (and acknowledge) everything already admitted. */
  drain(): void {
    this.stopping = true;
    this.sequencer.flush();
  }

  async close(): Promise<void> {
    await this.stopServices();
    this.drain();
    this.sequencer.stop();
    await this.pool.close();
    this.store.close();
    this.releaseLock();
  }
}

export function txView(row: TxRow): TxView {
  const receipt: Receipt = {
    id: row.id.toString('hex'),
    height: row.height,
    index: row.idx,
    status: row.status as Receipt['status'],
    events: JSON.parse(row.events) as TxEvent[],
  };
  if (row.code !== null) receipt.code = row.code;
  return { id: receipt.id, envelope: JSON.parse(row.env) as Envelope, receipt };
}
