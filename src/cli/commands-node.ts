// `tally init` and `tally node`.
import fs from 'node:fs';
import type { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import type net from 'node:net';
import { fail } from '../core/errors.js';
import { flag, int, intFlag, oneOf } from '../core/decode.js';
import { limits } from '../core/limits.js';
import { POLICIES } from '../modules/ledger/genesis.js';
import { defaultGenesis } from '../chain/genesis.js';
import { dataPaths, initDataDir, isInitialized, TallyNode } from '../chain/node.js';
import { ModuleServices } from '../app/services.js';
import { createLogger, log, LOG_FORMATS, LOG_LEVELS, useLogger, type LogFormat, type LogLevel } from '../app/log.js';
import type { AccessLogLevel } from '../api/observe.js';
import { buildInternalHttp } from '../api/internal.js';
import { buildPublicHttp, defaultPublicHttpOptions, type PublicHttpOptions } from '../api/http.js';
import { addressMatcher } from '../api/connections.js';
import { corsOrigins } from '../api/cors.js';
import { listenSocket } from '../api/socket.js';
import { allModules, chainModules } from '../modules/index.js';
import type { Synchronous } from '../store/sqlite.js';
import { acceptRollback } from '../store/watermark.js';
import { initFromSnapshot } from '../chain/snapshot-init.js';
import { loadNodeConfig, NETWORK_SECTION, type NetworkConfig } from './config.js';
import { initReplicaFromPeer, multiaddrList, startNodeNetwork, type NodeNetwork } from './network.js';
import { STATE_TREE_KEEP_VERSIONS_DEFAULT } from '../chain/state-tree/reads.js';
import { VERIFIER_THREADS_MAX } from '../chain/verifier.js';
import { defaultDataDir, parseHostPort } from './context.js';
import { createKey, defaultHome, keyInfo, listKeys, readPassphraseFile } from './keystore.js';
import { output, table } from './output.js';

export const DEFAULT_HTTP = '127.0.0.1:7700';
export const DEFAULT_INTERNAL = '127.0.0.1:7701';
/** Unix socket connections at once, by default (local clients; the ceiling is limits.socketConnectionsMax). */
const DEFAULT_SOCKET_CONNECTIONS = 1024;
/** A longer light-load wait only delays acknowledgements; a minute is already absurd. */
const BLOCK_DELAY_MS_MAX = 60_000;
const RATE_LIMIT_PER_MIN_MAX = 100_000_000;
/** HTTP timeouts an operator may set: from 100 ms to an hour. */
const msFlag = (name: string) => intFlag(name, 100, 3_600_000);

// Flags are decoded while commander parses them, before any action runs: a bad value is a
// usage error (exit 2) and nothing is created or started.
const rateLimitInt = int({ min: 0, max: RATE_LIMIT_PER_MIN_MAX, text: true, what: `an integer from 0 to ${RATE_LIMIT_PER_MIN_MAX}, or off` });
const rateLimitFlag = flag('--rate-limit', (v, at) => (v === 'off' ? 0 : rateLimitInt(v, at)));
const syncFlag = flag('--sync', (v, at) => oneOf(['FULL', 'NORMAL', 'EXTRA'])(typeof v === 'string' ? v.toUpperCase() : v, at));
const ACCESS_LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'off'] as const;
const logFormatFlag = flag('--log-format', oneOf(LOG_FORMATS));
const logLevelFlag = flag('--log-level', oneOf(LOG_LEVELS));
const accessLogFlag = flag('--access-log', oneOf(ACCESS_LOG_LEVELS));
const listenFlag = (name: string) => (text: string): string => {
  if (text !== 'off') parseHostPort(text, name);
  return text;
};

