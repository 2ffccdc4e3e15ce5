// What client commands share: where the keystore and the node are, which key signs, and
// how a transaction is built, signed and submitted.
import path from 'node:path';
import type { Command } from 'commander';
import { TallyError, fail } from '../core/errors.js';
import { connectClient, isHttpTarget, type Client } from '../api/client.js';
import { signTx, type Receipt, type Tx } from '../chain/envelope.js';
import { signQuery } from '../chain/query-auth.js';
import type { Signer } from '../core/keys.js';
import type { CliContext, SubmitResult } from '../chain/app-module.js';
import { defaultHome, keyInfo, loadSigner, readPassphrase, resolveKeyName, withPassphrase } from './keystore.js';
import { output } from './output.js';
import { publicListener } from '../app/services.js';
import { serviceMetrics } from '../api/metrics.js';
import { observeHttp } from '../api/observe.js';
import { registerCostLimit } from '../api/rate-limit.js';

export interface ClientOptions {
  node?: string;
  home?: string;
  key?: string;
  data?: string;
  json?: boolean;
  /** --passphrase-file: the --key's passphrase, for services (before $TALLY_PASSPHRASE and the prompt) */
  passphraseFile?: string;
}

export function defaultDataDir(): string {
  return process.env.TALLY_DATA ?? path.join(defaultHome(), 'node');
}

export function homeDir(options: ClientOptions): string {
  return options.home ?? defaultHome();
}

/** --node, else $TALLY_NODE, else the socket in --data (or the default data directory). */
export function nodeTarget(options: ClientOptions): string {
  return options.node ?? process.env.TALLY_NODE ?? path.join(options.data ?? defaultDataDir(), 'tally.sock');
}

export function addClientOptions(command: Command): Command {
  return command
    .option('--node <socket|url>', 'node to talk to: a Unix socket path or http(s)://host:port (default: $TALLY_NODE, else <data>/tally.sock)')
    .option('--data <dir>', 'data directory whose socket to use (default: $TALLY_DATA or ~/.tally/node)')
    .option('--home <dir>', 'keystore directory (default: $TALLY_HOME or ~/.tally)')
    .option('--key <name>', 'which key signs (default: $TALLY_KEY, else the only key)')
    .option('--passphrase-file <file>', "the key's passphrase, first line of a 0600 file (before $TALLY_PASSPHRASE and the prompt)")
    .option('--json', 'print JSON for scripts');
}

export async function withClient<T>(options: ClientOptions, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = connectClient(nodeTarget(options));
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

export const TX_LIFETIME_SECS = 600;

export async function submitSigned(options: ClientOptions, type: string, body: Record<string, unknown>): Promise<Receipt> {
  return submitSignedBy(options, await unlockKey(options), type, () => body);
}

/** Sign with `signer` for its account and submit; `body` may depend on the chain and the nonce (auth.rotate's proof does). */
export async function submitSignedBy(
  options: ClientOptions, signer: Signer & { id: string }, type: string, body: (chain: string, nonce: number) => Record<string, unknown>,
): Promise<Receipt> {
  return withClient(options, async (client) => {
    const info = (await client.call('node.info')) as { chain: string };
    const auth = (await client.call('auth.get', { id: signer.id })) as { nonce: number };
    const tx: Tx = { chain: info.chain, type, from: signer.id, nonce: auth.nonce, expires: Math.floor(Date.now() / 1000) + TX_LIFETIME_SECS, body: body(info.chain, auth.nonce) };
    const result = (await client.call('tx.submit', { tx: signTx(tx, signer) })) as SubmitResult;
    if ('error' in result) throw new TallyError(result.error.code, result.error.message, { status: result.status, ...(result.error.hint ? { hint: result.error.hint } : {}) });
    if (result.status === 'failed') {
      // The receipt keeps only the code (receipts are consensus data); say it in words.
      throw new TallyError(result.code ?? 'failed', `${(result.code ?? 'failed').replace(/_/g, ' ')}: the chain recorded transaction ${result.id} at block ${result.height} as failed (its nonce is used, nothing else changed)`, {
        details: { receipt: result },
      });
    }
    return result;
  });
}

/** Run a query signed by the --key account (see src/chain/query-auth.ts). */
export async function signedQuery(options: ClientOptions, name: string, params: Record<string, unknown>): Promise<unknown> {
  const signer = await unlockKey(options);
  return withClient(options, async (client) => {
    const info = (await client.call('node.info')) as { chain: string };
    return client.call('query', { name, params: signQuery(info.chain, name, params, signer, signer.id) });
  });
}

/** The --key signer, after asking for (or reading) its passphrase. */
export async function unlockKey(options: ClientOptions): Promise<Signer & { id: string; name: string }> {
  const home = homeDir(options);
  const keyName = resolveKeyName(home, options.key);
  return withPassphrase(keyName, (passphrase) => loadSigner(home, keyName, passphrase), { file: options.passphraseFile });
}

export const cliContext: CliContext = {
  submitTx: (type, body, options) => submitSigned(options as ClientOptions, type, body),
  query: (name, params, options) => withClient(options as ClientOptions, (c) => c.call('query', { name, params })),
  signedQuery: (name, params, options) => signedQuery(options as ClientOptions, name, params),
  call: (method, params, options) => withClient(options as ClientOptions, (c) => c.call(method, params)),
  signer: (options) => unlockKey(options as ClientOptions),
  home: (options) => homeDir(options as ClientOptions),
  passphrase: (prompt, options) => readPassphrase(prompt, {
    ...(options.file !== undefined ? { file: options.file } : {}), ...(options.envVar !== undefined ? { envVar: options.envVar } : {}), ...(options.confirm ? { confirm: true } : {}),
  }),
  output: (options, value, human) => output(options as { json?: boolean }, value, human),
  clientOptions: addClientOptions,
  dataDir: (options) => (options as { data?: string }).data ?? defaultDataDir(),
  isHttpTarget,
  publicListener,
  serviceProcess: (service) => {
    const metrics = serviceMetrics(service);
    return {
      registry: metrics.registry,
      observe: (app, listener) => observeHttp(app, { listener, metrics, accessLog: 'off' }),
      costLimit: (app, unitsPerMin) => registerCostLimit(app, unitsPerMin, { everyRoute: true }),
    };
  },
  currentAccountId: (options) => {
    const home = homeDir(options as ClientOptions);
    return keyInfo(home, resolveKeyName(home, (options as ClientOptions).key)).id;
  },
};

export function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535) fail('bad_flag', `${flag} must be HOST:PORT, e.g. 127.0.0.1:7700`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}
