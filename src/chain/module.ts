// The module boundary. A module declares its transaction types (parse + apply), its
// queries, its genesis section, its tables, its HTTP routes and its CLI commands; the
// core knows nothing module-specific beyond this interface.
import type { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Signer } from '../core/keys.js';
import type { Migration } from '../store/migrations.js';
import type { SqliteStore } from '../store/sqlite.js';
import type { Envelope, Receipt, Tx, TxEvent } from './envelope.js';
import type { StateReader, StateView } from './state.js';
import type { SignedBlock } from './blocks.js';
import type { ProofView, TallyNode, TxView } from './node.js';
import type { VerifyReport } from './replay.js';

export interface ChainParams {
  chain: string;
  decimals: number;
  genesisHash: string;
  /** The module's own genesis section (validated by the module). */
  moduleGenesis: (module: string) => unknown;
}

export interface TxContext {
  state: StateView;
  params: ChainParams;
  height: number;
  /** Position of this transaction in its block. */
  index: number;
  /** Block time, unix milliseconds. */
  timeMs: number;
  id: string;
  tx: Tx;
  pub: string;
}

export interface TxType<Body = unknown> {
  /** "module.action" */
  type: string;
  /** May be sent by an account the chain has not seen yet (registration). */
  opensAccount?: boolean;
  /** Static checks on the body, run before the transaction is admitted. Throw TallyError to refuse. */
  parse(body: Record<string, unknown>, params: ChainParams): Body;
  /** Apply against state. Throw TallyError to fail the transaction (its writes are dropped, its nonce is used). */
  apply(ctx: TxContext, body: Body): TxEvent[];
  // HOOK(fix/ledger-tickets): optional check at admission against the committed state, run
  // after parse and before the signature is checked (so it must only read, never trust
  // tx.from); throw TallyError to refuse what cannot succeed: it changes nothing.
  admit?(ctx: AdmitContext, body: Body): void;
}

/** What TxType.admit sees: committed state (not the mempool) and the node's clock. */
export interface AdmitContext {
  state: StateReader;
  params: ChainParams;
  tx: Tx;
  pub: string;
  nowMs: number;
}

export interface QueryContext {
  state: StateReader;
  params: ChainParams;
  /** Account nonce as the chain has committed it. */
  committedNonce(accountId: string): number | undefined;
  /** The node's stored history, for queries that read more than the current state. */
  chain: ChainReader;
  /**
   * A query signed by an account (params.auth, see src/chain/query-auth.ts): checks the
   * signature and freshness and returns the account id. Throws query_auth_* if not.
   */
  authenticate(name: string, params: Record<string, unknown>): string;
}

/** Read access to committed history (blocks, transactions, proofs, module index tables). */
export interface ChainReader {
  store: SqliteStore;
  tx(id: string): TxView | undefined;
  proof(id: string): ProofView | undefined;
  block(height: number): SignedBlock | undefined;
  /** Replay the whole chain from a consistent snapshot and compare with the stored state. */
  verify(): Promise<VerifyReport>;
}

export interface Query {
  /** "module.name" */
  name: string;
  summary: string;
  /** May return a promise (a query that replays the chain, say). */
  run(ctx: QueryContext, params: Record<string, unknown>): unknown;
}

/** One committed transaction, as an index sees it. */
export interface IndexedTx {
  /** position in the chain: height * 4096 + index (the txs table key) */
  seq: number;
  id: string;
  tx: Tx;
  receipt: Receipt;
}

/**
 * An off-chain index over committed transactions (an account's history, say), kept in the
 * module's own tables. index() runs inside the block's storage transaction, so the index
 * never lags or leads the chain; a node whose index is behind (a new index on an old
 * chain) replays the stored blocks into it at start.
 */
export interface BlockIndexer {
  index(block: { height: number; timeMs: number }, txs: IndexedTx[]): void;
  /** The storage transaction that ran the last index() committed (memory may follow it now). */
  committed?(): void;
}

export interface ModuleGenesis {
  /** Validate the module's genesis section and fill in defaults; throw TallyError if invalid. */
  validate(section: unknown, chain: { decimals: number }): unknown;
  /** Write the initial state. */
  init(state: StateView, section: unknown, params: ChainParams): void;
  /** A default section for `tally init` and dev nodes. */
  defaults(options: { dev: boolean; decimals: number }): unknown;
}