function initFromSnapshotCommand(opts: InitOptions & { fromSnapshot: string; nodeKeyFile?: string; nodeKey?: string; replica?: boolean }): void {
  if (opts.replica && opts.nodeKeyFile) fail('bad_args', '--replica follows the chain key (--node-key); it takes no --node-key-file');
  if (opts.replica && !(opts.nodeKey ?? process.env.TALLY_NODE_KEY)) fail('bad_args', '--replica needs --node-key KEY: the chain key the replica trusts');
  if (!opts.nodeKeyFile && !opts.replica) fail('bad_args', '--from-snapshot needs --node-key-file FILE: the node key that signed the snapshot signs the blocks after it', { hint: 'copy node.key (mode 0600) from the data directory the snapshot came from' });
  if (opts.genesis !== undefined) fail('bad_args', '--from-snapshot takes the genesis from the snapshot: leave out --genesis');
  const dataDir = opts.data ?? defaultDataDir();
  const bar = !opts.json && process.stderr.isTTY ? (done: number, total: number) => process.stderr.write(`\rchecked ${done}/${total} entries${done === total ? '\n' : ''}`) : undefined;
  const r = initFromSnapshot(dataDir, opts.fromSnapshot, opts.replica ? undefined : opts.nodeKeyFile, opts.nodeKey ?? process.env.TALLY_NODE_KEY, allModules, bar);
  const h = r.head.block.header;
  output(opts, { dataDir, chain: h.chain, height: h.height, entries: r.head.entries, stateRoot: r.root, nodePub: r.nodePub }, () =>
    `initialized chain "${h.chain}" in ${dataDir} at height ${h.height} from ${opts.fromSnapshot} (${r.head.entries} state entries; their root is the signed stateRoot)\n` +
    table([['node key', r.nodePub], ['stateRoot', r.root], ['block', r.head.block.hash]]) +
    `\nblocks 1 to ${h.height - 1} and the transactions below ${h.height + 1} are not in this directory; start it with: tally node --data ${dataDir}` + (opts.replica ? ' --follow ADDR' : ''));
}

async function initReplicaCommand(opts: InitOptions & { follow: string[]; nodeKey?: string }): Promise<void> {
  const chainKey = opts.nodeKey ?? process.env.TALLY_NODE_KEY;
  if (!chainKey) fail('bad_args', '--follow needs --node-key KEY (or $TALLY_NODE_KEY): the chain key the replica trusts', { hint: 'the writer\'s `tally status` shows its node key' });
  if (opts.genesis !== undefined) fail('bad_args', '--follow takes the genesis from the peer (checked against block 0 and --node-key): leave out --genesis');
  const dataDir = opts.data ?? defaultDataDir();
  const r = await initReplicaFromPeer(dataDir, opts.follow, chainKey, allModules);
  output(opts, { dataDir, chain: r.chain, genesisHash: r.genesisHash, chainKey, peer: r.peer, role: 'replica' }, () =>
    `initialized a replica of chain "${r.chain}" in ${dataDir} (block 0 from ${r.peer}, signed by ${chainKey})\n` +
    `start it with: tally node --data ${dataDir} --follow ${opts.follow.join(',')}`);
}

interface InitOptions {
  data?: string;
  chain: string;
  decimals: number;
  grant?: string;
  policy?: string;
  genesis?: string;
  /** a validator chain: a JSON file with the validator entries (`tally validator keys show --json` of each) */
  validators?: string;
  json?: boolean;
  /** dev chains: the admin's key (a genesis account named "admin") */
  admin?: { name: string; pub: string };
}

/**
 * A dev chain gets an admin, so disputes can be resolved and invites made from the start:
 * the key "admin" in the local keystore, made now if missing (passphrase from
 * --passphrase-file, else $TALLY_PASSPHRASE, else empty: a development key only). Never
 * asked at a terminal: a node is often started by a supervisor.
 */
async function devAdminKey(home: string, passphraseFile: string | undefined): Promise<{ name: string; pub: string; created: boolean; path: string; passphraseFrom: string }> {
  const name = 'admin';
  if (listKeys(home).some((k) => k.name === name)) {
    const k = keyInfo(home, name);
    return { name, pub: k.pub, created: false, path: k.path, passphraseFrom: 'unchanged' };
  }
  const passphrase = passphraseFile !== undefined ? readPassphraseFile(passphraseFile) : process.env.TALLY_PASSPHRASE ?? '';
  const k = await createKey(home, name, passphrase);
  const passphraseFrom = passphrase === '' ? 'empty; a development key only' : passphraseFile !== undefined ? passphraseFile : '$TALLY_PASSPHRASE';
  return { name, pub: k.pub, created: true, path: k.path, passphraseFrom };
}

