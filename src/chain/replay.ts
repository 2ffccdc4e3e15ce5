// `tally chain verify`: replay the chain from genesis and recompute every transaction id,
// signature, receipt, Merkle root, state root, block hash, block signature and link, then
// compare the replayed state with the stored one. Works on a data directory (offline) or
// against a running node (online). A directory that started from a snapshot is replayed
// from the snapshot's height (replay-snapshot.ts), and the report says so.
import { canonicalJson } from '../core/canonical.js';
import { TallyError } from '../core/errors.js';
import { headerVersion, lastCommitHashAfter, singleValidator, validatorsHash, type CertifiedCommit } from '../core/header.js';
import { limits } from '../core/limits.js';
import type { BlockHeader, SignedBlock } from './blocks.js';
import { parseEnvelope, type Envelope } from './envelope.js';
import { executeBlock, type ExecTx } from './execute.js';
import { genesisHash, type Genesis } from './genesis.js';
import { chainParams, genesisBlockParts } from './genesis-block.js';
import { Kernel } from './kernel.js';
import type { ChainModule } from './module.js';
import { txView, type TxView } from './reads.js';
import { checkBlockSelf } from './replay-checks.js';
import { CommitChecks } from './replay-validators.js';
import { startAtSnapshot } from './replay-snapshot.js';
import { snapshotBaseOf, type SnapshotBase } from './snapshot-base.js';
import { decodeValue, MemoryState, type StateReader } from './state.js';
import { MemoryTree } from './state-tree/memory.js';
import { buildTree } from './state-tree/stored.js';
import type { VerifierPool } from './verifier.js';

export interface ChainSource {
  genesis(): Promise<Genesis>;
  tipHeight(): Promise<number>;
  block(height: number): Promise<SignedBlock>;
  blockTxs(height: number): Promise<TxView[]>;
  /** Stored state rows with the height that last wrote each (offline only). */
  storedState?(): Iterable<{ k: string; v: string; h: number }>;
  /** Offline: the snapshot the directory started from (undefined: it starts at genesis). */
  snapshotBase?(): SnapshotBase | undefined;
  /** A validator chain: the commit certificate stored for a block */
  commit?(height: number): Promise<CertifiedCommit | undefined>;
}

export type { VerifyIssue, VerifyReport, VerifyStart } from './report.js';
import type { VerifyIssue, VerifyReport, VerifyStart } from './report.js';

const ISSUES_MAX = 100;

export interface VerifyPins {
  /** the genesis document the verifier trusts (else: whatever the source says) */
  genesis?: Genesis;
  /** the node key the verifier trusts (else: whoever signed block 0) */
  nodeKey?: string;
}

