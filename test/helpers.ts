// Shared helpers for the end-to-end tests: start real node processes on temporary data
// directories, run the CLI as a separate process, talk HTTP and the raw Unix socket, and
// build signed transactions. Every wait has a deadline so a broken node cannot hang a test.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalJson } from '../src/core/canonical.js';
import { utf8 } from '../src/core/encoding.js';
import { accountIdFromPub, signerFromPrivateKey, verifySignature, type Signer } from '../src/core/keys.js';
import { REPLY_DOMAIN } from '../src/chain/blocks.js';
import { signTx, type Envelope, type Tx } from '../src/chain/envelope.js';

/** dist/test/helpers.js -> the repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TALLY_BIN = path.join(ROOT, 'bin', 'tally.js');
export const PASSPHRASE = 'test-passphrase';

// ---------------------------------------------------------------------------------------
// Temporary directories and process bookkeeping

const tempDirs = new Set<string>();
const liveNodes = new Set<ChildProcess>();

/** A fresh directory under the OS temp dir, removed by cleanup(). Short, so socket paths fit in 108 bytes. */
export function tempDir(prefix = 'tally-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Kill every node this file started that is still running, and remove the temp dirs. */
export async function cleanup(): Promise<void> {
  await Promise.all([...liveNodes].map(async (p) => {
    p.kill('SIGKILL');
    await waitExit(p, 5000).catch(() => undefined);
  }));
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

// A test file that crashes must not leave node processes behind.
process.on('exit', () => {
  for (const p of liveNodes) p.kill('SIGKILL');
});

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function waitExit(p: ChildProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve({ code: p.exitCode, signal: p.signalCode });
  return withTimeout(new Promise((resolve) => p.once('exit', (code, signal) => resolve({ code, signal }))), ms, `process ${p.pid} to exit`);
}

// ---------------------------------------------------------------------------------------
// Node processes

export interface Listening {
  event: 'listening';
  dataDir: string;
  created: boolean;
  chain: string;
  height: number;
  nodeKey: string;
  socket: string;
  http: string;
  internal: string;
  config?: string | null;
  /** info of module services (e.g. tickets: {sources, socket}) */
  services?: Record<string, Record<string, any>>;
}

export interface NodeProcess {
  /** the keystore holding the dev chain's admin key ("admin") */
  home: string;
  http: string;
  socket: string;
  internal: string;
  dataDir: string;
  nodeKey: string;
  listening: Listening;
  proc: ChildProcess;
  /** What the node wrote to stderr so far (for failure messages). */
  stderr(): string;
  /** SIGTERM and wait; resolves with the exit code (0 on a clean stop). */
  stop(): Promise<number | null>;
  /** SIGKILL (kill -9) and wait. */
  kill9(): Promise<void>;
}

export interface StartOptions {
  /** Reuse this data directory (restart); default: a new one inside a fresh temp dir. */
  dataDir?: string;
  extraArgs?: string[];
  timeoutMs?: number;
  /** Keystore where --dev puts (or finds) the admin key; default: a fresh temp dir. */
  home?: string;
  /** Run the node under this command, e.g. ['ip', 'netns', 'exec', NS] (it must exec, keeping the pid). */
  prefix?: string[];
}

export async function startNode(options: StartOptions = {}): Promise<NodeProcess> {
  const dataDir = options.dataDir ?? path.join(tempDir(), 'data');
  const args = [TALLY_BIN, 'node', '--dev', '--data', dataDir, '--http', '127.0.0.1:0', '--internal', '127.0.0.1:0', '--json', ...(options.extraArgs ?? [])];
  const home = options.home ?? tempDir('tally-home-');
  const [cmd, ...cmdArgs] = [...(options.prefix ?? []), process.execPath, ...args];
  const proc = spawn(cmd!, cmdArgs, { env: cleanEnv({ TALLY_HOME: home }), stdio: ['ignore', 'pipe', 'pipe'] });
  liveNodes.add(proc);
  proc.once('exit', () => liveNodes.delete(proc));
  let stdout = '';
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  const listening = await withTimeout(new Promise<Listening>((resolve, reject) => {
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      const nl = stdout.indexOf('\n');
      if (nl < 0) return;
      try {
        const first = JSON.parse(stdout.slice(0, nl)) as Listening;
        if (first.event !== 'listening') reject(new Error(`unexpected first line: ${stdout.slice(0, nl)}`));
        resolve(first);
      } catch (err) {
        reject(new Error(`the first stdout line is not JSON: ${stdout.slice(0, nl)} (${(err as Error).message})`));
      }
    });
    proc.once('exit', (code, signal) => reject(new Error(`node exited (code ${code}, signal ${signal}) before listening:\n${stdout}\n${stderr}`)));
    proc.once('error', reject);
  }), options.timeoutMs ?? 20_000, 'the node to print its listening line').catch((err: unknown) => {
    proc.kill('SIGKILL');
    throw err;
  });
  return {
    home,
    http: listening.http,
    socket: listening.socket,
    internal: listening.internal,
    dataDir,
    nodeKey: listening.nodeKey,
    listening,
    proc,
    stderr: () => stderr,
    async stop() {
      proc.kill('SIGTERM');
      try {
        return (await waitExit(proc, 15_000)).code;
      } catch (err) {
        proc.kill('SIGKILL');
        throw err;
      }
    },
    async kill9() {
      proc.kill('SIGKILL');
      await waitExit(proc, 10_000);
    },
  };
}

