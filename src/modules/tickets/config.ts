// The tickets section of the node config file. Every option, its default and its meaning
// is listed in the README ("Tickets: configuration"); validate() fills in the defaults.
import { parseAmount } from '../../core/amount.js';
import { check } from '../../core/config-check.js';
import { fail, TallyError } from '../../core/errors.js';
import { parseMoneroAddress } from './monero-address.js';

/** Monero amounts are piconero: 12 decimals. */
export const MONERO_DECIMALS = 12;

export interface TallySourceConfig {
  /** the service account (name or 40-hex id) that receives transfers with a PID as memo */
  account: string;
  /** smaller payments are recorded as dust, not credited (decimal, chain units) */
  minAmount: string;
  /** first block to scan is startHeight + 1 */
  startHeight: number;
}

export interface MoneroSourceConfig {
  walletRpcUrl: string;
  /** the service wallet's standard address; integrated addresses are built from it */
  address: string;
  confirmations: number;
  /** smaller payments are recorded as dust (decimal XMR) */
  minAmount: string;
  pollMs: number;
  /** blocks below the cursor re-read on each new wallet height, for reorgs and dropped transactions */
  reorgWindow: number;
  startHeight: number;
  rpcTimeoutMs: number;
  /** ask the wallet to refresh before each poll (its own auto-refresh is every 20 s) */
  refresh: boolean;
}

export interface TicketsConfig {
  redeemGraceSecs: number;
  publicSocket: string | null;
  rateLimit: { redeemPerMin: number; introspectPerMin: number };
  tally: TallySourceConfig | null;
  monero: MoneroSourceConfig | null;
}

export const DEFAULTS = Object.freeze({
  redeemGraceSecs: 600,
  redeemPerMin: 60,
  introspectPerMin: 600,
  tallyMinAmount: '0',
  moneroWalletRpcUrl: 'http://127.0.0.1:18083/json_rpc',
  moneroConfirmations: 10,
  moneroMinAmount: '0.0001',
  moneroPollMs: 5000,
  moneroReorgWindow: 20,
  moneroRpcTimeoutMs: 10_000,
});

function amount(v: unknown, at: string, def: string, decimals: number): string {
  const text = v ?? def;
  try {
    parseAmount(text, decimals, at);
  } catch (err) {
    if (err instanceof TallyError) fail('config_invalid', err.message);
    throw err;
  }
  return text as string;
}

export function validateTicketsConfig(section: unknown): TicketsConfig {
  const s = check.object(section ?? {}, 'tickets', ['redeemGraceSecs', 'publicSocket', 'rateLimit', 'tally', 'monero']);
  const rl = check.object(s.rateLimit ?? {}, 'tickets.rateLimit', ['redeemPerMin', 'introspectPerMin']);
  const out: TicketsConfig = {
    redeemGraceSecs: check.int(s.redeemGraceSecs, 'tickets.redeemGraceSecs', DEFAULTS.redeemGraceSecs, 0, 86_400),
    publicSocket: s.publicSocket === undefined || s.publicSocket === null ? null : check.string(s.publicSocket, 'tickets.publicSocket', /^.{1,100}$/, 'a Unix socket path (at most 100 characters)'),
    rateLimit: {
      redeemPerMin: check.int(rl.redeemPerMin, 'tickets.rateLimit.redeemPerMin', DEFAULTS.redeemPerMin, 0, 1_000_000),
      introspectPerMin: check.int(rl.introspectPerMin, 'tickets.rateLimit.introspectPerMin', DEFAULTS.introspectPerMin, 0, 1_000_000),
    },
    tally: null,
    monero: null,
  };
  if (s.tally !== undefined && s.tally !== null) {
    const t = check.object(s.tally, 'tickets.tally', ['account', 'minAmount', 'startHeight']);
    out.tally = {
      account: check.string(t.account, 'tickets.tally.account', /^([a-z][a-z0-9_-]{0,31}|[0-9a-f]{40})$/, 'the service account name or 40-hex id'),
      // Chain decimals are only known once the node is open; 18 is the most a chain allows,
      // and the watcher parses it again with the chain's own decimals.
      minAmount: amount(t.minAmount, 'tickets.tally.minAmount', DEFAULTS.tallyMinAmount, 18),
      startHeight: check.int(t.startHeight, 'tickets.tally.startHeight', 0, 0, Number.MAX_SAFE_INTEGER),
    };
  }
  if (s.monero !== undefined && s.monero !== null) {
    const m = check.object(s.monero, 'tickets.monero', ['walletRpcUrl', 'address', 'confirmations', 'minAmount', 'pollMs', 'reorgWindow', 'startHeight', 'rpcTimeoutMs', 'refresh']);
    const address = check.string(m.address, 'tickets.monero.address', /^[1-9A-HJ-NP-Za-km-z]{95}$/, "the service wallet's standard address (95 base58 characters)");
    try {
      if (parseMoneroAddress(address).kind !== 'standard') fail('config_invalid', 'tickets.monero.address must be a standard address (not integrated, not a subaddress)');
    } catch (err) {
      if (err instanceof TallyError && err.code !== 'config_invalid') fail('config_invalid', `tickets.monero.address: ${err.message}`);
      throw err;
    }
    const url = m.walletRpcUrl ?? DEFAULTS.moneroWalletRpcUrl;
    if (typeof url !== 'string' || !/^https?:\/\/[^\s]+$/.test(url)) fail('config_invalid', 'tickets.monero.walletRpcUrl must be an http(s) URL such as http://127.0.0.1:18083/json_rpc');
    out.monero = {
      walletRpcUrl: url,
      address,
      // At least 1: the scan's upper bound must be a block the wallet already has.
      confirmations: check.int(m.confirmations, 'tickets.monero.confirmations', DEFAULTS.moneroConfirmations, 1, 10_000),
      minAmount: amount(m.minAmount, 'tickets.monero.minAmount', DEFAULTS.moneroMinAmount, MONERO_DECIMALS),
      pollMs: check.int(m.pollMs, 'tickets.monero.pollMs', DEFAULTS.moneroPollMs, 50, 3_600_000),
      reorgWindow: check.int(m.reorgWindow, 'tickets.monero.reorgWindow', DEFAULTS.moneroReorgWindow, 0, 100_000),
      startHeight: check.int(m.startHeight, 'tickets.monero.startHeight', 0, 0, Number.MAX_SAFE_INTEGER),
      rpcTimeoutMs: check.int(m.rpcTimeoutMs, 'tickets.monero.rpcTimeoutMs', DEFAULTS.moneroRpcTimeoutMs, 100, 600_000),
      refresh: check.bool(m.refresh, 'tickets.monero.refresh', true),
    };
  }
  return out;
}