function initNode(opts: InitOptions, dev: boolean) {
  const dataDir = opts.data ?? defaultDataDir();
  let genesis: unknown;
  if (opts.genesis) {
    try {
      genesis = JSON.parse(fs.readFileSync(opts.genesis, 'utf8'));
    } catch (err) {
      fail('genesis_invalid', `cannot read genesis file ${opts.genesis}: ${(err as Error).message}`);
    }
  } else {
    const g = defaultGenesis(chainModules, { chain: opts.chain, decimals: opts.decimals, dev });
    const ledger = g.modules.ledger as { registration: { policy: string; grant: string } };
    if (opts.grant !== undefined) ledger.registration.grant = opts.grant;
    if (opts.policy !== undefined) ledger.registration.policy = opts.policy;
    if (opts.admin) {
      const l = g.modules.ledger as { accounts: Array<{ name: string; pub: string; balance: string }>; admins: string[] };
      l.accounts.push({ name: opts.admin.name, pub: opts.admin.pub, balance: '0' });
      l.admins.push(opts.admin.name);
    }
    genesis = g;
  }
  if (opts.validators) {
    if (opts.genesis && (genesis as { validators?: unknown }).validators !== undefined) fail('bad_args', `${opts.genesis} already names validators: leave out --validators`);
    (genesis as { validators?: unknown }).validators = readValidatorList(opts.validators);
  }
  const result = initDataDir(dataDir, genesis, allModules);
  const p = dataPaths(dataDir);
  return { dataDir, chain: result.genesis.chain, nodePub: result.nodePub, genesis: p.genesis, db: p.db, dbKey: p.dbKey, nodeKey: p.nodeKey, socket: p.socket };
}

/** A validator list file: a JSON array of {key, blsKey, pop, power} (extra fields, like `files`, are dropped). */
function readValidatorList(file: string): unknown[] {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    fail('genesis_invalid', `cannot read validator list ${file}: ${(err as Error).message}`);
  }
  if (!Array.isArray(raw)) fail('genesis_invalid', `${file} must hold a JSON array of validators ({key, blsKey, pop, power}, as \`tally validator keys show --json\` prints them)`);
  return raw.map((v: unknown) => {
    const e = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
    return { key: e.key, blsKey: e.blsKey, pop: e.pop, power: e.power };
  });
}

