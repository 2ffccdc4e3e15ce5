// The app part of a module: what a node process runs around the chain part — its own
// tables and block index, HTTP routes, CLI commands, background services, config section
// and WebSocket topics. None of it is consensus: two nodes may differ here and still agree
// on every block. A module is the pair {chain, app}.
import type { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Signer } from '../core/keys.js';
import type { Migration } from '../store/migrations.js';
import type { SqliteStore } from '../store/sqlite.js';
import type { Receipt, Tx, TxEvent } from './envelope.js';
import type { ChainModule, ChainParams } from './module.js';
import type { BlockCommitted } from './blocks.js';
import type { HealthProbes } from './health.js';
import type { TxView } from './reads.js';
import type { StateReader } from './state.js';

export interface TallyModule {
  name: string;
  chain: ChainModule;
  app: AppModule;
}

/** A committed block, as an index sees it. */
export interface IndexedBlock {
  height: number;
  timeMs: number;
  hookEvents?: TxEvent[];
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
  /**
   * `block.hookEvents`: the events of the block's beginBlock/endBlock hooks (fills made by
   * a liquidation, say), when the block was just executed; absent when an index catches up
   * from stored blocks (hook events are not stored).
   */
  index(block: IndexedBlock, txs: IndexedTx[]): void;
  /** The storage transaction that ran the index() calls since the last committed() or rolledBack() committed (memory may follow it now). */
  committed?(): void;
  /** That transaction rolled back: forget what those index() calls kept for committed(). */
  rolledBack?(): void;
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
  /** The keystore directory (--home, else $TALLY_HOME, else ~/.tally): for a module's own key files. */
  home(options: Record<string, unknown>): string;
  /** A passphrase: from `file` (first line of a 0600 file), else $envVar (default TALLY_PASSPHRASE), else the terminal; `confirm` asks twice. */
  passphrase(prompt: string, options: { file?: string; envVar?: string; confirm?: boolean }): Promise<string>;
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
  /** The data directory a command acting on a local node uses (--data, TALLY_DATA, or the default). */
  dataDir(options: Record<string, unknown>): string;
  /** Whether a --node/--api target is an HTTP(S) URL rather than a socket path. */
  isHttpTarget(target: string): boolean;
  /** A Fastify app set up as the node's public listener is (see ServiceContext), for a command that serves HTTP itself (`tally tickets serve`). */
  /**
   * For a service process without a node (`tally tickets serve`): its metrics registry
   * (process_*, nodejs_*, tally_build_info{service}, the HTTP histogram), observe(app,
   * listener) to time an app's requests into it, and costLimit(app, unitsPerMin): the
   * node's per-client rate limit (src/api/rate-limit.ts) on every request of `app`.
   */
  serviceProcess(service: string): { registry: Registry; observe(app: FastifyInstance, listener: string): void; costLimit(app: FastifyInstance, unitsPerMin: number): void };
  publicListener(options: { bodyBytesMax: number; connectionsMax: number; connectionsPerAddressMax: number }): FastifyInstance;
}

/** What a service sees of the running node. */
export interface ServiceNode extends NodeHandle {
  readonly store: SqliteStore;
  /** Committed chain state, every module's (read-only; app parts are not consensus). */
  readonly state: StateReader;
  readonly tip: { height: number; hash: string; time: number };
  blockTxViews(height: number): readonly TxView[];
  /** Warnings /health shows (the node stays healthy): a module that cannot work as configured. */
  readonly health: { warn(component: string, reason: string): void; clearWarning(component: string): void };
  /** 'block' (BlockCommitted) after each commit */
  on(event: 'block', listener: (e: BlockCommitted) => void): unknown;
  off(event: 'block', listener: (e: BlockCommitted) => void): unknown;
}

/** What `tally node` gives a module's background services (see AppModule.services). */
export interface ServiceContext {
  /** The running node (store, events, queries, submit). */
  node: ServiceNode;
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
  /**
   * A Fastify app set up as the public listener is (error replies with the same codes,
   * JSON bodies only, timeouts, connection caps; 0 = no per-address cap), for a module
   * that serves its routes on a listener of its own. The module registers routes and listens.
   */
  publicListener(options: { bodyBytesMax: number; connectionsMax: number; connectionsPerAddressMax: number }): FastifyInstance;
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

/**
 * A WebSocket topic a module serves on /v1/ws (?topic=NAME&...): for each committed block,
 * the message to send to one subscriber with these params, or undefined for nothing.
 * `parse` checks the subscription's params once (throw TallyError to refuse it).
 */
export interface WsTopic<P = unknown> {
  name: string;
  summary: string;
  parse(params: Record<string, string>): P;
  /** Called once per block per distinct params key; return a value to send, serialized once. */
  message(block: BlockCommitted, params: P): unknown;
  /** Subscribers with equal keys share one serialized message. */
  key(params: P): string;
}

export interface AppModule {
  migrations?: Migration[];
  /** Build the module's block indexer over the node's store (prepared statements made once). */
  indexer?: (store: SqliteStore) => BlockIndexer;
  routes?: (app: FastifyInstance, node: NodeHandle) => void;
  /** Operator routes on the internal listener (loopback); `metrics` is its Prometheus registry (name metrics tally_<module>_...), `health` takes probes /health reports. */
  internalRoutes?: (app: FastifyInstance, node: NodeHandle, ctx: { metrics: Registry; health: HealthProbes }) => void;
  cli?: (program: Command, cli: CliContext) => void;
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
  /** WebSocket topics this module serves. */
  wsTopics?: WsTopic[];
}
