// A small JSON-RPC 2.0 client for monero-wallet-rpc (HTTP POST to /json_rpc).
import { fail, TallyError } from '../../core/errors.js';

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

export class HttpMoneroRpc implements MoneroRpc {
  private nextId = 1;

  constructor(private readonly url: string, private readonly timeoutMs: number) {}

  async call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    let text: string;
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
      if (!res.ok) fail('monero_rpc_failed', `monero-wallet-rpc ${method}: HTTP ${res.status}`, { status: 502 });
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