export function registerNodeCommands(program: Command): void {
  program.command('init')
    .description('create a data directory: genesis.json, db.key and node.key (mode 0600), the encrypted database and block 0')
    .option('--data <dir>', 'data directory (default: $TALLY_DATA or ~/.tally/node)')
    .option('--chain <id>', 'chain id, inside every signed transaction', 'tally-local')
    .option('--decimals <n>', 'decimal places of amounts, fixed for the life of the chain', intFlag('--decimals', 0, limits.decimalsMax), 6)
    .option('--grant <amount>', 'starting balance the mint grants each new registration', '0')
    .option('--policy <open|invite|closed>', 'registration policy: open (anyone), invite (with an admin\'s invite code) or closed (genesis accounts only)', flag('--policy', oneOf(POLICIES)), 'open')
    .option('--admin <key>', 'make this keystore key a genesis account of the same name and an admin (resolves disputes, makes invites)')
    .option('--home <dir>', 'keystore for --admin (default: $TALLY_HOME or ~/.tally)')
    .option('--genesis <file>', 'use this genesis JSON instead of the flags above')
    .option('--validators <file>', 'make a validator chain: a JSON array of validator entries (each from `tally validator keys show --json`); every validator then runs `tally init --genesis <this data dir>/genesis.json`')
    .option('--from-snapshot <file>', 'start at a snapshot\'s height (`tally state export`), checked first: signatures, genesis, every entry against the signed stateRoot; needs --node-key-file')
    .option('--node-key-file <file>', 'with --from-snapshot: the node key (PEM, mode 0600) that signed the snapshot and signs the blocks after it (copied into the data directory)')
    .option('--node-key <key>', 'with --from-snapshot: the node key you trust (default: $TALLY_NODE_KEY, else the key in --node-key-file)')
    .option('--follow <multiaddrs>', 'make a replica: ask one of these peers (comma-separated multiaddrs) for the genesis and block 0; needs --node-key, the chain key you trust', multiaddrList)
    .option('--replica', 'with --from-snapshot: a replica\'s directory (it follows the chain key --node-key; no --node-key-file)')
    .option('--json', 'print JSON for scripts')
    .action(async (opts: InitOptions & { home?: string; admin?: string; fromSnapshot?: string; nodeKeyFile?: string; nodeKey?: string; follow?: string[]; replica?: boolean }) => {
      if (opts.fromSnapshot !== undefined) return initFromSnapshotCommand(opts as InitOptions & { fromSnapshot: string; nodeKeyFile?: string; nodeKey?: string });
      if (opts.follow !== undefined) return initReplicaCommand(opts as InitOptions & { follow: string[]; nodeKey?: string });
      const adminKey = typeof opts.admin === 'string' ? keyInfo(opts.home ?? defaultHome(), opts.admin) : undefined;
      const r = initNode({ ...opts, ...(adminKey ? { admin: { name: adminKey.name, pub: adminKey.pub } } : { admin: undefined }) }, false);
      output(opts, r, () => `initialized chain "${r.chain}" in ${r.dataDir}\n` + table([['node key', r.nodePub], ['genesis', r.genesis], ['database', r.db], ['db key', r.dbKey]]) +
        '\nstart it with: tally node --data ' + r.dataDir);
    });

  const nodeCommand = program.command('node')
    .description('run a node: Unix socket, public HTTP (+ WebSocket) and the internal listener')
    .option('--data <dir>', 'data directory (default: $TALLY_DATA or ~/.tally/node)')
    .option('--dev', 'development: create the data directory if missing (chain "tally-dev", open registration, grant 1000, and an admin key "admin" in the keystore)')
    .option('--home <dir>', 'with --dev: keystore for the admin key (default: $TALLY_HOME or ~/.tally)')
    .option('--passphrase-file <file>', 'with --dev: the passphrase of a new admin key, the first line of a 0600 file (before $TALLY_PASSPHRASE; else empty)')
    .option('--http <host:port|off>', `public HTTP listener (default ${DEFAULT_HTTP}; use 0.0.0.0:7700 to serve other machines)`, listenFlag('--http'), DEFAULT_HTTP)
    .option('--internal <host:port|off>', `internal listener for /health and /metrics (default ${DEFAULT_INTERNAL}; keep it on loopback)`, listenFlag('--internal'), DEFAULT_INTERNAL)
    .option('--socket <path>', 'Unix socket (default <data>/tally.sock)')
    .option('--rate-limit <n|off>', 'public HTTP rate-limit units per minute per client (a request costs 1, each submitted transaction 1, a proof 20, a full block 50)', rateLimitFlag, defaultPublicHttpOptions.rateLimitPerMin)
    .option('--cors-origin <list>', 'comma-separated origins (https://wallet.example.org, or * for any) whose browser pages may read the public HTTP API (default: none, CORS off)', flag('--cors-origin', corsOrigins))
    .option('--trust-proxy <list>', 'comma-separated addresses or CIDRs of your reverse proxies: from them, X-Forwarded-For names the client that rate limits and caps count (default: none)')
    .option('--http-keepalive-ms <n>', 'public HTTP: close a keep-alive connection idle this long', msFlag('--http-keepalive-ms'), defaultPublicHttpOptions.keepAliveTimeoutMs)
    .option('--http-headers-timeout-ms <n>', 'public HTTP: a connection must send complete request headers within this time', msFlag('--http-headers-timeout-ms'), defaultPublicHttpOptions.headersTimeoutMs)
    .option('--http-request-timeout-ms <n>', 'public HTTP: a whole request, body included, must arrive within this time', msFlag('--http-request-timeout-ms'), defaultPublicHttpOptions.requestTimeoutMs)
    .option('--http-connections <n>', `public HTTP: connections at once, in all (at most ${limits.httpConnectionsMax})`, intFlag('--http-connections', 1, limits.httpConnectionsMax), defaultPublicHttpOptions.connectionsMax)
    .option('--http-connections-per-address <n>', 'public HTTP: connections at once from one address (trusted proxies exempt)', intFlag('--http-connections-per-address', 1, limits.httpConnectionsMax), defaultPublicHttpOptions.connectionsPerAddressMax)
    .option('--socket-connections <n>', `Unix socket: connections at once (at most ${limits.socketConnectionsMax})`, intFlag('--socket-connections', 1, limits.socketConnectionsMax), DEFAULT_SOCKET_CONNECTIONS)
    .option('--sync <FULL|NORMAL>', 'SQLite synchronous mode: FULL survives power loss (default); NORMAL survives only process crashes', syncFlag, 'FULL')
    .option('--block-txs <n>', `most transactions per block (1 to ${limits.blockTxCountMax})`, intFlag('--block-txs', 1, limits.blockTxCountMax), limits.blockTxCountMax)
    .option('--block-delay-ms <n>', `longest wait before a block is made when load is light (0 to ${BLOCK_DELAY_MS_MAX})`, intFlag('--block-delay-ms', 0, BLOCK_DELAY_MS_MAX), 2)
    .option('--verifier-threads <n>', `threads that check transaction signatures (1 to ${VERIFIER_THREADS_MAX}; default: one per core, and one fewer on a replica, whose main thread needs a core of its own)`, intFlag('--verifier-threads', 1, VERIFIER_THREADS_MAX))
    .option('--state-versions <n>', `heights behind the tip whose state tree stays stored, for state proofs (0 to 1000000; older versions are pruned)`, intFlag('--state-versions', 0, 1_000_000), STATE_TREE_KEEP_VERSIONS_DEFAULT)
    .option('--accept-rollback <height>', 'the database lost blocks this node signed (db_behind_signed) and no backup has them: continue from its tip, HEIGHT (re-signs heights clients may hold other blocks for)', intFlag('--accept-rollback', 0, Number.MAX_SAFE_INTEGER))
    .option('--p2p <multiaddrs|off>', 'libp2p listen addresses, comma-separated (e.g. /ip4/0.0.0.0/tcp/7702): replicas follow this node there (default off; with --follow, /ip4/127.0.0.1/tcp/0)', (v: string) => (v === 'off' ? [] : multiaddrList(v)))
    .option('--follow <multiaddrs>', 'replica mode: follow the chain from these peers (the writer, other replicas), comma-separated multiaddrs with /p2p/<peer id>', multiaddrList)
    .option('--peers <multiaddrs>', 'validator chain: the other validators to connect to, comma-separated multiaddrs with /p2p/<peer id> (this node votes with <data>/validator.key)', multiaddrList)
    .option('--config <file>', 'node config file, one section per module (default: <data>/config.json if it exists; see the README)')
    .option('--log-format <text|json>', 'log records on stderr: readable text, or one JSON object per line (for journald, Loki, ...)', logFormatFlag, 'text')
    .option('--log-level <level>', 'least severe log records written: fatal, error, warn, info, debug, trace or silent', logLevelFlag, 'info')
    .option('--access-log <level|off>', 'one log record per HTTP request (method, route, status, ms, client address) at this level; off for none. Written when --log-level lets the level through', accessLogFlag, defaultPublicHttpOptions.accessLog)
    .option('--json', 'print one JSON line when listening (for scripts and tests); logs stay on stderr');
  for (const m of allModules) for (const [flags, description] of m.app.nodeOptions ?? []) nodeCommand.option(flags, description);
  nodeCommand.action(async (opts) => runNode(opts));
}

