// A validator's blocks: the application half of consensus (consensus/driver.ts holds the
// other). It builds this validator's proposals from the mempool with the one executor,
// checks other validators' proposals the way a replica checks blocks (header, signatures,
// re-execution, roots) before the machine may prevote for them, and commits the decided
// block with its commit certificate in one storage transaction. Nothing is written before
// a block is final; every submitter is answered at finality.
import { assert, fail, TallyError } from '../core/errors.js';
import { fromB64u, fromHex } from '../core/encoding.js';
import { certifiedCommitHash, NO_COMMIT_HASH, validatorsHash, type CertifiedCommit } from '../core/header.js';
import { verifySignature, type Signer } from '../core/keys.js';
import { canonicalJson } from '../core/canonical.js';
import type { BlsScheme } from '../core/bls.js';
import { txSeq, type SqliteStore, type TxRow } from '../store/sqlite.js';
import type { IndexedBlock, IndexedTx } from './app-module.js';
import { blockHash, headerBytes, signHeader, type BlockCommitted, type BlockHeader, type SignedBlock } from './blocks.js';
import { verifyCertificate, type CommitCertificate } from './consensus/certificate.js';
import type { ValidatorEntry } from './consensus/validator-key.js';
import { signBytes } from './consensus/wire.js';
import { parseEnvelope, type Envelope, type Receipt } from './envelope.js';
import { executeBlock, type BlockResult, type ExecTx } from './execute.js';
import { signersOf, VALIDATORS_KEY } from './validators.js';
import type { BlockHooks } from './health.js';
import type { Kernel } from './kernel.js';
import type { Mempool, PendingTx } from './mempool.js';
import type { Tip } from './proposer.js';
import type { StateCache } from './state-cache.js';
import { authKey, decodeValue, type AuthRecord, type StateReader } from './state.js';
import type { StoredTree } from './state-tree/stored.js';
import type { VerifierPool } from './verifier.js';

/** What a proposal carries besides the signed proposal itself: the block and what it needs. */
export interface ProposalBlock {
  block: SignedBlock;
  /** the canonical commit of block height - 1 (absent at height 1: block 0 has none) */
  lastCommit?: CertifiedCommit;
  /** the block's transaction envelopes, in order */
  txs: unknown[];
}

/**
 * A validator chain's block holds at most this many transactions, so that a proposal
 * (block and envelopes, about 400 bytes each) fits in one gossip message.
 */
export const VALIDATOR_BLOCK_TXS_MAX = 4000;
/** Candidates kept per height (proposals of every round, this validator's own included). */
const CANDIDATES_MAX = 32;

interface Candidate {
  proposal: ProposalBlock;
  /** settles when the check has an outcome (a proposal resent meanwhile waits for it) */
  checking?: Promise<void>;
  /** undefined while the check runs; then the executor's result, or why the block is invalid */
  outcome?: { result: BlockResult; exec: ExecTx[]; canonical: string[]; pending?: PendingTx[] } | TallyError;
}

export interface ValidatorChainOptions {
  scheme: BlsScheme;
  /** committed state, parsed (the node's reader) */
  state: StateReader;
  clock: () => number;
  blockTxCountMax: number;
  indexBlock?: (block: IndexedBlock, txs: IndexedTx[]) => void;
  rolledBack?: () => void;
  hooks?: BlockHooks;
}

const invalid = (message: string) => new TallyError('invalid_proposal', message, { status: 422 });

export class ValidatorChain {
  private candidates = new Map<string, Candidate>();
  /** the set that signs the next block's commit (state after the tip) */
  validators: ValidatorEntry[];
  /** the set that signed the tip's commit: the next block's lastCommit is checked against it */
  private tipSigners: ValidatorEntry[];
  /** the tip's commit as this node holds it (the next proposal carries it) */
  private tipCommit: CertifiedCommit | undefined;
  readonly counts = { blocks: 0, txs: 0, invalidProposals: 0 };
  /** where the last proposal check spent its time (ms) */
  readonly lastCheck = { verifyMs: 0, executeMs: 0 };

