// Talking to the node: JSON over fetch, and the block stream over a WebSocket. The node is
// the page's own origin unless the user named another (a page hosted elsewhere, which the
// node allows with --cors-origin). Nothing here is trusted: every page verifies what it shows.
export const RESPONSE_BYTES_MAX = 8 * 1024 * 1024;
const NODE_KEY = 'tally.node';

/** The node's origin: a saved one, else the page's. */
export function nodeOrigin(): string {
  return localStorage.getItem(NODE_KEY) ?? location.origin;
}

export function setNodeOrigin(origin: string | null): void {
  if (origin === null || origin === location.origin) localStorage.removeItem(NODE_KEY);
  else localStorage.setItem(NODE_KEY, new URL(origin).origin);
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** GET (or POST with a JSON body) a route of the node; an error answer becomes an ApiError with its code. */
export async function api<T = unknown>(path: string, init: { body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const res = await fetch(nodeOrigin() + path, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? null : JSON.stringify(init.body),
    signal: init.signal ?? null,
    credentials: 'omit',
    cache: 'no-store',
  });
  const text = await res.text();
  if (text.length > RESPONSE_BYTES_MAX) throw new ApiError(res.status, 'too_large', `the answer is larger than ${RESPONSE_BYTES_MAX} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'bad_json', `the node answered ${res.status} with something that is not JSON`);
  }
  if (!res.ok) {
    const e = (body as { error?: { code?: string; message?: string } }).error;
    throw new ApiError(res.status, e?.code ?? 'http_error', e?.message ?? `HTTP ${res.status}`);
  }
  return body as T;
}

export interface NodeInfo {
  chain: string;
  decimals: number;
  genesisHash: string;
  nodeKey: string;
  height: number;
  tipHash: string;
  mempool: number;
  modules: string[];
  txTypes: string[];
  queries: string[];
}

export interface Header {
  version?: number;
  chain: string;
  height: number;
  prevHash: string;
  time: number;
  txRoot: string;
  stateRoot: string;
  txCount: number;
  proposer: string;
}

export interface SignedBlock { hash: string; header: Header; sig: string }
export interface Receipt { id: string; height: number; index: number; status: 'ok' | 'failed'; code?: string; events: Array<Record<string, unknown>> }
export interface Envelope { tx: { chain: string; type: string; from: string; nonce: number; expires: number; body: Record<string, unknown> }; pub: string; sig: string }
export interface TxView { id: string; envelope: Envelope; receipt: Receipt }
export interface FullBlock extends SignedBlock { txs: TxView[] }
export interface BlockMessage extends SignedBlock { type: 'block'; receipts: Receipt[] }

/**
 * The block stream (topic "blocks" unless given; another topic's messages are typed by the
 * caller): calls onMessage per message, reconnects after a drop with a growing delay, and
 * stops when `signal` aborts.
 */
export function subscribe<M = BlockMessage>(onMessage: (m: M) => void, signal: AbortSignal, query = '', onOpen?: () => void): void {
  let delayMs = 1000;
  const open = () => {
    if (signal.aborted) return;
    const url = new URL('/v1/ws' + query, nodeOrigin());
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url);
    const stop = () => ws.close(1000);
    signal.addEventListener('abort', stop, { once: true });
    // onOpen lets a page fetch what committed before the stream was open (or while it was down).
    ws.onopen = () => {
      delayMs = 1000;
      onOpen?.();
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string' || ev.data.length > RESPONSE_BYTES_MAX) return;
      try {
        onMessage(JSON.parse(ev.data) as M);
      } catch (err) {
        console.error('block stream message', err);
      }
    };
    ws.onclose = () => {
      signal.removeEventListener('abort', stop);
      if (signal.aborted) return;
      setTimeout(open, delayMs);
      delayMs = Math.min(delayMs * 2, 30_000);
    };
  };
  open();
}