interface NodeCliOptions {
  data?: string;
  dev?: boolean;
  home?: string;
  passphraseFile?: string;
  http: string;
  internal: string;
  socket?: string;
  sync: Synchronous;
  blockTxs: number;
  blockDelayMs: number;
  stateVersions: number;
  verifierThreads?: number;
  /** rate-limit units per minute; 0 is off */
  rateLimit: number;
  trustProxy?: string;
  corsOrigin?: string[];
  httpKeepaliveMs: number;
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  httpConnections: number;
  httpConnectionsPerAddress: number;
  socketConnections: number;
  config?: string;
  p2p?: string[];
  follow?: string[];
  peers?: string[];
  acceptRollback?: number;
  logFormat: LogFormat;
  logLevel: LogLevel;
  accessLog: AccessLogLevel;
  json?: boolean;
}

/**
 * app.close() only closes the keep-alive connections that are idle when it starts; one that
 * was serving a request stays open until its 72 s keep-alive timeout. Close each as soon as
 * its last response is written.
 */
async function closeHttp(app: FastifyInstance): Promise<void> {
  const reaper = setInterval(() => app.server.closeIdleConnections(), 50);
  try {
    await app.close();
  } finally {
    clearInterval(reaper);
  }
}

/**
 * A listener that cannot bind is an operator's problem with a fix, not a stack trace:
 * the address is taken, not allowed, or not on this machine. Anything else is rethrown.
 */
