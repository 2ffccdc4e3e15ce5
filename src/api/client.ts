// A client for the CLI and the benchmark: the same calls over the Unix socket or HTTP.
// Socket replies are signed by the node key; the client checks every signature.
import net from 'node:net';
import { canonicalJson } from '../core/canonical.js';
import { TallyError } from '../core/errors.js';
import { utf8 } from '../core/encoding.js';
import { verifySignature } from '../core/keys.js';
import { REPLY_DOMAIN } from '../chain/blocks.js';
import type { SocketReply } from './socket.js';

export interface Client {
  readonly target: string;
  call(method: string, params?: Record<string, unknown>): Promise<unknown>;
  close(): void;
}

export function isHttpTarget(target: string): boolean {
  return /^https?:\/\//.test(target);
}

/** options.nodeKey (else $TALLY_NODE_KEY) pins the key every socket reply must be signed by. */
export function connectClient(target: string, options: { nodeKey?: string } = {}): Client {
  return isHttpTarget(target) ? new HttpClient(target) : new SocketClient(target, options.nodeKey ?? process.env.TALLY_NODE_KEY);
}

function remoteError(err: { code?: string; message?: string; hint?: string; details?: Record<string, unknown> } | undefined, status = 400): TallyError {
  const opts: { status: number; hint?: string; details?: Record<string, unknown> } = { status };
  if (err?.hint) opts.hint = err.hint;
  if (err?.details) opts.details = err.details;
  return new TallyError(err?.code ?? 'remote_error', err?.message ?? 'the node refused the request', opts);
}

export class SocketClient implements Client {
  private conn: net.Socket | undefined;
  private connecting: Promise<net.Socket> | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private buffer = '';
  /** The node key seen in the first reply; every later reply must be signed by the same key. */
  nodeKey: string | undefined;

  constructor(readonly target: string, nodeKey?: string) {
    this.nodeKey = nodeKey;
  }

  private open(): Promise<net.Socket> {
    if (this.conn) return Promise.resolve(this.conn);
    this.connecting ??= new Promise((resolve, reject) => {
      const conn = net.createConnection(this.target);
      conn.once('connect', () => {
        this.conn = conn;
        resolve(conn);
      });
      conn.once('error', (err: NodeJS.ErrnoException) => {
        const e = new TallyError('node_unreachable', `cannot reach a node at ${this.target}: ${err.code ?? err.message}`, {
          status: 503, hint: 'start one with `tally node --dev`, or pass --node SOCKET|URL',
        });
        reject(e);
        for (const w of this.waiting.values()) w.reject(e);
        this.waiting.clear();
      });
      conn.on('data', (chunk: Buffer) => this.onData(chunk.toString('utf8')));
      conn.on('close', () => {
        for (const w of this.waiting.values()) w.reject(new TallyError('node_unreachable', 'the node closed the connection', { status: 503 }));
        this.waiting.clear();
      });
    });
    return this.connecting;
  }

  private onData(text: string): void {
    this.buffer += text;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      const reply = JSON.parse(line) as SocketReply;
      const ok = this.checkSignature(reply);
      const w = typeof reply.id === 'number' ? this.waiting.get(reply.id) : undefined;
      if (!w) continue;
      this.waiting.delete(reply.id as number);
      if (!ok) w.reject(new TallyError('bad_reply_signature', 'the node reply is not signed by the node key', { status: 502 }));
      else if (reply.error) w.reject(remoteError(reply.error));
      else w.resolve(reply.result);
    }
  }

  private checkSignature(reply: SocketReply): boolean {
    if (!reply.sig || !reply.node) return false;
    if (this.nodeKey && reply.node !== this.nodeKey) return false;
    const ok = verifySignature(reply.node, utf8.encode(REPLY_DOMAIN + canonicalJson({ ...reply, sig: undefined })), reply.sig);
    if (ok) this.nodeKey ??= reply.node;
    return ok;
  }

  async call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const conn = await this.open();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      conn.write(JSON.stringify({ id, method, params }) + '\n');
    });
  }

  close(): void {
    this.conn?.end();
    this.conn = undefined;
  }
}

export class HttpClient implements Client {
  private readonly base: string;

  constructor(readonly target: string) {
    this.base = target.replace(/\/+$/, '');
  }

  private async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      const init: RequestInit = { method };
      if (body !== undefined) {
        init.body = JSON.stringify(body);
        init.headers = { 'content-type': 'application/json' };
      }
      try {
        res = await fetch(this.base + path, init);
      } catch (err) {
        // A keep-alive connection the node closed just as we reused it fails at once
        // (UND_ERR_SOCKET, ECONNRESET). A GET changes nothing: ask once more on a fresh one.
        if (method !== 'GET') throw err;
        res = await fetch(this.base + path, init);
      }
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new TallyError('node_unreachable', `cannot reach a node at ${this.target}: ${(err as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`, {
        status: 503, hint: 'is the node running and its public listener at that address? start one with `tally node --dev`, or pass --node SOCKET|URL',
      });
    }
    const json = (await res.json().catch(() => undefined)) as { error?: { code: string; message: string } } | undefined;
    if (!res.ok) throw remoteError(json?.error, res.status);
    return json;
  }

  async call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const enc = (v: unknown) => encodeURIComponent(String(v));
    switch (method) {
      case 'node.info': return this.request('GET', '/v1/node');
      case 'tx.submit': {
        if (Array.isArray(params.txs)) return this.request('POST', '/v1/txs', params.txs);
        try {
          return await this.request('POST', '/v1/txs', params.tx);
        } catch (err) {
          // Single submits answer with the error as their result, as over the socket.
          if (err instanceof TallyError) return { error: err.toJSON(), status: err.status };
          throw err;
        }
      }
      case 'tx.get': return this.request('GET', `/v1/txs/${enc(params.id)}`);
      case 'tx.proof': return this.request('GET', `/v1/txs/${enc(params.id)}/proof`);
      case 'block.get': return this.request('GET', `/v1/blocks/${enc(params.height)}${params.full ? '?full=1' : ''}`);
      case 'auth.get': return this.request('GET', `/v1/auth/${enc(params.id)}`);
      case 'state.proof': return this.request('GET', `/v1/state/proof?key=${enc(params.key)}${params.height !== undefined ? `&height=${enc(params.height)}` : ''}`);
      case 'account.proof': return this.request('GET', `/v1/accounts/${enc(params.name)}/proof${params.height !== undefined ? `?height=${enc(params.height)}` : ''}`);
      case 'chain.genesis': return this.request('GET', '/v1/genesis');
      case 'query': return this.request('POST', `/v1/query/${enc(params.name)}`, params.params ?? {});
      default: throw new TallyError('unknown_method', `unknown method "${method}"`);
    }
  }

  close(): void {}
}
