// Where the Tally watcher reads the chain: the node it runs in (its committed blocks and
// 'block' events), or, in `tally tickets serve`, a node's public HTTP API (GET /v1/node for
// the tip, GET /v1/blocks/H?full=1 for the receipts, the ledger.whoami query for the
// service account), polled.
import http from 'node:http';
import https from 'node:https';
import type { ServiceNode } from '../../chain/app-module.js';
import type { BlockCommitted } from '../../chain/blocks.js';
import type { Receipt } from '../../chain/envelope.js';
import { TallyError } from '../../core/errors.js';
import { ledgerAccountId } from '../ledger/events.js';

export interface ChainSource {
  readonly decimals: number;
  tip(): Promise<number>;
  receipts(height: number): Promise<Receipt[]>;
  /** The id of an account name or id; undefined while it is not registered. */
  accountId(ref: string): Promise<string | undefined>;
  /** Committed blocks as they come, where the source has them; answers the unsubscribe. */
  onBlock?(listener: (height: number, receipts: Receipt[]) => void): () => void;
  /** Poll this often (ms) as well; without onBlock the watcher polls every second by default. */
  readonly pollMs?: number;
  warn?(component: string, reason: string): void;
  clearWarning?(component: string): void;
}

/** The node the watcher runs in. */
export function nodeChainSource(node: ServiceNode): ChainSource {
  return {
    decimals: node.params.decimals,
    tip: async () => node.tip.height,
    receipts: async (h) => node.blockTxViews(h).map((v) => v.receipt),
    accountId: async (ref) => ledgerAccountId(node.state, ref),
    onBlock(listener) {
      const l = (e: BlockCommitted) => listener(e.block.header.height, e.receipts);
      node.on('block', l);
      return () => node.off('block', l);
    },
    warn: (c, r) => node.health.warn(c, r),
    clearWarning: (c) => node.health.clearWarning(c),
  };
}

/** A full block can be large (4,000 receipts); anything beyond this is not a Tally node's answer. */
const REPLY_BYTES_MAX = 64 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 15_000;

/** GET or POST JSON on a node's HTTP API; a non-2xx answer is a TallyError with the node's code. */
export function nodeRequest(base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const url = new URL(path, base);
  const request = url.protocol === 'https:' ? https.request : http.request;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      timeout: REQUEST_TIMEOUT_MS,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > REPLY_BYTES_MAX) req.destroy(new Error('reply too large'));
        else chunks.push(c);
      });
      res.on('end', () => {
        let parsed: { error?: { code?: string; message?: string } } | undefined;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return reject(new TallyError('bad_reply', `the node at ${url.origin} did not answer JSON (HTTP ${res.statusCode})`, { status: 502 }));
        }
        if ((res.statusCode ?? 500) >= 400) {
          return reject(new TallyError(parsed?.error?.code ?? 'remote_error', parsed?.error?.message ?? `HTTP ${res.statusCode}`, { status: res.statusCode ?? 502 }));
        }
        resolve(parsed);
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => reject(new TallyError('node_unreachable', `cannot reach the node at ${url.origin}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { status: 503 })));
    req.end(payload);
  });
}

/** A node's public HTTP API, polled every `pollMs`. */
export async function httpChainSource(base: string, pollMs: number): Promise<ChainSource> {
  const info = (await nodeRequest(base, 'GET', '/v1/node')) as { decimals: number };
  return {
    decimals: info.decimals,
    pollMs,
    tip: async () => ((await nodeRequest(base, 'GET', '/v1/node')) as { height: number }).height,
    receipts: async (h) => ((await nodeRequest(base, 'GET', `/v1/blocks/${h}?full=1`)) as { txs: Array<{ receipt: Receipt }> }).txs.map((t) => t.receipt),
    accountId: async (ref) => {
      try {
        const who = (await nodeRequest(base, 'POST', '/v1/query/ledger.whoami', { account: ref })) as { id: string; registered: boolean };
        return who.registered ? who.id : undefined;
      } catch (err) {
        if (err instanceof TallyError && err.code === 'unknown_account') return undefined;
        throw err;
      }
    },
  };
}