// ---------------------------------------------------------------------------------------
// The CLI as a separate process

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is one JSON value, else undefined. */
  json: any;
}

/** Environment for child processes: no inherited TALLY_* settings, fast KDF, no prompts. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('TALLY_')) delete env[k];
  delete env.NODE_TEST_CONTEXT; // a child `node` must not think it runs under the test runner
  return { ...env, TALLY_SCRYPT_N: '1024', TALLY_PASSPHRASE: PASSPHRASE, ...extra };
}

/** Run `tally ARGS...` with TALLY_HOME=home (under `prefix`, as in StartOptions); never rejects on a non-zero exit. */
export function cli(home: string, args: string[], timeoutMs = 30_000, prefix: string[] = []): Promise<CliResult> {
  const [cmd, ...cmdArgs] = [...prefix, process.execPath, TALLY_BIN, ...args];
  return new Promise((resolve, reject) => {
    execFile(cmd!, cmdArgs, { env: cleanEnv({ TALLY_HOME: home }), timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; killed?: boolean; signal?: string }) | null;
        if (e && (e.killed || e.signal)) return reject(new Error(`tally ${args.join(' ')} was killed (${e.signal ?? 'timeout'}):\n${stdout}\n${stderr}`));
        if (e && typeof e.code !== 'number') return reject(e);
        let json: unknown;
        try {
          json = JSON.parse(stdout);
        } catch {
          json = undefined;
        }
        resolve({ code: e ? (e.code as number) : 0, stdout, stderr, json });
      });
  });
}