  constructor(
    private readonly store: SqliteStore,
    private readonly cache: StateCache,
    private readonly tree: StoredTree,
    private readonly mempool: Mempool,
    private readonly kernel: Kernel,
    private readonly pool: VerifierPool,
    private readonly signer: Signer,
    public tip: Tip,
    private readonly options: ValidatorChainOptions,
    private readonly onBlock: (event: BlockCommitted) => void,
  ) {
    this.validators = this.readSet();
    // After a restart at a block that changed the set, the tip was signed by the set before.
    this.tipSigners = signersOf(options.state, tip.height) ?? this.validators;
    const stored = store.commitOf(tip.height);
    this.tipCommit = stored === undefined ? undefined : (JSON.parse(stored) as CertifiedCommit);
  }

  private readSet(): ValidatorEntry[] {
    const raw = this.cache.get(VALIDATORS_KEY);
    assert(raw !== undefined, 'a validator chain keeps its validator set in state');
    return decodeValue<ValidatorEntry[]>(raw);
  }

  /** This node's index in the current set, or -1. */
  indexOf(key: string): number {
    return this.validators.findIndex((v) => v.key === key);
  }

  /** The proposal payload of a candidate block (to gossip with its signed proposal). */
  proposalOf(hash: string): ProposalBlock | undefined {
    return this.candidates.get(hash)?.proposal;
  }

  /**
   * This validator's block at `height`: the mempool's transactions in order, executed on
   * the tip's state, the header signed with the node key. Nothing is written.
   */
  build(height: number): string {
    assert(height === this.tip.height + 1, 'a validator builds the block after its tip');
    const time = Math.max(this.options.clock(), this.tip.time);
    const taken = this.mempool.peek(this.txCountMax(Math.min(this.options.blockTxCountMax, VALIDATOR_BLOCK_TXS_MAX)));
    const result = this.execute(height, time, taken);
    // Refused at block time (expired, a nonce gap after a refusal): out of the mempool now.
    const gapped = new Set<string>();
    for (const { input, error } of result.excluded) {
      const p = taken[input]!;
      this.mempool.settle(p);
      p.reject(error);
      gapped.add(p.env.tx.from);
    }
    const included = result.included.map((i) => taken[i]!);
    const includedSet = new Set(included);
    for (const from of gapped) {
      for (const p of this.mempool.dropAccount(from, includedSet)) p.reject(new TallyError('nonce_gap', 'an earlier transaction of this account was refused before it was included', { status: 409 }));
    }
    const header = this.headerFor(height, time, result, included.length);
    const block = signHeader(header, this.signer);
    const proposal: ProposalBlock = { block, ...(this.tipCommit && height > 1 ? { lastCommit: this.tipCommit } : {}), txs: included.map((p) => p.env) };
    // The executor ran on `taken`: with exclusions the included ones must run alone again.
    const final = result.excluded.length === 0 ? result : this.execute(height, time, included);
    assert(final.excluded.length === 0 && final.stateRoot === header.stateRoot, 'a block re-executes as built');
    this.keep(block.hash, { proposal, outcome: { result: final, exec: included, canonical: included.map((p) => p.canonical), pending: included } });
    return block.hash;
  }

  /** The modules' limit on the next block's transactions (governance's maxBlockTxs), under `ceiling`. */
  private txCountMax(ceiling: number): number {
    return this.kernel.blockTxCountMax(this.options.state, ceiling);
  }

  private execute(height: number, time: number, txs: ExecTx[]): BlockResult {
    const treeTip = this.tree.tip;
    assert(treeTip && treeTip.version === this.tip.height, 'the state tree is at the tip');
    return executeBlock({
      get: (k) => this.cache.get(k),
      range: (p, a, l) => this.store.stateRange(p, a, l),
      stateRoot: this.tip.stateRoot,
      tree: { reader: this.tree, version: treeTip },
    }, { height, time }, txs, this.kernel);
  }

  private headerFor(height: number, time: number, result: BlockResult, txCount: number): BlockHeader {
    assert(result.version === 2 && result.tree !== undefined, 'validator chains make version 3 blocks');
    return {
      version: 3,
      chain: this.kernel.params.chain,
      height,
      prevHash: this.tip.hash,
      time,
      txRoot: result.txRoot,
      stateRoot: result.stateRoot,
      txCount,
      proposer: this.signer.pub,
      validatorsHash: validatorsHash(this.validators),
      lastCommitHash: this.tipCommit && height > 1 ? certifiedCommitHash(this.tipCommit) : NO_COMMIT_HASH,
    };
  }

