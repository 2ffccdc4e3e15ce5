// A small JSON-RPC 2.0 client for monero-wallet-rpc (HTTP POST to /json_rpc), with HTTP
// digest authentication when the wallet runs with --rpc-login (see digest-auth.ts).
import http from 'node:http';
import https from 'node:https';
import { fail, TallyError } from '../../core/errors.js';
import { digestAuthorization, parseDigestChallenge, type DigestChallenge, type DigestLogin } from './digest-auth.js';

export interface MoneroRpc {
  call<T>(method: string, params?: Record<string, unknown>): Promise<T>;
}

/** One entry of get_transfers / get_transfer_by_txid (the fields the watcher reads). */
export interface WalletTransfer {
  txid: string;
  payment_id: string;
  /** piconero */
  amount: number | bigint;
  height: number;
  /** non-zero: the sender locked the output until this height or time */
  unlock_time?: number | bigint;
  type?: string;
  subaddr_index?: { major: number; minor: number };
}

interface RawReply {
  status: number;
  authenticate: string | null;
  text: string;
}

/** Reply bytes of one call at most: get_transfers over a busy wallet is large, but bounded. */
const REPLY_BYTES_MAX = 256 * 1024 * 1024;

export class HttpMoneroRpc implements MoneroRpc {
  private nextId = 1;
  /** The wallet's last digest challenge, and how many requests have answered it. */
  private challenge: DigestChallenge | undefined;
  private nonceCount = 0;
  private readonly target: URL;
  /**
   * One kept-alive connection, requests queued on it: epee (monero-wallet-rpc) keeps its
   * digest nonce per connection, so a pool that spread calls over several connections
   * would meet a new nonce (401 stale) on every new one.
   */
  private readonly agent: http.Agent;

  constructor(private readonly url: string, private readonly timeoutMs: number, private readonly login?: DigestLogin) {
    this.target = new URL(url);
    const options = { keepAlive: true, maxSockets: 1 };
    this.agent = this.target.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
  }

  private send(body: string, signal: AbortSignal): Promise<RawReply> {
    const uri = this.target.pathname + this.target.search;
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (this.login && this.challenge) headers.authorization = digestAuthorization(this.login, this.challenge, 'POST', uri, ++this.nonceCount);
    const request = this.target.protocol === 'https:' ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = request(this.target, { method: 'POST', headers, agent: this.agent, signal }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (bytes > REPLY_BYTES_MAX) req.destroy(new Error(`reply larger than ${REPLY_BYTES_MAX} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, authenticate: [res.headers['www-authenticate'] ?? []].flat().join(', ') || null, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * One POST. With a login it answers the cached challenge; on 401 it takes the new
   * challenge and tries again, while the server says the nonce was stale (a new
   * connection) or it had not been answered yet, at most three times.
   */
  private async post(body: string, signal: AbortSignal): Promise<RawReply> {
    let res = await this.send(body, signal);
    for (let attempt = 0; res.status === 401 && this.login && attempt < 3; attempt++) {
      const fresh = parseDigestChallenge(res.authenticate);
      if (!fresh) fail('monero_rpc_auth', 'monero-wallet-rpc asked for a login this client cannot answer (no Digest MD5 challenge)', { status: 502 });
      const answered = this.challenge?.nonce;
      if (answered !== undefined && fresh.nonce !== answered && !fresh.stale) break;
      if (answered === fresh.nonce && !fresh.stale) break; // our answer to this very nonce was refused
      this.challenge = fresh;
      this.nonceCount = 0;
      res = await this.send(body, signal);
    }
    if (res.status === 401 && this.login) {
      fail('monero_rpc_auth', 'monero-wallet-rpc refused the login (HTTP 401)', { status: 502, hint: 'check tickets.monero.walletRpcLoginFile or $TALLY_MONERO_RPC_LOGIN (user:pass, as given to --rpc-login)' });
    }
    return res;
  }

  async call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    let text: string;
    try {
      const res = await this.post(JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params }), AbortSignal.timeout(this.timeoutMs));
      text = res.text;
      if (res.status === 401) fail('monero_rpc_auth', 'monero-wallet-rpc wants a login (HTTP 401)', { status: 502, hint: 'set tickets.monero.walletRpcLoginFile (a 0600 file holding user:pass, as given to --rpc-login) or $TALLY_MONERO_RPC_LOGIN' });
      if (res.status < 200 || res.status > 299) fail('monero_rpc_failed', `monero-wallet-rpc ${method}: HTTP ${res.status}`, { status: 502 });
    } catch (err) {
      if (err instanceof TallyError) throw err;
      fail('monero_rpc_unreachable', `monero-wallet-rpc at ${this.url} (${method}): ${(err as Error).message}`, { status: 503 });
    }
    // Amounts are 64-bit integers that may exceed 2^53: read every long number as a bigint.
    const body = JSON.parse(text.replace(/(:\s*)(\d{16,})(\s*[,}\]])/g, '$1"$2n"$3'), (_k, v: unknown) =>
      typeof v === 'string' && /^\d{16,}n$/.test(v) ? BigInt(v.slice(0, -1)) : v) as { result?: T; error?: { code: number; message: string } };
    if (body.error) fail('monero_rpc_error', `monero-wallet-rpc ${method}: ${body.error.message} (${body.error.code})`, { status: 502, details: { rpcCode: body.error.code } });
    return body.result as T;
  }
}
