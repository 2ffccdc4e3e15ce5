// The node's calls, one table for every transport: the Unix socket dispatches on the
// method name, the HTTP routes call the same functions, and the client maps between them.
import { fail } from '../core/errors.js';
import { bool, decode, int, isPlainObject, map, object, optional, refuse, string, unknownValue, withDefault, type Decoder } from '../core/decode.js';
import type { TallyNode } from '../chain/node.js';
import type { SubmitResult } from '../chain/app-module.js';
import { accountProofBundle, STATE_KEY_BYTES_MAX, stateProofBundle, type ProofSource } from '../chain/state-proofs.js';

export type MethodParams = Record<string, unknown>;

// Param schemas, decoded with `bad_params`: exact keys, each refusal names the param.
// HTTP routes pass path and query strings, so numbers and flags also come as text.
const id = string({ maxLength: 256, what: 'a non-empty string (at most 256 characters)' });
const idParams = object({ id });
const blockParams = object({ height: int({ min: 0, text: true, what: 'a non-negative integer' }), full: optional(bool({ text: true })) });
const submitParams = object({
  tx: optional(unknownValue),
  txs: optional(map(unknownValue, (v, at) => (Array.isArray(v) ? v : refuse(at, 'must be an array of envelopes')))),
});
const height = optional(int({ min: 0, text: true, what: 'a non-negative integer' }));
const stateProofParams = object({ key: string({ maxLength: STATE_KEY_BYTES_MAX, what: `a state key (at most ${STATE_KEY_BYTES_MAX} characters)` }), height });
const accountProofParams = object({ name: string({ maxLength: 64, what: 'an account name or id' }), height });
const queryParams = object({
  name: id,
  params: withDefault(map(unknownValue, (v, at) => (isPlainObject(v) ? v : refuse(at, 'must be an object'))), {}),
});

const params = <T>(decoder: Decoder<T>, raw: MethodParams): T => decode(decoder, raw, 'bad_params', 'params');

export const methods: Record<string, (node: TallyNode, params: MethodParams) => unknown> = {
  // Methods without params ignore what they are given (a padded node.info is the socket's
  // line-length probe).
  'node.info': (node) => node.info(),

  'chain.genesis': (node) => node.genesis,

  /** The key and next nonce of an account id (what a client needs to sign its next transaction). */
  'auth.get': (node, p) => node.auth(params(idParams, p).id),

  /** params: {txs: [envelope, ...]} (answers an array) or {tx: envelope} (answers one result) */
  'tx.submit': async (node, p) => {
    const { tx, txs } = params(submitParams, p);
    if ((tx === undefined) === (txs === undefined)) fail('bad_params', 'give "tx" (one envelope) or "txs" (an array)');
    if (txs) return node.submit(txs);
    const [result] = await node.submit([tx]);
    return result as SubmitResult;
  },

  'tx.get': (node, p) => node.tx(params(idParams, p).id) ?? fail('tx_not_found', 'no such transaction', { status: 404 }),

  'tx.proof': (node, p) => node.proof(params(idParams, p).id) ?? fail('tx_not_found', 'no such transaction', { status: 404 }),

  'block.get': (node, p) => {
    const { height: h, full } = params(blockParams, p);
    const block = node.block(h) ?? fail('block_not_found', `no block at height ${h}`, { status: 404 });
    const commit = full ? undefined : node.store.commitOf(h);
    return { ...block, ...(commit ? { commit: JSON.parse(commit) as unknown } : {}), txs: full ? node.blockTxViews(h) : node.blockTxIds(h) };
  },

  /** A key's value (or absence) at a height, proven against that block's stateRoot. */
  'state.proof': (node, p) => {
    const { key, height: h } = params(stateProofParams, p);
    return stateProofBundle(proofSource(node), key, h);
  },

  /** An account by name or id at a height: the name's and the account's records, proven. */
  'account.proof': (node, p) => {
    const { name, height: h } = params(accountProofParams, p);
    return accountProofBundle(proofSource(node), name, h);
  },

  query: (node, p) => {
    const q = params(queryParams, p);
    return node.query(q.name, q.params);
  },
};

/** The node's state tree with its blocks. */
function proofSource(node: TallyNode): ProofSource {
  return { tree: node.stateTree, block: (h) => node.block(h) };
}

/**
 * block.get as JSON (UTF-8 bytes); a full block is serialized once and kept (BlockCache),
 * so a transport that sends these bytes as they are pays no JSON.stringify per request.
 */
export function blockGetJson(node: TallyNode, p: MethodParams): Buffer {
  const { height: h, full } = params(blockParams, p);
  if (!full) return Buffer.from(JSON.stringify(methods['block.get']!(node, p)));
  if (!node.block(h)) fail('block_not_found', `no block at height ${h}`, { status: 404 });
  return node.reads.fullBlockJson(h);
}

/** Throws a TallyError for a bad call; answers a promise only when the method waits (a submit). */
export function callMethod(node: TallyNode, method: unknown, params: unknown): unknown {
  if (typeof method !== 'string' || !Object.hasOwn(methods, method)) {
    const shown = typeof method === 'string' ? `"${method.slice(0, 64)}"` : `of type ${method === null ? 'null' : typeof method}`;
    fail('unknown_method', `unknown method ${shown}`, { status: 404, details: { known: Object.keys(methods) } });
  }
  const p = params ?? {};
  if (typeof p !== 'object' || Array.isArray(p)) fail('bad_params', 'params must be an object');
  return methods[method]!(node, p as MethodParams);
}
