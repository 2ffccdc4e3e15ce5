// An in-process chain for tests: genesis, the one executor over a MemoryState, blocks
// signed with a test node key and kept in memory, and a ChainSource over them so
// `verifyChain` can replay what the harness built. No store, no sockets, no workers: the
// modules are a parameter (the chain layer never imports them).
//
// executeBlock assumes its transactions' signatures were checked (the verifier pool does
// that before it). The harness checks each envelope's shape, size and signature itself,
// synchronously, with the same functions, and refuses (throws) an envelope that the pool
// would refuse: what reaches the executor here is what reaches it in a node.
import crypto from 'node:crypto';
import { assert, fail } from '../../core/errors.js';
import { accountIdFromPub, signerFromPrivateKey, verifySignature, type Signer } from '../../core/keys.js';
import { hashText } from '../../core/hash.js';
import { utf8 } from '../../core/encoding.js';
import { limits } from '../../core/limits.js';
import { lastCommitHashAfter, singleValidator, validatorsHash, type HeaderVersion } from '../../core/header.js';
import { leafHash, merkleRoot } from '../../core/merkle.js';
import { blockHash, signHeader, type SignedBlock } from '../blocks.js';
import { parseEnvelope, receiptLeafBytes, signingText, signTx, txId, type Envelope, type Receipt, type Tx } from '../envelope.js';
import { executeBlock, type BlockResult } from '../execute.js';
import { validateGenesis, type Genesis } from '../genesis.js';
import { chainParams, genesisBlockParts } from '../genesis-block.js';
import { Kernel, accountKeys } from '../kernel.js';
import type { ChainModule } from '../module.js';
import type { TxView } from '../reads.js';
import type { ChainSource } from '../replay.js';
import { decodeValue, MemoryState, type Writes } from '../state.js';
import { MemoryTree } from '../state-tree/memory.js';
import { buildTree } from '../state-tree/stored.js';

/** Genesis time of every test chain unless overridden (fixed: tests are reproducible). */
export const TEST_GENESIS_TIME = 1_700_000_000_000;
/** Default step between blocks, ms. */
export const TEST_BLOCK_STEP_MS = 1000;

export interface TestAccount {
  label: string;
  signer: Signer;
  pub: string;
  id: string;
  /** next nonce the harness will use for this account's transactions */
  nonce: number;
}

/** A deterministic key for a label: the same label gives the same account in every run. */
export function testAccount(label: string): TestAccount {
  return accountFromSeed(Buffer.from(hashText(`tally/test-key/${label}`)).subarray(0, 32), label);
}

