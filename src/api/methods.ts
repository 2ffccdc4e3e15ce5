// The node's calls, one table for every transport: the Unix socket dispatches on the
// method name, the HTTP routes call the same functions, and the client maps between them.
import { fail } from '../core/errors.js';
import { txView, type TallyNode } from '../chain/node.js';
import type { SubmitResult } from '../chain/module.js';

export type MethodParams = Record<string, unknown>;

function str(params: MethodParams, name: string): string {
  const v = params[name];
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) fail('bad_params', `"${name}" must be a non-empty string`);
  return v;
}

function height(params: MethodParams): number {
  const v = typeof params.height === 'string' ? Number(params.height) : params.height;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail('bad_params', '"height" must be a non-negative integer');
  return v;
}

export const methods: Record<string, (node: TallyNode, params: MethodParams) => unknown> = {
  'node.info': (node) => node.info(),

  'chain.genesis': (node) => node.genesis,

  /** The key and next nonce of an account id (what a client needs to sign its next transaction). */
  'auth.get': (node, params) => node.auth(str(params, 'id')),

  /** params: {txs: [envelope, ...]} (answers an array) or {tx: envelope} (answers one result) */
  'tx.submit': async (node, params) => {
    if (Array.isArray(params.txs)) return node.submit(params.txs);
    if (params.tx === undefined) fail('bad_params', 'give "tx" (one envelope) or "txs" (an array)');
    const [result] = await node.submit([params.tx]);
    return result as SubmitResult;
  },

  'tx.get': (node, params) => node.tx(str(params, 'id')) ?? fail('tx_not_found', 'no such transaction', { status: 404 }),

  'tx.proof': (node, params) => node.proof(str(params, 'id')) ?? fail('tx_not_found', 'no such transaction', { status: 404 }),

  'block.get': (node, params) => {
    const h = height(params);
    const block = node.block(h) ?? fail('block_not_found', `no block at height ${h}`, { status: 404 });
    return { ...block, txs: fullParam(params) ? node.blockTxViews(h) : node.blockTxIds(h) };
  },

  query: (node, params) => {
    const q = params.params ?? {};
    if (typeof q !== 'object' || q === null || Array.isArray(q)) fail('bad_params', '"params" must be an object');
    return node.query(str(params, 'name'), q as MethodParams);
  },
};

function fullParam(params: MethodParams): boolean {
  return params.full === true || params.full === 'true' || params.full === '1';
}

/**
 * block.get as JSON (UTF-8 bytes); a full block is serialized once and kept (BlockCache),
 * so a transport that sends these bytes as they are pays no JSON.stringify per request.
 */
export function blockGetJson(node: TallyNode, params: MethodParams): Buffer {
  if (!fullParam(params)) return Buffer.from(JSON.stringify(methods['block.get']!(node, params)));
  const h = height(params);
  if (!node.block(h)) fail('block_not_found', `no block at height ${h}`, { status: 404 });
  // Parsed here without keeping the parsed copy too: the text is what this path serves.
  return node.blockCache.fullJson(h, () => ({ ...node.block(h)!, txs: node.store.blockTxs(h).map(txView) }));
}

export async function callMethod(node: TallyNode, method: unknown, params: unknown): Promise<unknown> {
  if (typeof method !== 'string' || !Object.hasOwn(methods, method)) {
    const shown = typeof method === 'string' ? `"${method.slice(0, 64)}"` : `of type ${method === null ? 'null' : typeof method}`;
    fail('unknown_method', `unknown method ${shown}`, { status: 404, details: { known: Object.keys(methods) } });
  }
  const p = params ?? {};
  if (typeof p !== 'object' || Array.isArray(p)) fail('bad_params', 'params must be an object');
  return methods[method]!(node, p as MethodParams);
}
