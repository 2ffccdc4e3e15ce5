// The one block executor. executeBlock(parent state, header fields, transactions, kernel)
// is a pure function of its inputs: the proposer calls it to build a block, `tally chain
// verify` (and every future replica) calls it to check one. The consensus rules of a
// transaction against a block (chain id, type, body, expiry against the block's time,
// sender key, nonce) are written once, here; admission calls the same checks with the
// wall clock only to refuse early.
//
// Signatures are checked before the executor, by the verifier pool (worker threads), with
// the one function both admission and replay use (verifier-worker.ts).
import { errorBody, fail, TallyError } from '../core/errors.js';
import { accountIdFromPub, assertStrongPublicKey } from '../core/keys.js';
import { limits } from '../core/limits.js';
import { leafHash, merkleLevels, rootOfLevels } from '../core/merkle.js';
import { receiptLeafBytes, type Envelope, type Receipt, type TxEvent } from './envelope.js';
import type { Kernel } from './kernel.js';
import type { ChainModule, TxContext, TxType } from './module.js';
import { authKey, LayeredState, nextStateRoot, type AuthRecord, type CommittedState, type Writes } from './state.js';
import { RangeCache } from './range-cache.js';
import { updateTree, type TreeBatch, type TreeReader, type TreeVersion } from './state-tree/update.js';

/** A transaction whose signature (and size) the verifier pool has accepted. */
export interface ExecTx {
  id: string;
  env: Envelope;
  /**
   * The body as this kernel's parse() returned it, if the caller already ran it (the
   * proposer, after admission). parse is a static function of the body and the chain
   * parameters, so passing it changes no outcome; it only saves parsing twice.
   */
  parsed?: { body: unknown };
}

export interface BlockFields {
  height: number;
  /** unix milliseconds */
  time: number;
}

export interface ParentState extends CommittedState {
  stateRoot: string;
  /**
   * The parent's state tree (its nodes and committed version). With it the block is a
   * version 2 block: stateRoot is the tree's root after the block's writes. Without it,
   * the version 1 rule (a hash chain over writes) — only to replay blocks made before
   * the tree existed.
   */
  tree?: { reader: TreeReader; version: TreeVersion };
}

/** A transaction the rules keep out of this block (the proposer drops it; in a received block it makes the block invalid). */
export interface Excluded {
  /** index into the input list */
  input: number;
  error: TallyError;
}

export interface BlockResult {
  /** receipts of the included transactions, in block order */
  receipts: Receipt[];
  /** input index of each included transaction */
  included: number[];
  excluded: Excluded[];
  writes: Writes;
  /** events of the modules' beginBlock and endBlock hooks */
  events: TxEvent[];
  txRoot: string;
  /** every level of the receipts' Merkle tree (leaves first), for proofs without rehashing */
  txLevels: Uint8Array[];
  stateRoot: string;
  /** the header version the stateRoot follows: 2 (the state tree) or 1 (the old hash chain) */
  version: 1 | 2;
  /** version 2: the tree's new nodes and value rows, for the proposer to commit with the block */
  tree?: TreeBatch;
}

// ---------------------------------------------------------------------------------------
// The rules of one transaction, shared by admission and the executor.

/** Chain, type, body and expiry: what needs no state. `timeMs` is the block's time (or, at admission, now). */
export function checkTxStatic(env: Envelope, kernel: Kernel, timeMs: number, parsed?: { body: unknown }): { type: TxType; module: ChainModule; body: unknown } {
  const tx = env.tx;
  if (tx.chain !== kernel.params.chain) fail('wrong_chain', `this node runs chain "${kernel.params.chain}", not "${tx.chain}"`);
  const found = kernel.txType(tx.type);
  if (!found) fail('unknown_type', `unknown transaction type "${tx.type}"`, { details: { known: kernel.txTypeNames() } });
  // `expires` is inclusive: a transaction with expires E may be in a block whose time is at most E * 1000.
  if (tx.expires * 1000 < timeMs) fail('expired', 'the transaction has expired', { status: 409 });
  if (tx.expires * 1000 > timeMs + limits.txLifetimeSecsMax * 1000) fail('expires_too_far', `expires may be at most ${limits.txLifetimeSecsMax} s ahead`);
  return { type: found.type, module: found.module, body: parsed ? parsed.body : found.type.parse(tx.body, kernel.params) };
}

/** The sender's key: a known account signs with its key; an unseen one may only open an account with its own id and a strong key. */
export function checkTxSender(env: Envelope, type: TxType, auth: AuthRecord | undefined): void {
  const tx = env.tx;
  if (!auth) {
    if (!type.opensAccount) fail('account_not_found', `no account ${tx.from}; register it first`, { status: 404 });
    if (accountIdFromPub(env.pub) !== tx.from) fail('account_mismatch', 'tx.from is not the account id of this public key', { status: 401 });
    assertStrongPublicKey(env.pub);
  } else if (auth.pub !== env.pub) {
    fail('wrong_key', 'this public key does not belong to the account', { status: 401 });
  }
}