function bindFailure(err: unknown, flagName: string, where: string, address: { host?: string; port?: number; path?: string }): never {
  const code = (err as NodeJS.ErrnoException).code;
  const options = { details: { flag: flagName, ...address }, cause: err };
  const other = address.path ? `another path with ${flagName} PATH` : `another port with ${flagName} HOST:PORT (or ${flagName} off)`;
  if (code === 'EADDRINUSE') {
    fail('address_in_use', `cannot listen on ${where}: another process is using it`, {
      ...options,
      hint: address.port !== undefined
        ? `stop that process (\`ss -ltnp 'sport = :${address.port}'\` names it; another tally node?), or choose ${other}`
        : `stop that process, or choose ${other}`,
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    fail('address_forbidden', `cannot listen on ${where}: not permitted`, {
      ...options,
      hint: address.port !== undefined ? `ports below 1024 need privileges; use a higher port with ${flagName} HOST:PORT and a reverse proxy in front` : `choose a directory this user may write, with ${flagName} PATH`,
    });
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENOENT') {
    fail('address_unavailable', `cannot listen on ${where}: ${address.path ? 'its directory does not exist' : `${address.host} is not an address of this machine`}`, {
      ...options,
      hint: address.path ? `create the directory, or choose ${other}` : `use 127.0.0.1, 0.0.0.0 or one of this machine's addresses with ${flagName} HOST:PORT`,
    });
  }
  throw err;
}

async function listenOn(app: FastifyInstance, flagName: string, text: string): Promise<string> {
  const { host, port } = parseHostPort(text, flagName);
  try {
    return await app.listen({ host, port });
  } catch (err) {
    bindFailure(err, flagName, `${text} (${flagName})`, { host, port });
  }
}

async function runNode(opts: NodeCliOptions): Promise<void> {
  // Logging first: everything after, failures included, goes through it.
  useLogger(createLogger({ format: opts.logFormat, level: opts.logLevel }));
  const dataDir = opts.data ?? defaultDataDir();
  // Read the config first: a typo stops the start with nothing created or changed.
  const config = loadNodeConfig(opts.config, dataDir, allModules);
  let created = false;
  let admin: Awaited<ReturnType<typeof devAdminKey>> | undefined;
  if (!isInitialized(dataDir)) {
    if (!opts.dev) fail('db_missing', `no node in ${dataDir}`, { hint: 'run `tally init --data DIR` first, or `tally node --dev`' });
    admin = await devAdminKey(opts.home ?? defaultHome(), opts.passphraseFile);
    initNode({ data: dataDir, chain: 'tally-dev', decimals: 6, grant: '1000', policy: 'open', admin }, true);
    created = true;
  }
  if (opts.acceptRollback !== undefined) {
    const accepted = acceptRollback(dataPaths(dataDir), opts.acceptRollback);
    if (accepted.from > accepted.to) log().warn({ from: accepted.from, to: accepted.to }, `accepted a rollback from signed height ${accepted.from} to ${accepted.to}; heights ${accepted.to + 1}..${accepted.from} will be signed again`);
  }
  const node = TallyNode.open({
    dataDir,
    modules: allModules,
    synchronous: opts.sync,
    blockTxCountMax: opts.blockTxs,
    blockDelayMsMax: opts.blockDelayMs,
    stateTreeKeepVersions: opts.stateVersions,
    ...(opts.verifierThreads !== undefined ? { verifierThreads: opts.verifierThreads } : {}),
  });
  const moduleServices = new ModuleServices(node);
  let network: NodeNetwork | undefined;
  const closers: Array<() => Promise<unknown>> = [];
  const socketPath = opts.socket ?? dataPaths(dataDir).socket;
  let httpUrl: string | null = null;
  let internalUrl: string | null = null;
  const services: Record<string, Record<string, unknown>> = {};
  // Module services speak in lines; each is one record, naming the module when the line does ("tickets: ...").
  const serviceLog = (line: string) => {
    const module = /^([a-z][a-z0-9-]*): /.exec(line)?.[1];
    log().info(module ? { module } : {}, line);
  };
  try {
    // Module services (watchers, signing threads, extra listeners) start before the
    // listeners that serve their routes; they stop first on shutdown.
    // A replica runs no module services: they sign and submit as the writer's operator would.
    if (node.role === 'writer') Object.assign(services, await moduleServices.start({ configs: config.sections, flags: opts as unknown as Record<string, unknown>, log: serviceLog }));
    const netConfig = (config.sections.get(NETWORK_SECTION) ?? {}) as NetworkConfig;
    opts.follow ??= netConfig.follow;
    opts.p2p ??= netConfig.p2p;
    if (opts.follow || (opts.p2p && opts.p2p.length > 0) || node.role !== 'writer') {
      network = await startNodeNetwork(node, { listen: opts.p2p ?? ['/ip4/127.0.0.1/tcp/0'], ...(opts.follow ? { follow: opts.follow } : {}), ...(opts.peers ? { peers: opts.peers } : {}) });
      const n = network;
      closers.push(() => n.stop());
    }
    const sock: net.Server = await listenSocket(node, socketPath, { connectionsMax: opts.socketConnections })
      .catch((err: unknown) => bindFailure(err, '--socket', `the socket ${socketPath} (--socket)`, { path: socketPath }));
    // server.close() waits for every open connection to end, so one idle client would hold
    // a stop forever: end them too (drain() has already answered what they submitted).
    const conns = new Set<net.Socket>();
    sock.on('connection', (c: net.Socket) => {
      conns.add(c);
      c.once('close', () => conns.delete(c));
    });
    closers.push(() => new Promise((r) => {
      sock.close(() => r(undefined));
      for (const c of conns) c.end(() => c.destroy());
    }));
    if (opts.http !== 'off') {
      const app: FastifyInstance = await buildPublicHttp(node, publicHttpOptions(opts));
      closers.push(() => closeHttp(app));
      httpUrl = await listenOn(app, '--http', opts.http);
    }
    if (opts.internal !== 'off') {
      const app = await buildInternalHttp(node, { accessLog: opts.accessLog });
      closers.push(() => closeHttp(app));
      internalUrl = await listenOn(app, '--internal', opts.internal);
    }
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => {});
    await moduleServices.stop();
    await node.close();
    throw err;
  }
  // Signal handlers go in before the listening line: a supervisor (or a test) may send
  // SIGTERM the moment it reads that line, and without a handler the default action kills
  // the process mid-way instead of stopping it cleanly.
  const activity = startActivityLog(node);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log().info({ signal }, `${signal}: stopping`);
    // Not ready from here on: a load balancer stops sending while admitted work drains.
    node.health.fail('node', `stopping (${signal})`);
    clearInterval(activity);
    // Module services (notary signing, anchoring) stop first: they may still submit.
    await moduleServices.stop();
    // Commit what was admitted and answer its submitters before the listeners close.
    node.drain();
    for (const close of closers.reverse()) await close().catch(() => {});
    await node.close();
    if (signal !== 'halt') process.exit(0);
  };
  // A programmer or storage error inside block execution: nothing was signed, the
  // submitters were told to retry. The node must not run on as if healthy; it stops with
  // the reason, and a supervisor restarts it (a damaged database then refuses to open).
  node.once('halt', (err: Error) => {
    log().fatal({ err: err.cause ?? err }, `halted: ${err.message}`);
    void stop('halt').finally(() => process.exit(70));
  });
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  const info = node.info();
  const devAdmin = admin ? { name: admin.name, pub: admin.pub, keyCreated: admin.created, keyFile: admin.path } : null;
  const p2p = network ? { peerId: network.transport.peerId, addrs: network.transport.addrs() } : null;
  const listening = { event: 'listening', dataDir, created, admin: devAdmin, chain: info.chain, height: info.height, nodeKey: info.nodeKey, role: node.role, p2p, socket: socketPath, http: httpUrl, internal: internalUrl, config: config.path, services };
  output({ json: opts.json ?? false }, listening, () =>
    (created ? `created a development chain in ${dataDir}\n` : '') +
    (admin ? (admin.created
      ? `created the admin key "${admin.name}" in ${admin.path} (passphrase: ${admin.passphraseFrom})\n`
      : `the existing key "${admin.name}" (${admin.path}) is this chain's admin\n`) : '') +
    `tally node: chain "${info.chain}" at height ${info.height}\n` +
    table([
      ['socket', socketPath],
      ['http', httpUrl ? `${httpUrl}  (wallet and explorer at /, API under /v1, OpenAPI at /v1/openapi.json, WebSocket /v1/ws)` : 'off'],
      ['internal', internalUrl ? `${internalUrl}  (/health, /health/ready, /health/live, /metrics, /openapi.json)` : 'off'],
      ['node key', info.nodeKey + (node.role === 'replica' ? '  (followed: this replica signs no blocks)' : '')],
      ['p2p', p2p ? p2p.addrs.join(' ') || p2p.peerId : 'off'],
      ['config', config.path ?? 'none (no <data>/config.json)'],
      ...Object.entries(services).map(([name, i]): [string, unknown] => [name, Object.entries(i).map(([k, v]) => `${k} ${String(v)}`).join(', ')]),
    ]) + '\nCtrl-C stops the node.' +
    (created ? '\n\nIn another terminal: tally keys new alice && tally register alice --key alice\n' +
      'Admin commands (resolve, invite, a full audit) sign with: --key admin' : ''));
  if (internalUrl && !isLoopback(new URL(internalUrl).hostname)) {
    log().warn({ internal: internalUrl }, `the internal listener ${internalUrl} is not on loopback; /metrics and the operator routes are reachable from the network`);
  }

}