/** The account of a 32-byte Ed25519 seed (RFC 8032 private key). */
export function accountFromSeed(seed: Uint8Array, label = 'seeded'): TestAccount {
  assert(seed.length === 32, 'an Ed25519 seed is 32 bytes');
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  const signer = signerFromPrivateKey(crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  return { label, signer, pub: signer.pub, id: accountIdFromPub(signer.pub), nonce: 0 };
}

export interface GenesisOverrides {
  chain?: string;
  time?: number;
  decimals?: number;
  /** module sections, validated by the modules as `tally init` would */
  modules?: Record<string, unknown>;
}

export interface TxOptions {
  /** default: the account's next nonce (which then advances) */
  nonce?: number;
  /** unix seconds; default: an hour after the tip's time */
  expires?: number;
  chain?: string;
  /** sign with this key instead of the account's own (tx.from stays the account's) */
  signer?: Signer;
}

/** One committed block with what a store would hold for it. */
export interface ChainEntry {
  block: SignedBlock;
  txs: TxView[];
  writes: Writes;
}

export interface BlockOutcome {
  /** undefined when the rules excluded every transaction: no block was made */
  block: SignedBlock | undefined;
  receipts: Receipt[];
  /** transactions the block rules kept out, by input index, with the executor's code */
  excluded: Array<{ input: number; code: string }>;
  result: BlockResult;
}

export interface TestChainOptions {
  /**
   * The first height whose header is version 2 (the state tree); blocks below it follow
   * the version 1 rule, as a chain made before the tree did (default 0: all version 2).
   */
  stateTreeFrom?: number;
  /**
   * The first height whose header is version 3 (validatorsHash, lastCommitHash); blocks
   * from stateTreeFrom below it are version 2 (default: stateTreeFrom, as a node upgraded today).
   */
  commitsFrom?: number;
  /** heights behind the tip that keep state proofs (default 16) */
  keepVersions?: number;
}

export class TestChain {
  readonly kernel: Kernel;
  readonly state = new MemoryState();
  readonly entries: ChainEntry[] = [];
  /** the state tree, once the chain is at version 2 (proofs at the kept heights) */
  tree: MemoryTree | undefined;
  private readonly stateTreeFrom: number;
  private readonly commitsFrom: number;
  private readonly keepVersions: number;
  /** height of the block that last wrote each key (what a store keeps beside the value) */
  private readonly writtenAt = new Map<string, number>();

  constructor(readonly modules: readonly ChainModule[], readonly genesis: Genesis, readonly nodeKey: TestAccount, options: TestChainOptions = {}) {
    this.kernel = new Kernel(modules, chainParams(genesis));
    this.stateTreeFrom = options.stateTreeFrom ?? 0;
    this.commitsFrom = Math.max(options.commitsFrom ?? this.stateTreeFrom, this.stateTreeFrom);
    this.keepVersions = options.keepVersions ?? 16;
    const parts = genesisBlockParts(genesis, this.kernel, nodeKey.pub, this.versionAt(0));
    if (parts.tree) {
      this.tree = new MemoryTree(this.keepVersions);
      this.tree.apply(parts.tree);
    }
    this.commit(signHeader(parts.header, nodeKey.signer), [], parts.writes);
  }

  /** The header version of the block at `height` (TestChainOptions). */
  versionAt(height: number): HeaderVersion {
    return height < this.stateTreeFrom ? 1 : height < this.commitsFrom ? 2 : 3;
  }

  get tip(): SignedBlock {
    return this.entries[this.entries.length - 1]!.block;
  }

  get height(): number {
    return this.tip.header.height;
  }

  get time(): number {
    return this.tip.header.time;
  }

  /** A signed transaction from `from` (its nonce advances unless one is given). */
  tx(from: TestAccount, type: string, body: Record<string, unknown>, options: TxOptions = {}): Envelope {
    const nonce = options.nonce ?? from.nonce++;
    const tx: Tx = {
      chain: options.chain ?? this.genesis.chain,
      type,
      from: from.id,
      nonce,
      expires: options.expires ?? Math.floor(this.time / 1000) + 3600,
      body,
    };
    return signTx(tx, options.signer ?? from.signer);
  }

  /** Run the executor on the next block without committing it. */
  execute(envs: readonly Envelope[], options: { time?: number } = {}): BlockResult {
    const exec = envs.map((env) => ({ id: verified(env), env }));
    const height = this.height + 1;
    let tree = this.tree;
    if (!tree && height >= this.stateTreeFrom) {
      // The switch of a version 1 chain: the tree of the state at the tip (kept once committed).
      tree = new MemoryTree(this.keepVersions);
      tree.apply(buildTree(this.state.map.entries(), this.height));
    }
    const result = executeBlock({
      get: (k) => this.state.get(k), range: (p, a, l) => this.state.range(p, a, l), stateRoot: this.tip.header.stateRoot,
      ...(tree ? { tree: { reader: tree, version: tree.tip } } : {}),
    }, { height, time: options.time ?? this.time + TEST_BLOCK_STEP_MS }, exec, this.kernel);
    if (tree && !this.tree) this.pendingTree = tree;
    return result;
  }

  /** a tree built for the switch by execute(), adopted when its block commits */
  private pendingTree: MemoryTree | undefined;

  /**
   * Execute, sign and commit the next block, as the proposer does: a block after genesis
   * holds at least one transaction, so when the rules exclude every one (or none is given)
   * the block is executed (its hooks run) but nothing is committed.
   */
  block(envs: readonly Envelope[], options: { time?: number } = {}): BlockOutcome {
    const time = options.time ?? this.time + TEST_BLOCK_STEP_MS;
    const result = this.execute(envs, { time });
    const excluded = result.excluded.map((e) => ({ input: e.input, code: e.error.code }));
    const included = result.included.map((i) => envs[i]!);
    if (included.length === 0) return { block: undefined, receipts: [], excluded, result };
    const version = this.versionAt(this.height + 1);
    assert((version >= 2) === (result.version === 2), 'the executor followed the state tree rule of this height');
    const block = signHeader({
      ...(version >= 2 ? { version: version as 2 | 3 } : {}),
      chain: this.genesis.chain,
      height: this.height + 1,
      prevHash: this.tip.hash,
      time,
      txRoot: result.txRoot,
      stateRoot: result.stateRoot,
      txCount: included.length,
      proposer: this.nodeKey.pub,
      ...(version === 3 ? { validatorsHash: validatorsHash(singleValidator(this.nodeKey.pub)), lastCommitHash: lastCommitHashAfter(this.tip) } : {}),
    }, this.nodeKey.signer);
    const txs = included.map((env, i) => ({ id: result.receipts[i]!.id, envelope: structuredClone(env), receipt: structuredClone(result.receipts[i]!) }));
    if (result.tree) {
      if (!this.tree) this.tree = this.pendingTree;
      this.tree!.apply(result.tree);
    }
    this.commit(block, txs, result.writes);
    return { block, receipts: result.receipts, excluded, result };
  }

  /** A committed state value (deep-frozen, as modules see it). */
  get<T = unknown>(key: string): T | undefined {
    const raw = this.state.get(key);
    return raw === undefined ? undefined : decodeValue<T>(raw);
  }

  /** Committed entries under a prefix, in key order, as raw canonical JSON (what invariants take). */
  raw(prefix = ''): Array<[string, string]> {
    return this.state.range(prefix, undefined, Number.MAX_SAFE_INTEGER);
  }

  /** Every module's invariant violations on the committed state (none expected). */
  invariants(): string[] {
    return this.modules.flatMap((m) => (m.invariants?.(this.raw(), this.kernel.params) ?? []).map((msg) => `${m.name}: ${msg}`));
  }

  /** The core's record of an account's key and nonce. */
  accounts() {
    return accountKeys({ get: (k) => this.get(k), entries: () => [] });
  }

  /** A ChainSource over a deep copy of this chain: tamper with it freely. */
  source(): MemorySource {
    return new MemorySource(
      structuredClone(this.genesis),
      this.entries.map((e) => ({ block: structuredClone(e.block), txs: structuredClone(e.txs) })),
      new Map([...this.state.map].map(([k, v]) => [k, { v, h: this.writtenAt.get(k)! }])),
      this.nodeKey.signer,
    );
  }

  private commit(block: SignedBlock, txs: TxView[], writes: Writes): void {
    this.state.apply(writes);
    for (const [k, v] of writes) {
      if (v === null) this.writtenAt.delete(k);
      else this.writtenAt.set(k, block.header.height);
    }
    this.entries.push({ block, txs, writes });
  }
}

/** The checks the verifier pool makes before the executor; the transaction's id. */
function verified(env: Envelope): string {
  parseEnvelope(env);
  const text = signingText(env.tx);
  if (utf8.encode(text).length > limits.txBytesMax) fail('tx_too_large', `a transaction may be at most ${limits.txBytesMax} bytes`);
  if (!verifySignature(env.pub, utf8.encode(text), env.sig)) fail('bad_signature', 'the signature does not verify for this transaction and key');
  return txId(env.tx);
}

export function createTestChain(modules: readonly ChainModule[], overrides: GenesisOverrides = {}, nodeKey = testAccount('node'), options: TestChainOptions = {}): TestChain {
  const genesis = validateGenesis({
    chain: overrides.chain ?? 'test',
    time: overrides.time ?? TEST_GENESIS_TIME,
    decimals: overrides.decimals ?? 6,
    modules: overrides.modules ?? {},
  }, modules);
  return new TestChain(modules, genesis, nodeKey, options);
}

/** The Merkle root the header commits to for these receipts. */
export function txRootOf(receipts: readonly Receipt[]): string {
  return merkleRoot(receipts.map((r) => leafHash(receiptLeafBytes(r))));
}

/**
 * A chain in memory, as a store or a remote node would serve it. Its fields are plain
 * data for tests to tamper with; seal() and relinkAfter() re-sign what was changed, the
 * way a dishonest node would, so that a test isolates the one check it targets.
 */
export class MemorySource implements ChainSource {
  constructor(
    public genesisDoc: Genesis,
    public blocks: Array<{ block: SignedBlock; txs: TxView[] }>,
    /** stored state: key -> canonical value and the height that last wrote it; undefined = an online source */
    public state: Map<string, { v: string; h: number }> | undefined,
    private readonly signer: Signer,
  ) {}

  async genesis(): Promise<Genesis> {
    return structuredClone(this.genesisDoc);
  }

  async tipHeight(): Promise<number> {
    return this.blocks.length - 1;
  }

  async block(height: number): Promise<SignedBlock> {
    const b = this.blocks[height];
    assert(b, `no block ${height}`);
    return structuredClone(b.block);
  }

  async blockTxs(height: number): Promise<TxView[]> {
    const b = this.blocks[height];
    assert(b, `no block ${height}`);
    return structuredClone(b.txs);
  }

  get storedState(): (() => Iterable<{ k: string; v: string; h: number }>) | undefined {
    const state = this.state;
    if (!state) return undefined;
    return () => [...state].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, { v, h }]) => ({ k, v, h }));
  }

  header(height: number) {
    return this.blocks[height]!.block.header;
  }

  /** Re-hash and re-sign block `height` as it now is (by `signer`, default the node key). */
  seal(height: number, signer: Signer = this.signer): void {
    const b = this.blocks[height]!;
    b.block = signHeader({ ...b.block.header, proposer: signer.pub }, signer);
    assert(b.block.hash === blockHash(b.block.header));
  }

  /** Point every block after `height` at its predecessor's stored hash (and commit) again, and re-sign it. */
  relinkAfter(height: number): void {
    for (let h = height + 1; h < this.blocks.length; h++) {
      const header = this.blocks[h]!.block.header;
      header.prevHash = this.blocks[h - 1]!.block.hash;
      if (header.version === 3) header.lastCommitHash = lastCommitHashAfter(this.blocks[h - 1]!.block);
      this.seal(h);
    }
  }

  /** seal(height) then relinkAfter(height). */
  reseal(height: number, signer?: Signer): void {
    this.seal(height, signer);
    this.relinkAfter(height);
  }

  /** Replace a stored transaction's envelope (and its id in the receipt), keeping its position. */
  replaceTx(height: number, index: number, env: Envelope): void {
    const t = this.blocks[height]!.txs[index]!;
    const id = txId(env.tx);
    t.id = id;
    t.envelope = structuredClone(env);
    t.receipt.id = id;
  }
}

/**
 * An account whose key is the identity point (small order): OpenSSL accepts its one
 * "signature" (R = identity, s = 0) for every message, so it passes the verifier pool and
 * only the executor's weak_key rule keeps it out.
 */
/**
 * Whether this Node's OpenSSL accepts the weak account's forged signature. OpenSSL 3.0
 * (Node 20, 22) does; the OpenSSL of Node 24 refuses small-order keys itself, so there the
 * forgery already fails as `bad_signature` and `weak_key` is the second line of defence.
 */
export function opensslAcceptsWeakKeys(): boolean {
  const weak = weakAccount();
  return verifySignature(weak.pub, utf8.encode('x'), weak.signer.sign(utf8.encode('x')));
}

export function weakAccount(): TestAccount {
  const identity = Buffer.alloc(32);
  identity[0] = 1;
  const pub = identity.toString('base64url');
  const sig = Buffer.concat([identity, Buffer.alloc(32)]).toString('base64url');
  const signer: Signer = { pub, sign: () => sig };
  return { label: 'weak', signer, pub, id: accountIdFromPub(pub), nonce: 0 };
}