export async function verifyChain(
  source: ChainSource,
  modules: readonly ChainModule[],
  pool: VerifierPool,
  onProgress: (height: number, tip: number) => void = () => {},
  pins: VerifyPins = {},
): Promise<VerifyReport> {
  const issues: VerifyIssue[] = [];
  const issue = (height: number, kind: string, message: string) => {
    if (issues.length < ISSUES_MAX) issues.push({ height, kind, message });
  };
  const genesis = await source.genesis();
  if (pins.genesis && genesisHash(pins.genesis) !== genesisHash(genesis)) {
    issue(0, 'genesis_mismatch', `the chain's genesis (${genesisHash(genesis)}) is not the pinned one (${genesisHash(pins.genesis)})`);
  }
  const params = chainParams(genesis);
  const kernel = new Kernel(modules, params);

  let state = new MemoryState();
  const tip = await source.tipHeight();
  const block0 = await source.block(0);
  // A chain made before the state tree starts with version 1 headers (no `version`), one
  // made before version 3 with version 2 ones.
  const version0 = headerVersion(block0.header);
  const parts = genesisBlockParts(genesis, kernel, block0.header.proposer, version0 === 1 || version0 === 2 ? version0 : 3);
  state.apply(parts.writes);
  // The state tree (tip version only): from block 0 on a version 2 chain, else built at the switch.
  let tree: MemoryTree | undefined;
  if (parts.tree) {
    tree = new MemoryTree(0, false);
    tree.apply(parts.tree);
  }

  // A validator chain: no node key; each block is checked against the set in force and its certificate.
  const commits = genesis.validators ? new CommitChecks(genesis.chain, source.commit ?? (async () => undefined), issue) : undefined;
  const nodeKey = pins.nodeKey ?? block0.header.proposer;
  // A single-operator chain's validator set: the node key alone, power 1 (what a version 3 header names).
  const validators = commits ? parts.header.validatorsHash! : validatorsHash(singleValidator(nodeKey));
  if (canonicalJson(parts.header) !== canonicalJson(block0.header)) issue(0, 'genesis_mismatch', 'block 0 does not match the genesis file');
  if (commits) commits.block0(block0);
  else checkBlockSelf(block0, nodeKey, issue);
  const version0Problem = versionProblem(block0.header, undefined);
  if (version0Problem) issue(0, 'bad_version', version0Problem);
  checkCommitFields(block0, undefined, nodeKey, validators, issue);
  if (block0.header.prevHash !== genesisHash(genesis)) issue(0, 'genesis_mismatch', 'block 0 does not link to the genesis hash');

  let prev = block0;
  let txCount = 0;
  let first = 1;
  let start: VerifyStart | undefined;
  const base = source.snapshotBase?.();
  if (base) {
    // Blocks 1 to H-1 are absent: start from the state at H, checked against block H.
    const block = await source.block(base.height);
    const at = startAtSnapshot(base, block, block0, genesis, nodeKey, issue);
    start = at.start;
    if (!at.replay) return report(issues, genesis.chain, tip, 0, 0, 0, start);
    ({ state, tree } = at.replay);
    prev = block;
    first = base.height + 1;
  }
  for (let height = first; height <= tip; height++) {
    const block = await source.block(height);
    const h = block.header;
    if (commits) await commits.block(block, prev, CommitChecks.setIn(state));
    else checkBlockSelf(block, nodeKey, issue);
    if (h.height !== height) issue(height, 'bad_height', `block says height ${h.height}`);
    if (h.chain !== genesis.chain) issue(height, 'wrong_chain', `block says chain ${h.chain}`);
    if (h.prevHash !== prev.hash) issue(height, 'broken_link', 'prevHash does not match the previous block hash');
    if (h.time < prev.header.time) issue(height, 'time_backwards', 'block time is earlier than the previous block');
    const problem = versionProblem(h, prev.header);
    if (problem) issue(height, 'bad_version', problem);
    if (!commits) checkCommitFields(block, prev, nodeKey, validators, issue);
    if ((h.version === 2 || h.version === 3) && !tree) {
      // The switch: the tree of the replayed state after the last version 1 block.
      tree = new MemoryTree(0, false);
      tree.apply(buildTree(state.map.entries(), height - 1));
    }

    const txs = await source.blockTxs(height);
    if (txs.length !== h.txCount) issue(height, 'tx_count', `header says ${h.txCount} transactions, store has ${txs.length}`);
    // (a validator chain makes a block every height, empty ones too)
    const most = kernel.blockTxCountMax(readerOf(state), limits.blockTxCountMax);
    if (h.txCount < (commits ? 0 : 1) || h.txCount > most) issue(height, 'tx_count', `a block after genesis holds ${commits ? 0 : 1} to ${most} transactions, this one ${h.txCount}`);
    txCount += txs.length;
    // Signatures and ids first (the verifier pool), then the one executor.
    const exec: ExecTx[] = [];
    const stored: TxView[] = [];
    const envs: Envelope[] = [];
    for (const t of txs) {
      try {
        envs.push(parseEnvelope(t.envelope));
        stored.push(t);
      } catch (err) {
        issue(height, 'bad_envelope', `transaction ${t.id}: ${(err as Error).message}`);
      }
    }
    const verdicts = await pool.verify(envs, kernel.mayOpenAccount);
    stored.forEach((t, i) => {
      const verdict = verdicts[i]!;
      if (verdict.id !== t.id) issue(height, 'tx_id_mismatch', `transaction at index ${t.receipt.index} hashes to ${verdict.id}, stored as ${t.id}`);
      if (verdict.code) issue(height, verdict.code, `transaction ${t.id}: ${verdict.code}`);
      exec.push({ id: t.id, env: envs[i]! });
    });
    const result = executeBlock({ ...stateSource(state), stateRoot: prev.header.stateRoot, ...(tree ? { tree: { reader: tree, version: tree.tip } } : {}) }, { height, time: h.time }, exec, kernel);
    for (const { input, error } of result.excluded) {
      issue(height, ruleIssueKind(error), `transaction ${exec[input]!.id} breaks a block rule: ${error.message}`);
    }
    result.included.forEach((input, index) => {
      const replayed = result.receipts[index]!;
      const t = stored[input]!;
      if (canonicalJson(replayed) !== canonicalJson(t.receipt)) {
        issue(height, 'receipt_mismatch', `transaction ${t.id}: replay gives ${replayed.status}${replayed.code ? ' ' + replayed.code : ''}, store says ${t.receipt.status}${t.receipt.code ? ' ' + t.receipt.code : ''} (or other event data differs)`);
      }
    });
    if (result.txRoot !== h.txRoot) issue(height, 'tx_root_mismatch', 'the Merkle root of the replayed receipts differs from the header');
    if (result.stateRoot !== h.stateRoot) issue(height, 'state_root_mismatch', 'the replayed state changes differ from what the header commits to');
    state.apply(result.writes);
    if (tree && result.tree) tree.apply(result.tree);
    prev = block;
    onProgress(height, tip);
  }

  if (source.storedState) {
    const seen = new Set<string>();
    let differs = false;
    for (const row of source.storedState()) {
      seen.add(row.k);
      const replayed = state.map.get(row.k);
      if (replayed === row.v) continue;
      differs = true;
      if (replayed === undefined) issue(row.h, 'state_extra', `stored state has "${row.k}", which no transaction wrote`);
      else issue(row.h, 'state_mismatch', `stored "${row.k}" is ${row.v}, replay gives ${replayed} (last written at height ${row.h})`);
    }
    for (const k of state.map.keys()) {
      if (seen.has(k)) continue;
      differs = true;
      issue(tip, 'state_missing', `stored state lacks "${k}"`);
    }
    // A stored state equal to the replayed one, key for key, breaks exactly the invariants
    // the replayed state breaks (checked below): another pass over it (a read of every
    // value, from the tree's rows for most keys) would add nothing.
    const stored = source.storedState;
    if (differs) for (const m of modules) {
      for (const msg of m.invariants?.(mapEntries(stored()), params) ?? []) issue(tip, 'invariant_broken', `${m.name}, stored state: ${msg}`);
    }
  }
  for (const m of modules) {
    for (const msg of m.invariants?.(state.map.entries(), params) ?? []) issue(tip, 'invariant_broken', `${m.name}, replayed state: ${msg}`);
  }

  // From a snapshot: block 0, then the snapshot's block to the tip.
  const blocks = start ? tip - start.height + 2 : tip + 1;
  return report(issues, genesis.chain, tip, blocks, txCount, state.map.size, start);
}