/** What a module's routes and CLI commands can ask of a running node or a client. */
export interface NodeHandle {
  params: ChainParams;
  submit(envelopes: unknown[]): Promise<SubmitResult[]>;
  query(name: string, params: Record<string, unknown>): unknown;
  /** The node's open database, for module tables that are off-chain service state (absent in clients). */
  readonly store?: SqliteStore;
}

export type SubmitResult = Receipt | { error: { code: string; message: string; details?: Record<string, unknown>; hint?: string }; status: number };

export interface CliContext {
  /** Build, sign and submit one transaction of this type; resolves with its receipt. */
  submitTx(type: string, body: Record<string, unknown>, options: Record<string, unknown>): Promise<Receipt>;
  query(name: string, params: Record<string, unknown>, options: Record<string, unknown>): Promise<unknown>;
  /** Call a node method (node.info, tx.get, query, ...) on the node the options point at. */
  call(method: string, params: Record<string, unknown>, options: Record<string, unknown>): Promise<unknown>;
  /** The --key signer, after asking for (or reading) its passphrase: for signing offline things. */
  signer(options: Record<string, unknown>): Promise<Signer & { id: string }>;
  /** A query signed by the --key account (for queries that answer by role, like an audit). */
  signedQuery(name: string, params: Record<string, unknown>, options: Record<string, unknown>): Promise<unknown>;
  /** Print a result: JSON with --json, else the human renderer. */
  output(options: Record<string, unknown>, value: unknown, human: (value: unknown) => string): void;
  /** The account id of the signing key (--key), without asking for its passphrase. */
  currentAccountId(options: Record<string, unknown>): string;
  /** Add the flags every client command understands (--node, --home, --key, --json). */
  clientOptions(command: Command): Command;
}

/** What `tally node` gives a module's background services (see TallyModule.services). */
export interface ServiceContext {
  /** The running node (store, events, queries, submit). */
  node: TallyNode;
  /** The node's open database. */
  store: SqliteStore;
  dataDir: string;
  /** The node's key, for transactions the node makes itself (e.g. notary anchors). */
  signer: Signer;
  /** Next nonce of an account, counting its transactions still in the mempool. */
  nextNonce(accountId: string): number;
  /** The module's section of the node config file, as its `config.validate` returned it; undefined if absent. */
  config: unknown;
  /** The options `tally node` was started with (a module reads the flags it declared in `nodeOptions`). */
  flags: Record<string, unknown>;
  /** One line for the operator, on stderr (also under --json, whose stdout carries only JSON). */
  log(line: string): void;
}

/** A running background service; stop() finishes or hands back its work. `info` is shown in the listening line. */
export interface ModuleService {
  stop(): Promise<void> | void;
  info?: Record<string, unknown>;
}

/** The module's section of the node config file (`<data>/config.json`). */
export interface ModuleConfig {
  /** Validate the section and fill in defaults; throw TallyError('config_invalid', ...) with the option's path. */
  validate(section: unknown): unknown;
}

export interface TallyModule {
  name: string;
  txTypes: TxType[];
  queries: Query[];
  migrations?: Migration[];
  genesis?: ModuleGenesis;
  routes?: (app: FastifyInstance, node: NodeHandle) => void;
  cli?: (program: Command, cli: CliContext) => void;
  /**
   * Whole-state invariants (e.g. balances sum to zero), checked by `tally chain verify`
   * on the replayed state and on the stored one. Returns a message per violation.
   */
  invariants?: (entries: Iterable<[string, string]>, params: ChainParams) => string[];
  /** Build the module's block indexer over the node's store (prepared statements made once). */
  indexer?: (store: SqliteStore) => BlockIndexer;
  /** The module's section of the node config file. */
  config?: ModuleConfig;
  /** Extra `tally node` flags, [flags, description] as commander takes them; read back in ServiceContext.flags. */
  nodeOptions?: Array<[string, string]>;
  /**
   * Background work the node runs while it is up (watchers, signing threads, extra
   * listeners): started by `tally node` after the node opens, stopped first on shutdown
   * (before the mempool drains: a service may still submit).
   */
  services?: (ctx: ServiceContext) => ModuleService | Promise<ModuleService>;
  /** Operator routes on the internal listener (loopback); `metrics` is its Prometheus registry. */
  internalRoutes?: (app: FastifyInstance, node: NodeHandle, ctx: { metrics: Registry }) => void;
}

export type { Envelope, Receipt, Tx, TxEvent };
