// The tickets section of the node config file. Every option, its default and its meaning
// is listed in the README ("Tickets: configuration"); validate() fills in the defaults.
import fs from 'node:fs';
import path from 'node:path';
import { parseAmount } from '../../core/amount.js';
import { bool, decode, int, map, object, oneOf, optional, refuse, string, withDefault, type Decoder } from '../../core/decode.js';
import { fail, TallyError } from '../../core/errors.js';
import { checkSecretFileMode } from '../../store/keyfile.js';
import type { PgUrlSource } from '../../store/postgres.js';
import { parseLogin, type DigestLogin } from './digest-auth.js';
import { parseMoneroAddress } from './monero-address.js';

/** Monero amounts are piconero: 12 decimals. */
export const MONERO_DECIMALS = 12;

export interface TallySourceConfig {
  /** the service account (name or 40-hex id) that receives transfers with a PID as memo */
  account: string;
  /** smaller payments are recorded as dust, not credited (decimal, chain units) */
  minAmount: string;
  /** what the service asks for a ticket, shown by `tally ticket new` (decimal, chain units); null: not set */
  price: string | null;
  /** first block to scan is startHeight + 1 */
  startHeight: number;
}

export interface MoneroSourceConfig {
  walletRpcUrl: string;
  /** a 0600 file holding user:pass for the wallet's --rpc-login (HTTP digest); $TALLY_MONERO_RPC_LOGIN wins */
  walletRpcLoginFile: string | null;
  /** the service wallet's standard address; integrated addresses are built from it */
  address: string;
  confirmations: number;
  /** smaller payments are recorded as dust (decimal XMR) */
  minAmount: string;
  /** what the service asks for a ticket (decimal XMR), the amount of the monero: payment URI; null: not set */
  price: string | null;
  pollMs: number;
  /** blocks below the cursor re-read on each new wallet height, for reorgs and dropped transactions */
  reorgWindow: number;
  startHeight: number;
  rpcTimeoutMs: number;
  /** ask the wallet to refresh before each poll (its own auto-refresh is every 20 s) */
  refresh: boolean;
}