/** What is wrong with a header's version (one issue per block), or undefined. */
function versionProblem(h: BlockHeader, prev: BlockHeader | undefined): string | undefined {
  if (h.version !== undefined && h.version !== 2 && h.version !== 3) return `block says version ${String(h.version)}; this verifier knows 1 (no field), 2 and 3`;
  if (prev && headerVersion(h) < headerVersion(prev)) return `a version ${headerVersion(h)} block after a version ${headerVersion(prev)} block (versions never go down)`;
  if (h.version !== 3 && (h.validatorsHash !== undefined || h.lastCommitHash !== undefined)) return `a version ${headerVersion(h)} header has no validatorsHash or lastCommitHash`;
  return undefined;
}

/**
 * Version 3: validatorsHash names today's set (the node key, power 1) and lastCommitHash
 * is the hash of the previous block's commit (its one signature), NO_COMMIT_HASH at 0.
 */
function checkCommitFields(block: SignedBlock, prev: SignedBlock | undefined, nodeKey: string, validators: string, issue: (height: number, kind: string, message: string) => void): void {
  const h = block.header;
  if (h.version !== 3) return;
  // A block by another key is wrong_proposer already: its set is not the node key's either.
  if (h.validatorsHash !== validators && h.proposer === nodeKey) issue(h.height, 'validators_hash_mismatch', 'validatorsHash is not the hash of the validator set {node key, power 1}');
  if (h.lastCommitHash !== lastCommitHashAfter(prev)) issue(h.height, 'last_commit_mismatch', prev ? 'lastCommitHash is not the hash of the previous block\'s commit' : 'block 0 has no previous commit: its lastCommitHash is 64 zeros');
}