  private keep(hash: string, c: Candidate): void {
    if (this.candidates.size >= CANDIDATES_MAX) this.candidates.delete(this.candidates.keys().next().value!);
    this.candidates.set(hash, c);
  }

  /**
   * Another validator's proposal at the next height, `proposer` the validator index the
   * signed proposal names: checked as a replica checks a block, then executed. Resolves
   * with the block hash once valid(height, hash) can answer; throws (TallyError
   * bad_proposal) only for a payload too malformed to name a block.
   */
  async check(proposer: number, input: unknown): Promise<string> {
    const proposal = decodeProposalBlock(input);
    const hash = proposal.block.hash;
    const known = this.candidates.get(hash);
    if (known) {
      // The same proposal again (a resend, another round) while the first check runs: the
      // machine must not hear of it before valid() can answer, or it prevotes nil.
      await known.checking;
      return hash;
    }
    let checked!: () => void;
    const c: Candidate = { proposal, checking: new Promise((resolve) => { checked = resolve; }) };
    this.keep(hash, c);
    try {
      const envs = this.checkShape(proposer, proposal);
      // A transaction this node admitted was verified then: the same envelope, byte for
      // byte, needs no second verification (most of a proposal, once transactions relay).
      const admitted = envs.map((env) => {
        const p = this.mempool.pendingAt(env.tx.from, env.tx.nonce);
        return p && p.env.sig === env.sig && p.env.pub === env.pub && canonicalJson(env) === p.canonical ? p : undefined;
      });
      const unknown = envs.filter((_, i) => !admitted[i]);
      const tv = performance.now();
      const verdicts = await this.pool.verify(unknown, this.kernel.mayOpenAccount);
      this.lastCheck.verifyMs = performance.now() - tv;
      if (proposal.block.header.height !== this.tip.height + 1) throw invalid('the chain moved on while the proposal was checked');
      let k = 0;
      const canonical: string[] = [];
      const exec: ExecTx[] = envs.map((env, i) => {
        const p = admitted[i];
        if (p) {
          canonical.push(p.canonical);
          return p;
        }
        const v = verdicts[k++]!;
        if (v.code) throw invalid(`transaction ${i}: ${v.code}`);
        canonical.push(v.canonical!);
        return { id: v.id, env };
      });
      const h = proposal.block.header;
      const te = performance.now();
      const result = this.execute(h.height, h.time, exec);
      this.lastCheck.executeMs = performance.now() - te;
      if (result.excluded.length > 0) throw invalid(`transaction ${result.excluded[0]!.input} breaks a block rule: ${result.excluded[0]!.error.message}`);
      if (result.txRoot !== h.txRoot) throw invalid('the replayed receipts\' root differs from the header\'s txRoot');
      if (result.stateRoot !== h.stateRoot) throw invalid('the replayed state root differs from the header\'s stateRoot');
      c.outcome = { result, exec, canonical };
    } catch (err) {
      if (!(err instanceof TallyError)) throw err;
      this.counts.invalidProposals++;
      c.outcome = err;
    } finally {
      checked();
    }
    return hash;
  }