export interface TicketsConfig {
  /** where the tickets tables live: the node's SQLite file, or PostgreSQL shared by several serving processes */
  store: 'sqlite' | 'postgres';
  /** PostgreSQL: a file (mode 0600) holding the postgres:// URL; relative paths are under the data directory */
  urlFile?: string;
  /** PostgreSQL: the environment variable holding the URL when there is no urlFile (default TALLY_PG_URL) */
  urlEnv?: string;
  /** PostgreSQL: connections in this process's pool (each redeem commits on one) */
  poolMax: number;
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

/** An amount with `decimals` places, kept as text; refused as config_invalid. */
const amount = (decimals: number) => map(string({ maxLength: 64, what: 'a decimal amount' }), (text, at) => {
  try {
    parseAmount(text, decimals, at.path);
  } catch (err) {
    if (err instanceof TallyError) fail(at.code, err.message, { details: { field: at.path } });
    throw err;
  }
  return text;
});

const ACCOUNT_REF = /^([a-z][a-z0-9_-]{0,31}|[0-9a-f]{40})$/;
const MONERO_STANDARD = /^[1-9A-HJ-NP-Za-km-z]{95}$/;
// No user:pass@ in the URL: credentials go in walletRpcLoginFile, never where URLs are logged.
const HTTP_URL = /^https?:\/\/[^\s/@]+(\/[^\s]*)?$/;
const height = withDefault(int({ min: 0 }), 0);
/** An optional source section: absent or null means off. */
const section = <T>(d: Decoder<T>) => withDefault<T | null>(d, null, { nullIsAbsent: true });

const moneroAddress = map(string({ pattern: MONERO_STANDARD, maxLength: 95, what: "the service wallet's standard address (95 base58 characters)" }), (address, at) => {
  try {
    if (parseMoneroAddress(address).kind !== 'standard') refuse(at, 'must be a standard address (not integrated, not a subaddress)');
  } catch (err) {
    if (err instanceof TallyError && err.code !== at.code) refuse(at, `is not valid: ${err.message}`);
    throw err;
  }
  return address;
});

const ticketsSchema = object({
  store: withDefault(oneOf(['sqlite', 'postgres'] as const), 'sqlite' as const),
  urlFile: optional(string({ maxLength: 4096, what: 'a file path' })),
  urlEnv: optional(string({ pattern: /^[A-Z_][A-Z0-9_]{0,63}$/, what: 'an environment variable name' })),
  poolMax: withDefault(int({ min: 1, max: 64 }), 8),
  redeemGraceSecs: withDefault(int({ min: 0, max: 86_400 }), DEFAULTS.redeemGraceSecs),
  publicSocket: section(string({ maxLength: 100, what: 'a Unix socket path (at most 100 characters)' })),
  rateLimit: withDefault(object({
    redeemPerMin: withDefault(int({ min: 0, max: 1_000_000 }), DEFAULTS.redeemPerMin),
    introspectPerMin: withDefault(int({ min: 0, max: 1_000_000 }), DEFAULTS.introspectPerMin),
  }, { comment: true }), { redeemPerMin: DEFAULTS.redeemPerMin, introspectPerMin: DEFAULTS.introspectPerMin }),
  tally: section(object({
    account: string({ pattern: ACCOUNT_REF, maxLength: 40, what: 'the service account name or 40-hex id' }),
    // Chain decimals are only known once the node is open; 18 is the most a chain allows,
    // and the watcher parses it again with the chain's own decimals.
    minAmount: withDefault(amount(18), DEFAULTS.tallyMinAmount),
    price: section(amount(18)),
    startHeight: height,
  }, { comment: true })),
  monero: section(object({
    walletRpcUrl: withDefault(string({ pattern: HTTP_URL, maxLength: 2048, what: 'an http(s) URL such as http://127.0.0.1:18083/json_rpc, without user:pass@ (use walletRpcLoginFile)' }), DEFAULTS.moneroWalletRpcUrl),
    walletRpcLoginFile: section(string({ maxLength: 4096, what: 'the path of a file holding user:pass' })),
    address: moneroAddress,
    // At least 1: the scan's upper bound must be a block the wallet already has.
    confirmations: withDefault(int({ min: 1, max: 10_000 }), DEFAULTS.moneroConfirmations),
    minAmount: withDefault(amount(MONERO_DECIMALS), DEFAULTS.moneroMinAmount),
    price: section(amount(MONERO_DECIMALS)),
    pollMs: withDefault(int({ min: 50, max: 3_600_000 }), DEFAULTS.moneroPollMs),
    reorgWindow: withDefault(int({ min: 0, max: 100_000 }), DEFAULTS.moneroReorgWindow),
    startHeight: height,
    rpcTimeoutMs: withDefault(int({ min: 100, max: 600_000 }), DEFAULTS.moneroRpcTimeoutMs),
    refresh: withDefault(bool(), true),
  }, { comment: true })),
}, { comment: true });

export function validateTicketsConfig(raw: unknown): TicketsConfig {
  const config = decode(ticketsSchema, raw ?? {}, 'config_invalid', 'tickets') as TicketsConfig;
  if (config.store !== 'postgres' && (config.urlFile !== undefined || config.urlEnv !== undefined)) {
    fail('config_invalid', 'tickets.urlFile and tickets.urlEnv are for "store": "postgres"', { details: { field: 'tickets.store' } });
  }
  // A price below minAmount would be dust: nobody paying it could redeem.
  for (const [name, source, decimals] of [['tally', config.tally, 18], ['monero', config.monero, MONERO_DECIMALS]] as const) {
    if (source?.price != null && parseAmount(source.price, decimals) < parseAmount(source.minAmount, decimals)) {
      fail('config_invalid', `tickets.${name}.price (${source.price}) is below tickets.${name}.minAmount (${source.minAmount}): a payment of the price would be dust`, { details: { field: `tickets.${name}.price` } });
    }
  }
  return config;
}

/** Where PostgreSQL's URL comes from, with a relative urlFile under the data directory. */
export function ticketsPgSource(config: TicketsConfig, dataDir: string): PgUrlSource {
  return {
    ...(config.urlFile ? { urlFile: path.resolve(dataDir, config.urlFile) } : {}),
    ...(config.urlEnv ? { urlEnv: config.urlEnv } : {}),
  };
}

/** Where the wallet RPC login comes from: $TALLY_MONERO_RPC_LOGIN, else walletRpcLoginFile (mode 0600), else none. */
export function moneroRpcLogin(config: MoneroSourceConfig, env: NodeJS.ProcessEnv = process.env): DigestLogin | undefined {
  const fromEnv = env.TALLY_MONERO_RPC_LOGIN;
  if (fromEnv) return parseLogin(fromEnv) ?? fail('config_invalid', '$TALLY_MONERO_RPC_LOGIN must be user:pass (as given to monero-wallet-rpc --rpc-login)');
  const file = config.walletRpcLoginFile;
  if (!file) return undefined;
  checkSecretFileMode(file, 'Monero wallet RPC login file');
  return parseLogin(fs.readFileSync(file, 'utf8')) ??
    fail('config_invalid', `tickets.monero.walletRpcLoginFile: ${file} must hold user:pass on its first line (as given to monero-wallet-rpc --rpc-login)`);
}