// ---------------------------------------------------------------------------------------

/**
 * Execute a block. Throws only for a programmer or storage error (anything that is not a
 * TallyError, from a module or from reading the parent state): such a block must not be
 * made or accepted, and the caller stops.
 */
export function executeBlock(parent: ParentState, fields: BlockFields, txs: readonly ExecTx[], kernel: Kernel): BlockResult {
  const state = new LayeredState(new RangeCache(parent));
  const receipts: Receipt[] = [];
  const included: number[] = [];
  const excluded: Excluded[] = [];
  const events: TxEvent[] = [];

  const hook = (which: 'beginBlock' | 'endBlock') => {
    for (const m of kernel.modules) {
      const fn = m[which];
      if (!fn) continue;
      let out: TxEvent[] | void;
      try {
        out = fn.call(m, kernel.blockContext(m, state, fields.height, fields.time));
      } catch (err) {
        // A module's refusal inside its hook (a TallyError, such as a transfer the keeper
        // refuses) is as deterministic as its cause, so every node meets it in this block:
        // the hook's writes are dropped, the block says so, and the chain goes on. Halting
        // every module for one module's refusal would be worse. Anything else is a bug: throw.
        if (!(err instanceof TallyError)) throw err;
        state.rollbackTx();
        events.push({ type: 'hook_failed', module: m.name, hook: which, code: err.code, message: err.message });
        continue;
      }
      state.commitTx();
      if (out) for (const e of out) events.push({ ...e, module: m.name, hook: which });
    }
  };

  hook('beginBlock');
  txs.forEach((t, input) => {
    const tx = t.env.tx;
    let checked: ReturnType<typeof checkTxStatic>;
    const auth = state.get<AuthRecord>(authKey(tx.from));
    try {
      checked = checkTxStatic(t.env, kernel, fields.time, t.parsed);
      checkTxSender(t.env, checked.type, auth);
      const nonce = auth?.nonce ?? 0;
      if (tx.nonce !== nonce) fail('nonce_gap', `expected nonce ${nonce}, the transaction has ${tx.nonce}`, { status: 409, details: { expected: nonce } });
    } catch (err) {
      if (!(err instanceof TallyError)) throw err;
      excluded.push({ input, error: err });
      return;
    }
    const index = included.length;
    included.push(input);
    receipts.push(applyTx(state, kernel, checked, t, fields, index, auth));
  });
  hook('endBlock');

  const txLevels = merkleLevels(receipts.map((r) => leafHash(receiptLeafBytes(r))));
  const tree = parent.tree ? updateTree(parent.tree.reader, parent.tree.version, fields.height, state.blockWrites) : undefined;
  return {
    receipts,
    included,
    excluded,
    writes: state.blockWrites,
    events,
    txRoot: rootOfLevels(txLevels),
    txLevels,
    stateRoot: tree ? tree.rootHash : nextStateRoot(parent.stateRoot, state.blockWrites),
    version: tree ? 2 : 1,
    ...(tree ? { tree } : {}),
  };
}

/**
 * Run the module's apply(). Success keeps its writes; a TallyError fails the transaction
 * and drops them whole. Either way the nonce is used (a bounced cheque is still recorded).
 * Anything else thrown is a bug or a storage failure: it propagates and stops the block.
 */
function applyTx(
  state: LayeredState, kernel: Kernel, checked: ReturnType<typeof checkTxStatic>, t: ExecTx,
  fields: BlockFields, index: number, auth: AuthRecord | undefined,
): Receipt {
  const tx = t.env.tx;
  const base = kernel.blockContext(checked.module, state, fields.height, fields.time);
  const ctx: TxContext = {
    state: base.state, params: base.params, height: base.height, timeMs: base.timeMs, accounts: base.accounts, keeper: base.keeper,
    index, id: t.id, tx, pub: t.env.pub,
  };
  let receipt: Receipt;
  try {
    const events = checked.type.apply(ctx, checked.body);
    state.commitTx();
    receipt = { id: t.id, height: fields.height, index, status: 'ok', events };
  } catch (err) {
    state.rollbackTx();
    if (!(err instanceof TallyError)) throw err;
    receipt = { id: t.id, height: fields.height, index, status: 'failed', code: errorBody(err).code, events: [] };
  }
  // The key as it stands after the transaction: auth.rotate changes it (a failed
  // rotation's write was rolled back, so the old key stays).
  const pub = state.get<AuthRecord>(authKey(tx.from))?.pub ?? t.env.pub;
  state.setDurable(authKey(tx.from), { pub, nonce: (auth?.nonce ?? 0) + 1 } satisfies AuthRecord);
  return receipt;
}