  /** The checks that need no execution: header fields, link, proposer, signature, last commit, envelopes. */
  private checkShape(proposer: number, p: ProposalBlock): Envelope[] {
    const { block } = p;
    const h = block.header;
    if (h.height !== this.tip.height + 1) throw invalid(`the proposal is for height ${h.height}; the next block is ${this.tip.height + 1}`);
    if (h.version !== 3 || h.chain !== this.kernel.params.chain) throw invalid('the block is not a version 3 block of this chain');
    if (blockHash(h) !== block.hash) throw invalid('the block hash is not the hash of its header');
    if (h.prevHash !== this.tip.hash) throw invalid('prevHash is not the tip');
    if (!Number.isSafeInteger(h.time) || h.time < this.tip.time) throw invalid('block time is earlier than the tip\'s');
    const v = this.validators[proposer];
    if (!v || h.proposer !== v.key) throw invalid('the header\'s proposer is not the validator that signed the proposal');
    if (!checkHeaderSig(block)) throw invalid('the header signature does not verify with the proposer\'s key');
    if (h.validatorsHash !== validatorsHash(this.validators)) throw invalid('validatorsHash is not the current validator set\'s');
    this.checkLastCommit(h, p.lastCommit);
    const most = this.txCountMax(VALIDATOR_BLOCK_TXS_MAX);
    if (!Number.isSafeInteger(h.txCount) || h.txCount !== p.txs.length || h.txCount > most) throw invalid(`the header says ${h.txCount} transactions, the proposal carries ${p.txs.length} (at most ${most})`);
    return p.txs.map((raw, i) => {
      try {
        return parseEnvelope(raw);
      } catch (err) {
        throw invalid(`transaction ${i}: ${(err as Error).message}`);
      }
    });
  }

  private checkLastCommit(h: BlockHeader, lastCommit: CertifiedCommit | undefined): void {
    if (h.height === 1) {
      if (lastCommit !== undefined || h.lastCommitHash !== NO_COMMIT_HASH) throw invalid('block 1 has no last commit (block 0 is the genesis file\'s)');
      return;
    }
    if (!lastCommit) throw invalid('the proposal lacks the last commit');
    if (certifiedCommitHash(lastCommit) !== h.lastCommitHash) throw invalid('lastCommitHash is not the hash of the carried last commit');
    if (lastCommit.height !== this.tip.height || lastCommit.blockHash !== this.tip.hash) throw invalid('the last commit is not of the tip');
    const check = verifyCommit(this.options.scheme, this.kernel.params.chain, this.tipSigners, lastCommit);
    if (!check.ok) throw invalid(`the last commit does not verify: ${check.reason}`);
  }

  /** The machine's valid(v): only a checked, executed block of the next height. */
  valid(height: number, hash: string): boolean {
    const c = this.candidates.get(hash);
    return height === this.tip.height + 1 && c !== undefined && c.outcome !== undefined && !(c.outcome instanceof TallyError);
  }

  /** Why a candidate was found invalid (for the log), if it was. */
  invalidReason(hash: string): string | undefined {
    const o = this.candidates.get(hash)?.outcome;
    return o instanceof TallyError ? o.message : undefined;
  }

  /**
   * The block `hash` is final at `height`: write it with its certificate (and the previous
   * block's canonical commit, which it carries) in one storage transaction, then move the
   * caches, the tip and the mempool on, and answer the submitters.
   */
  commit(height: number, round: number, hash: string, certificate: CommitCertificate): BlockCommitted {
    const started = performance.now();
    const c = this.candidates.get(hash);
    assert(height === this.tip.height + 1, 'the decided block follows the tip');
    if (!c || !c.outcome || c.outcome instanceof TallyError) fail('invalid_proposal', `block ${hash} was decided at height ${height} but this node has no valid copy of it`, { status: 500 });
    const { block, lastCommit } = c.proposal;
    const { result, exec, canonical } = c.outcome;
    const commit: CertifiedCommit = { height, round, blockHash: hash, signers: certificate.signers, signature: certificate.signature };
    const h = block.header;
    const rows: TxRow[] = exec.map((t, i) => {
      const r = result.receipts[i]!;
      return {
        id: fromHex(t.id, 'tx id', 32), height, idx: i, sender: t.env.tx.from, type: t.env.tx.type, env: canonical[i]!,
        status: r.status, code: r.code ?? null, events: JSON.stringify(r.events),
      };
    });
    try {
      this.store.commitBlock({
        block: { height, hash, header: JSON.stringify(h), sig: block.sig },
        txs: rows,
        writes: result.writes,
        tree: this.tree.rows(result.tree!),
        commits: [
          ...(lastCommit ? [{ height: lastCommit.height, json: canonicalJson(lastCommit) }] : []),
          { height, json: canonicalJson(commit) },
        ],
        also: () => {
          this.options.indexBlock?.({ height, timeMs: h.time, hookEvents: result.events }, exec.map((t, i) => ({ seq: txSeq(height, i), id: t.id, tx: t.env.tx, receipt: result.receipts[i]! })));
        },
      });
    } catch (err) {
      this.options.rolledBack?.();
      throw err;
    }
    this.options.hooks?.committed(height, hash);
    this.cache.apply(result.writes);
    this.tree.committed(result.tree!);
    this.tip = { height, hash, time: h.time, stateRoot: h.stateRoot, block };
    this.tipCommit = commit;
    this.tipSigners = this.validators;
    this.validators = this.readSet();
    this.candidates.clear();
    this.answer(exec, result.receipts);
    this.counts.blocks++;
    this.counts.txs += exec.length;
    const event: BlockCommitted = { block, receipts: result.receipts, senders: exec.map((t) => t.env.tx.from), commitMs: performance.now() - started, txLevels: result.txLevels, hookEvents: result.events };
    this.onBlock(event);
    return event;
  }