function report(issues: VerifyIssue[], chain: string, tip: number, blocks: number, txs: number, stateKeys: number, start: VerifyStart | undefined): VerifyReport {
  issues.sort((a, b) => a.height - b.height);
  return {
    ok: issues.length === 0,
    chain,
    height: tip,
    blocks,
    txs,
    stateKeys,
    firstDivergence: issues.length ? issues[0]!.height : null,
    issues,
    ...(start ? { snapshot: start } : {}),
  };
}

/** Offline: a stopped (or running) node's store, opened read-only. */
export function storeSource(store: import('../store/sqlite.js').SqliteStore, genesis: Genesis): ChainSource {
  return {
    genesis: async () => genesis,
    tipHeight: async () => store.tip()?.height ?? 0,
    block: async (height) => {
      const row = store.block(height);
      if (!row) throw new TallyError('block_not_found', `the store has no block ${height}`);
      return { hash: row.hash, header: JSON.parse(row.header) as BlockHeader, sig: row.sig };
    },
    blockTxs: async (height) => store.blockTxs(height).map(txView),
    storedState: () => store.allState(),
    snapshotBase: () => snapshotBaseOf(store),
    commit: async (height) => {
      const json = store.commitOf(height);
      return json === undefined ? undefined : (JSON.parse(json) as CertifiedCommit);
    },
  };
}

/** Online: a running node over the socket or HTTP. */
export function clientSource(client: { call(method: string, params?: Record<string, unknown>): Promise<unknown> }): ChainSource {
  return {
    genesis: async () => (await client.call('chain.genesis')) as Genesis,
    tipHeight: async () => ((await client.call('node.info')) as { height: number }).height,
    block: async (height) => (await client.call('block.get', { height })) as SignedBlock,
    blockTxs: async (height) => ((await client.call('block.get', { height, full: true })) as { txs: TxView[] }).txs,
  };
}

/** The issue kind of a transaction the block rules exclude (as the executor's refusal code says). */
function ruleIssueKind(err: TallyError): string {
  switch (err.code) {
    case 'nonce_gap': return 'bad_nonce';
    case 'account_not_found': case 'account_mismatch': return 'bad_sender';
    case 'expired': case 'expires_too_far': case 'wrong_key': case 'weak_key': case 'wrong_chain': case 'unknown_type': return err.code;
    default: return 'bad_body';
  }
}

/** The replayed state as modules read it (parsed values). */
function readerOf(state: MemoryState): StateReader {
  const parse = <T>(raw: string | undefined) => (raw === undefined ? undefined : decodeValue<T>(raw));
  return {
    get: <T>(k: string) => parse<T>(state.get(k)),
    entries: <T>(prefix: string, o: { after?: string; limit?: number } = {}) => state.range(prefix, o.after, o.limit ?? 1000).map(([k, v]): [string, T] => [k, decodeValue<T>(v)]),
  };
}

function stateSource(state: MemoryState) {
  return { get: (k: string) => state.get(k), range: (p: string, a: string | undefined, l: number) => state.range(p, a, l) };
}

function* mapEntries(rows: Iterable<{ k: string; v: string }>): IterableIterator<[string, string]> {
  for (const r of rows) yield [r.k, r.v];
}
