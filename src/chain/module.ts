// The chain part of a module: what every node re-executes. A module declares its
// transaction types, block hooks, queries, genesis section, invariants and a keeper (the
// narrow interface other modules may call). Everything here is deterministic: it sees the
// parent state, the block's header fields and the transactions, nothing else. The app
// part (routes, CLI, services, config, feeds) is declared apart, in app-module.ts.
import type { Envelope, Receipt, Tx, TxEvent } from './envelope.js';
import type { StateReader, StateView } from './state.js';

export interface ChainParams {
  chain: string;
  decimals: number;
  genesisHash: string;
  /** The module's own genesis section (validated by the module). */
  moduleGenesis: (module: string) => unknown;
}

/** Read-only view of the core's account keys and nonces. */
export interface AccountKeys {
  /** The account's public key, if the chain has seen it. */
  pubOf(accountId: string): string | undefined;
  /** The account's next nonce as committed (0 for an unseen account). */
  nonceOf(accountId: string): number;
}

/** What a block hook and a transaction share: the block's fields and the module's state. */
export interface BlockContext {
  /** The module's state, confined to its key prefix ("<name>/"). */
  state: StateView;
  params: ChainParams;
  height: number;
  /** Block time, unix milliseconds (from the header; never the wall clock). */
  timeMs: number;
  accounts: AccountKeys;
  /** The keeper of a module this one `requires`: the only way to act on another module. */
  keeper<K>(module: ChainModule<K>): K;
}

export interface TxContext extends BlockContext {
  /** Position of this transaction in its block. */
  index: number;
  id: string;
  tx: Tx;
  pub: string;
}

/**
 * Admission: the committed state (not the mempool) and the node's clock, before the
 * signature is checked — so admit() must only read, and never trust tx.from.
 */
export interface AdmitContext {
  state: StateReader;
  params: ChainParams;
  accounts: AccountKeys;
  tx: Tx;
  pub: string;
  /** whether the chain has seen the sender's key */
  known: boolean;
  /** the wall clock at admission, unix ms */
  nowMs: number;
}

export interface TxType<Body = unknown> {
  /** "module.action" */
  type: string;
  /** May be sent by an account the chain has not seen yet (registration). */
  opensAccount?: boolean;
  /** Static checks on the body, at admission and in the executor. Throw TallyError to refuse. */
  parse(body: Record<string, unknown>, params: ChainParams): Body;
  /**
   * Optional admission check against committed state, for what cannot succeed and would
   * otherwise be recorded as a failed transaction (a stranger registering on a closed
   * chain). Runs before the signature check (refusing is cheap and writes nothing).
   * Throw TallyError to refuse: nothing is queued, nothing is written.
   */
  admit?(ctx: AdmitContext, body: Body): void;
  /** Apply against state. Throw TallyError to fail the transaction (its writes are dropped, its nonce is used). */
  apply(ctx: TxContext, body: Body): TxEvent[];
}

export interface ModuleGenesis {
  /** Validate the module's genesis section and fill in defaults; throw TallyError if invalid. */
  validate(section: unknown, chain: { decimals: number }): unknown;
  /** Write the initial state (the module's own prefix; genesis accounts' keys through `openAccount`). */
  init(ctx: GenesisContext, section: unknown): void;
  /** A default section for `tally init` and dev nodes. */
  defaults(options: { dev: boolean; decimals: number }): unknown;
  /**
   * The section that starts a new chain from this one's committed state (`tally chain
   * export-genesis`): what a genesis can carry of it. Says in its doc what it leaves out.
   */
  export?(ctx: { state: StateReader; params: ChainParams; accounts: AccountKeys }, section: unknown): unknown;
}

export interface GenesisContext {
  state: StateView;
  params: ChainParams;
  /** Give a genesis account its key (the core's auth record, nonce 0). */
  openAccount(accountId: string, pub: string): void;
}

export interface QueryContext {
  /** Committed state, confined to the module's prefix. */
  state: StateReader;
  params: ChainParams;
  accounts: AccountKeys;
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
  store: import('../store/sqlite.js').SqliteStore;
  tx(id: string): import('./reads.js').TxView | undefined;
  proof(id: string): import('./reads.js').ProofView | undefined;
  block(height: number): import('./blocks.js').SignedBlock | undefined;
  /** Replay the whole chain from a consistent snapshot and compare with the stored state. */
  verify(): Promise<import('./report.js').VerifyReport>;
}

export interface Query {
  /** "module.name" */
  name: string;
  summary: string;
  /** May return a promise (a query that replays the chain, say). */
  run(ctx: QueryContext, params: Record<string, unknown>): unknown;
}

export interface ChainModule<Keeper = unknown> {
  /** Also the state prefix: "<name>/". */
  name: string;
  /** Modules whose keepers this one calls; they run their hooks first. */
  requires?: string[];
  txTypes: TxType[];
  queries: Query[];
  genesis?: ModuleGenesis;
  /** Before the block's transactions (e.g. expiries). Returns block-level events. */
  beginBlock?(ctx: BlockContext): TxEvent[] | void;
  /** After the block's transactions (funding, liquidation, settlement, tallies). */
  endBlock?(ctx: BlockContext): TxEvent[] | void;
  /**
   * A consensus limit the module sets from committed state (the parent's): the most
   * transactions the next block may hold (governance's maxBlockTxs). Proposers stop there,
   * validators refuse a proposal past it, and `tally chain verify` reports a block past it.
   */
  blockTxCountMax?(state: StateReader): number;
  /** The narrow interface other modules may call, bound to this module's state and to the calling module's name. */
  keeper?(ctx: BlockContext, caller: string): Keeper;
  /**
   * Whole-state invariants (e.g. balances sum to zero), checked by `tally chain verify`
   * on the replayed state and on the stored one. Gets every state entry; returns a
   * message per violation.
   */
  invariants?: (entries: Iterable<[string, string]>, params: ChainParams) => string[];
}

export type { Envelope, Receipt, Tx, TxEvent };
