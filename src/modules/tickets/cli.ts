// `tally ticket new|status|redeem|show`: the client side, for anyone (no Tally key needed).
// They talk to the public tickets API over HTTP or its Unix socket (--api).
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import type { Command } from 'commander';
import { TallyError } from '../../core/errors.js';
import type { CliContext } from '../../chain/app-module.js';
import QRCode from 'qrcode';
import { integratedAddress } from './monero-address.js';
import { moneroPaymentUri } from './payment-uri.js';
import { newPid, parsePid, parseToken, tallyMemoTag } from './pid.js';

const DEFAULT_API = 'http://127.0.0.1:7700';
const REPLY_BYTES_MAX = 1024 * 1024;

/** A JSON reply of the tickets API, read field by field (as strings, numbers or nested replies). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON from the API, shown field by field
export type Reply = Record<string, any>;

export interface ApiOptions {
  api?: string;
  /** the node's internal listener, for the operator commands (cli-operator.ts) */
  internal?: string;
  json?: boolean;
}

function apiTarget(opts: ApiOptions): string {
  return opts.internal ?? opts.api ?? process.env.TALLY_TICKETS_API ?? DEFAULT_API;
}

/** One JSON request to the tickets API: http(s)://host:port or a Unix socket path. */
export function apiRequest(target: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: Reply }> {
  const url = /^https?:\/\//.test(target) ? new URL(path, target) : undefined;
  // https:// (a service behind TLS) goes through node:https, on 443 unless a port is given.
  const request = url?.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request({
      ...(url ? { host: url.hostname, port: url.port || (url.protocol === 'https:' ? 443 : 80), path: url.pathname + url.search } : { socketPath: target, path }),
      method,
      headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      timeout: 15_000,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        if (text.length > REPLY_BYTES_MAX) req.destroy(new Error('reply too large'));
      });
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        } catch {
          reject(new TallyError('bad_reply', `the tickets API at ${target} did not answer JSON (HTTP ${res.statusCode})`, { status: 502 }));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => reject(new TallyError('node_unreachable', `cannot reach the tickets API at ${target}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, {
      status: 503, hint: 'give --api http://host:port or --api /path/to/tickets.sock (or set $TALLY_TICKETS_API)',
    })));
    if (payload) req.write(payload);
    req.end();
  });
}

export async function call(opts: ApiOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply> {
  const r = await apiRequest(apiTarget(opts), method, path, body);
  if (r.status >= 400) {
    const e = r.body?.error ?? ({} as Reply);
    throw new TallyError(e.code ?? 'remote_error', e.message ?? `HTTP ${r.status}`, { status: r.status, ...(e.details ? { details: e.details } : {}), ...(e.hint ? { hint: e.hint } : {}) });
  }
  return r.body;
}

export function tokenArg(value: string): string {
  // "-" reads the token from stdin, so it stays out of shell history and `ps`.
  const text = value === '-' ? fs.readFileSync(0, 'utf8').trim() : value;
  return parseToken(text);
}

function addApi(cmd: Command): Command {
  return cmd
    .option('--api <url|socket>', `tickets API: http://host:port or a Unix socket path (default: $TALLY_TICKETS_API, else ${DEFAULT_API})`)
    .option('--json', 'print JSON for scripts');
}

/** Registers `tally ticket` and its client commands; answers the command for the operator's (cli-operator.ts). */
export function ticketsCli(program: Command, cli: CliContext): Command {
  const ticket = program.command('ticket').description('tickets: pay to a payment id, redeem it for a service token, check the token');

  addApi(ticket.command('new')
    .description('make a random payment id (PID) and show how to pay it: the price, a monero: payment URI and its QR code')
    .option('--monero-address <addr>', "the service's Monero standard address (default: asked from the API)")
    .option('--tally-account <name>', "the service's Tally account (default: asked from the API)")
    .option('--amount <xmr>', "the amount in the monero: URI (default: the service's price)")
    .option('--no-qr', 'do not draw the QR code')
    .option('--offline', 'do not ask the API; use only the flags'))
    .action(async (opts: ApiOptions & { moneroAddress?: string; tallyAccount?: string; amount?: string; qr: boolean; offline?: boolean; json?: boolean }) => {
      const pid = newPid();
      let tally = opts.tallyAccount;
      let monero = opts.moneroAddress;
      let info: Reply | undefined;
      let note: string | undefined;
      if (!opts.offline) {
        try {
          info = await call(opts, 'GET', '/api/v1/tickets');
          tally ??= info.sources?.tally?.account;
          monero ??= info.sources?.monero?.address;
        } catch (err) {
          if (tally === undefined || monero === undefined) note = `could not ask the tickets API (${(err as Error).message}); pass --tally-account / --monero-address`;
        }
      }
      const out: Record<string, unknown> = { pid };
      const memo = tallyMemoTag(pid);
      const tallyInfo = info?.sources?.tally;
      const moneroInfo = info?.sources?.monero;
      if (tally) out.tally = { to: tally, memo, price: tallyInfo?.price ?? null, minAmount: tallyInfo?.minAmount ?? null, command: `tally send ${tally} ${tallyInfo?.price ?? 'AMOUNT'} --memo ${memo}` };
      let uri: string | undefined;
      if (monero) {
        const address = integratedAddress(monero, pid);
        const amount: string | undefined = opts.amount ?? moneroInfo?.price ?? undefined;
        uri = moneroPaymentUri(address, { ...(amount !== undefined ? { amount } : {}), description: 'Tally ticket' });
        out.monero = { integratedAddress: address, price: moneroInfo?.price ?? null, minAmount: moneroInfo?.minAmount ?? null, confirmations: moneroInfo?.confirmations ?? null, uri };
      }
      if (note) out.note = note;
      // The QR code is for people; scripts get the URI as a field.
      const qr = uri && opts.qr && !opts.json ? await QRCode.toString(uri, { type: 'terminal', small: true }) : undefined;
      const price = (p: Reply | undefined, unit: string) => (p?.price ? `price ${p.price} ${unit}` : p?.minAmount ? `at least ${p.minAmount} ${unit}` : undefined);
      cli.output(opts as unknown as Record<string, unknown>, out, () => [
        `payment id: ${pid}  (keep it secret until you redeem it)`,
        tally ? `pay on Tally:  ${(out.tally as { command: string }).command}  (the memo is a tag of the PID: memos are public)${tallyInfo ? `; ${price(tallyInfo, 'units')}` : ''}` : undefined,
        monero ? `pay in Monero: ${(out.monero as { integratedAddress: string }).integratedAddress}${moneroInfo ? `\n  ${price(moneroInfo, 'XMR')}, counted after ${moneroInfo.confirmations} confirmations` : ''}` : undefined,
        uri ? `  ${uri}` : undefined,
        qr,
        note,
        `then: tally ticket redeem ${pid}`,
      ].filter(Boolean).join('\n'));
    });

  addApi(ticket.command('status').argument('<pid>', 'payment id (16 hex)').description('what the service has seen for a payment id'))
    .action(async (pid: string, opts: ApiOptions) => {
      const r = await call(opts, 'GET', `/api/v1/payment/${parsePid(pid)}`);
      cli.output(opts as Record<string, unknown>, r, () => `${pid}: credited ${r.credited} (${r.source ?? '-'}), dust ${r.dust}` +
        (r.confirmationsLeft !== null ? `, a payment needs ${r.confirmationsLeft} more confirmation(s)` : '') + (r.claimed ? ', redeemed' : ''));
    });

  addApi(ticket.command('redeem').argument('<pid>', 'payment id (16 hex)').description('redeem a paid payment id for a service token'))
    .action(async (pid: string, opts: ApiOptions) => {
      const r = await call(opts, 'POST', '/api/v1/redeem', { pid: parsePid(pid) });
      cli.output(opts as Record<string, unknown>, r, () => r.token
        ? `${r.status}: token ${r.token}\nbalance ${r.balance} (${r.source}); keep the token secret, it is your access`
        : `${r.status}: redeemed at ${r.claimed_at}; the token is no longer shown (it is in use and the grace period is over)`);
    });

  addApi(ticket.command('show').argument('<token>', 'service token (64 hex), or - to read it from stdin').description("a token's status and balance"))
    .action(async (token: string, opts: ApiOptions) => {
      const r = await call(opts, 'GET', `/api/v1/token/${tokenArg(token)}`);
      cli.output(opts as Record<string, unknown>, r, () => `${r.status}: balance ${r.balance} (${r.source}), spent ${r.spent}, issued ${r.issued_at}` + (r.revoked_at ? `, revoked ${r.revoked_at}` : ''));
    });

  return ticket;
}