/** Like cli() but the command must exit 0; returns its JSON output. */
export async function cliOk(home: string, args: string[], timeoutMs?: number, prefix?: string[]): Promise<any> {
  const r = await cli(home, args, timeoutMs, prefix);
  if (r.code !== 0) throw new Error(`tally ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.json;
}

// ---------------------------------------------------------------------------------------
// HTTP

export interface HttpResult {
  status: number;
  body: any;
  /** the raw response text */
  text: string;
}

export async function httpGet(url: string, timeoutMs = 10_000): Promise<HttpResult> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  return { status: res.status, body: parseJson(text), text };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** POST a JSON value, or a raw string sent as-is with content-type application/json. */
export async function httpPost(url: string, body: unknown, options: { raw?: boolean; timeoutMs?: number } = {}): Promise<HttpResult> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: options.raw ? (body as string) : JSON.stringify(body),
    signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
  });
  const text = await res.text();
  return { status: res.status, body: parseJson(text), text };
}

/** GET that must answer 200. */
export async function getOk(url: string): Promise<any> {
  const r = await httpGet(url);
  if (r.status !== 200) throw new Error(`GET ${url} -> ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

// ---------------------------------------------------------------------------------------
// Accounts and transactions

export interface Account {
  signer: Signer;
  id: string;
  nonce: number;
}

export function newAccount(): Account {
  const signer = signerFromPrivateKey(crypto.generateKeyPairSync('ed25519').privateKey);
  return { signer, id: accountIdFromPub(signer.pub), nonce: 0 };
}

/** Register each account under its name on a running node; throws on any refusal. */
export async function registerNamed(nodeHttp: string, named: ReadonlyArray<readonly [Account, string]>): Promise<void> {
  for (const [acct, name] of named) {
    const r = await httpPost(`${nodeHttp}/v1/txs`, makeTx(acct, 'ledger.register', { name }));
    if (r.body?.status !== 'ok') throw new Error(`register ${name}: ${JSON.stringify(r.body)}`);
  }
}

export function nowSecs(): number {
  return Math.floor(Date.now() / 1000);
}

export interface TxOptions {
  chain?: string;
  nonce?: number;
  expires?: number;
}

/** A signed envelope from `acct`; uses (and advances) acct.nonce unless opts.nonce is given. */
export function makeTx(acct: Account, type: string, body: Record<string, unknown>, opts: TxOptions = {}): Envelope {
  const nonce = opts.nonce ?? acct.nonce++;
  const tx: Tx = { chain: opts.chain ?? 'tally-dev', type, from: acct.id, nonce, expires: opts.expires ?? nowSecs() + 600, body };
  return signTx(tx, acct.signer);
}

/** Decimal string with `decimals` places -> bigint minor units ("12.5" -> 12500000n). */
export function toMinor(amount: string, decimals = 6): bigint {
  const negative = amount.startsWith('-');
  const [whole, frac = ''] = (negative ? amount.slice(1) : amount).split('.');
  const v = BigInt(whole! + frac.padEnd(decimals, '0'));
  return negative ? -v : v;
}

// ---------------------------------------------------------------------------------------
// Raw Unix socket: send arbitrary bytes, read reply lines

export interface SocketReply {
  id: unknown;
  result?: any;
  error?: { code: string; message: string };
  node: string;
  sig: string;
}

/** Does the reply's signature verify for the given node key? */
export function replySignatureValid(reply: SocketReply, nodeKey: string): boolean {
  if (reply.node !== nodeKey || typeof reply.sig !== 'string') return false;
  try {
    return verifySignature(nodeKey, utf8.encode(REPLY_DOMAIN + canonicalJson({ ...reply, sig: undefined })), reply.sig);
  } catch {
    return false;
  }
}

export class RawSocket {
  private buffer = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;
  closed = false;

  private constructor(private readonly conn: net.Socket) {
    conn.setEncoding('utf8');
    conn.on('data', (c: string) => {
      this.buffer += c;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
      }
      this.waiter?.();
    });
    conn.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    conn.on('error', () => undefined);
  }

  static connect(socketPath: string, timeoutMs = 5000): Promise<RawSocket> {
    return withTimeout(new Promise((resolve, reject) => {
      const conn = net.createConnection(socketPath);
      conn.once('connect', () => resolve(new RawSocket(conn)));
      conn.once('error', reject);
    }), timeoutMs, `connect to ${socketPath}`);
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.conn.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** The next reply line as raw text, waiting until `deadline` (a Date.now() time). */
  async nextLine(deadline: number): Promise<string> {
    while (this.lines.length === 0) {
      if (this.closed) throw new Error('the socket closed before a reply arrived');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no reply line before the deadline');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.lines.shift()!;
  }

  /** The next reply line, parsed. */
  async next(timeoutMs = 10_000): Promise<SocketReply> {
    return JSON.parse(await this.nextLine(Date.now() + timeoutMs)) as SocketReply;
  }

  /** Lines received and not yet read. */
  get queued(): number {
    return this.lines.length;
  }

  /** Send one request line and read one reply. */
  async request(id: unknown, method: string, params?: unknown, timeoutMs?: number): Promise<SocketReply> {
    await this.write(JSON.stringify({ id, method, params }) + '\n');
    return this.next(timeoutMs);
  }

  close(): void {
    this.conn.destroy();
  }

  destroy(): void {
    this.conn.destroy();
  }
}

/** Poll `fn` every 100 ms until it holds; fail naming `what` after `ms`. */
export async function until(what: string, fn: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The JSON in the ```json fence between two markers of README.md (a spec's vectors block). */
export function readmeJsonBlock<T>(begin: string, end: string): T {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(begin);
  const stop = readme.indexOf(end);
  assert.ok(start >= 0 && stop > start, `README.md has no ${begin} ... ${end} block`);
  const block = /```json\n([\s\S]*?)\n```/.exec(readme.slice(start, stop));
  assert.ok(block, 'the vectors block holds one ```json fence');
  return JSON.parse(block[1]!) as T;
}