/** A whole-number flag within [min, max], else bad_flag naming it. */
function publicHttpOptions(opts: NodeCliOptions): PublicHttpOptions {
  const trustProxy = (opts.trustProxy ?? '').split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  try {
    addressMatcher(trustProxy);
  } catch (err) {
    fail('bad_flag', `--trust-proxy: ${(err as Error).message}`);
  }
  const o: PublicHttpOptions = {
    rateLimitPerMin: opts.rateLimit,
    trustProxy,
    keepAliveTimeoutMs: opts.httpKeepaliveMs,
    headersTimeoutMs: opts.httpHeadersTimeoutMs,
    requestTimeoutMs: opts.httpRequestTimeoutMs,
    connectionsMax: opts.httpConnections,
    connectionsPerAddressMax: opts.httpConnectionsPerAddress,
    accessLog: opts.accessLog,
    corsOrigins: opts.corsOrigin ?? [],
  };
  // Node requires the headers to be due no later than the whole request.
  if (o.headersTimeoutMs > o.requestTimeoutMs) fail('bad_flag', '--http-headers-timeout-ms may not exceed --http-request-timeout-ms');
  return o;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host === '::1' || host.startsWith('127.');
}

/** One log record every 10 s while the node is making blocks: what an operator watches. */
function startActivityLog(node: TallyNode): NodeJS.Timeout {
  let last = { height: node.tip.height, txs: node.stats.txsCommitted, at: Date.now() };
  const timer = setInterval(() => {
    const now = { height: node.tip.height, txs: node.stats.txsCommitted, at: Date.now() };
    if (now.height !== last.height) {
      const secs = (now.at - last.at) / 1000;
      const refused = [...node.stats.txsRefused.values()].reduce((a, b) => a + b, 0);
      const activity = {
        height: now.height, blocks: now.height - last.height, txPerSec: Math.round((now.txs - last.txs) / secs),
        mempool: node.mempool.size, refusedSinceStart: refused, lastCommitMs: Math.round(node.stats.lastCommitMs * 10) / 10,
      };
      log().info({ activity },
        `height ${activity.height}: ${activity.blocks} blocks, ${activity.txPerSec} tx/s, mempool ${activity.mempool}, ${refused} refused since start, last commit ${activity.lastCommitMs.toFixed(1)} ms`);
    }
    last = now;
  }, 10_000);
  timer.unref();
  return timer;
}