  /** Submitters of committed transactions get their receipts; pending ones whose nonce was taken are refused. */
  private answer(exec: ExecTx[], receipts: Receipt[]): void {
    const byId = new Map(exec.map((t, i) => [t.id, receipts[i]!]));
    const accounts = new Set(exec.map((t) => t.env.tx.from));
    this.mempool.committedUpTo(accounts, (a) => this.cache.get(authKey(a)) === undefined ? 0 : decodeValue<AuthRecord>(this.cache.get(authKey(a))!).nonce, (p) => {
      const r = byId.get(p.id);
      if (r) p.resolve(r);
      else p.reject(new TallyError('nonce_used', 'another transaction of this account took this nonce first', { status: 409 }));
    });
  }
}

function checkHeaderSig(block: SignedBlock): boolean {
  try {
    return verifySignature(block.header.proposer, headerBytes(block.header), block.sig);
  } catch {
    return false;
  }
}

/** A commit certificate of a validator chain's block, checked against the set that signed it. */
export function verifyCommit(scheme: BlsScheme, chain: string, signers: readonly ValidatorEntry[], commit: CertifiedCommit): { ok: true } | { ok: false; code: string; reason: string } {
  if (!Number.isSafeInteger(commit.round) || commit.round < 0) return { ok: false, code: 'bad_certificate', reason: 'round must be a non-negative integer' };
  const message = signBytes(chain, { type: 'precommit', height: commit.height, round: commit.round, value: commit.blockHash, validator: 0 });
  const check = verifyCertificate(scheme, signers, message, { signers: commit.signers, signature: commit.signature });
  return check.ok ? { ok: true } : check;
}

const HEX64 = /^[0-9a-f]{64}$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The shape of a proposal payload from the network (the content is checked by check()). */
export function decodeProposalBlock(input: unknown): ProposalBlock {
  const bad = (reason: string): never => fail('bad_proposal', reason, { status: 400 });
  if (!isObject(input)) bad('a proposal block is {block, lastCommit?, txs}');
  const p = input as Record<string, unknown>;
  const b = p.block;
  if (!isObject(b) || !isObject(b.header) || typeof b.hash !== 'string' || !HEX64.test(b.hash) || typeof b.sig !== 'string' || b.sig.length > 128) bad('block must be {hash, header, sig}');
  if (!Array.isArray(p.txs) || p.txs.length > VALIDATOR_BLOCK_TXS_MAX) bad(`txs must be an array of at most ${VALIDATOR_BLOCK_TXS_MAX} envelopes`);
  const lc = p.lastCommit;
  if (lc !== undefined) {
    if (!isObject(lc) || !Number.isSafeInteger(lc.height) || !Number.isSafeInteger(lc.round) || typeof lc.blockHash !== 'string' || !HEX64.test(lc.blockHash)
      || typeof lc.signers !== 'string' || lc.signers.length > 2048 || typeof lc.signature !== 'string' || lc.signature.length > 200) bad('lastCommit must be {height, round, blockHash, signers, signature}');
    try {
      fromB64u((lc as { signature: string }).signature, 'lastCommit.signature', 96);
    } catch (err) {
      bad((err as Error).message);
    }
  }
  return input as unknown as ProposalBlock;
}
