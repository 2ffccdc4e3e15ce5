// `tally bench`: committed signed transfers per second over HTTP batch submit and the
// Unix socket, submit-to-acknowledge latency, and the machine's Ed25519 verify rate on all
// cores measured in the same run, with the ratio between the two.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { connectClient, type Client } from '../src/api/client.js';
import { signTx, type Envelope, type Tx } from '../src/chain/envelope.js';
import type { SubmitResult } from '../src/chain/app-module.js';
import { accountIdFromPub, signerFromPrivateKey, type Signer } from '../src/core/keys.js';
import { TallyError } from '../src/core/errors.js';
import { cpuProfArgs } from './usage.js';

export interface BenchOptions {
  /** an already running node (http(s):// URL); default: start a fresh dev node */
  node?: string;
  /** its Unix socket for the socket phase (default: derived when we start the node) */
  socket?: string;
  durationSecs: number;
  accounts: number;
  httpBatch: number;
  socketBatch: number;
  concurrency: number;
  socketConcurrency: number;
  sync: 'FULL' | 'NORMAL';
  /** the node it starts runs with --cpu-prof and writes its profile here when it stops */
  cpuProfDir?: string;
  log: (line: string) => void;
}

export interface PhaseResult {
  transport: 'http' | 'socket';
  committed: number;
  failed: number;
  refused: number;
  seconds: number;
  tx_per_s: number;
  p50_ms: number;
  p99_ms: number;
}

export interface BenchResult {
  tx_per_s: number;
  p50_ms: number;
  p99_ms: number;
  verify_per_s: number;
  ratio: number;
  openssl_verify_per_s: number | null;
  ratio_openssl: number | null;
  http: PhaseResult;
  socket: PhaseResult;
  /** one transaction at a time over the socket: the latency of a lone request */
  single: { count: number; p50_ms: number; p99_ms: number };
  cores: number;
  cpu: string;
  accounts: number;
  duration_s: number;
  sync: string;
  node_version: string;
}

const binPath = fileURLToPath(new URL('../../bin/tally.js', import.meta.url));

interface StartedNode {
  http: string;
  socket: string;
  child: ChildProcess;
  dataDir: string;
}

async function startNode(sync: string, cpuProfDir?: string): Promise<StartedNode> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-'));
  const child = spawn(process.execPath, [...cpuProfArgs(cpuProfDir), binPath, 'node', '--dev', '--data', dataDir, '--http', '127.0.0.1:0', '--internal', 'off', '--sync', sync, '--rate-limit', 'off', '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const rl = readline.createInterface({ input: child.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench node exited with ${code}`)));
  });
  const info = JSON.parse(line) as { http: string; socket: string };
  return { http: info.http, socket: info.socket, child, dataDir };
}

interface BenchAccount {
  signer: Signer;
  id: string;
  nonce: number;
}

function makeAccounts(n: number): BenchAccount[] {
  return Array.from({ length: n }, () => {
    const signer = signerFromPrivateKey(crypto.generateKeyPairSync('ed25519').privateKey);
    return { signer, id: accountIdFromPub(signer.pub), nonce: 0 };
  });
}

function txFor(chain: string, a: BenchAccount, type: string, body: Record<string, unknown>): Envelope {
  const tx: Tx = { chain, type, from: a.id, nonce: a.nonce++, expires: Math.floor(Date.now() / 1000) + 3600, body };
  return signTx(tx, a.signer);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function submitAll(client: Client, txs: Envelope[]): Promise<SubmitResult[]> {
  return (await client.call('tx.submit', { txs })) as SubmitResult[];
}

/**
 * Pre-sign transfers into per-lane queues. Lane j owns accounts j, j+K, ...: one lane
 * submits its batches in order, so an account's nonces always arrive in order.
 */
function presign(chain: string, accounts: BenchAccount[], lanes: number, total: number, batch: number): Envelope[][][] {
  const perLane: Envelope[][] = Array.from({ length: lanes }, () => []);
  let made = 0;
  let round = 0;
  while (made < total) {
    for (let i = 0; i < accounts.length && made < total; i++) {
      const a = accounts[i]!;
      const to = accounts[(i + 1 + round) % accounts.length]!;
      perLane[i % lanes]!.push(txFor(chain, a, 'ledger.send', { to: to.id, amount: '0.000001' }));
      made++;
    }
    round++;
  }
  return perLane.map((list) => {
    const batches: Envelope[][] = [];
    for (let i = 0; i < list.length; i += batch) batches.push(list.slice(i, i + batch));
    return batches;
  });
}

async function runPhase(
  transport: 'http' | 'socket', clients: Client[], lanes: Envelope[][][], durationSecs: number,
): Promise<PhaseResult> {
  const latencies: number[] = [];
  let committed = 0;
  let failed = 0;
  let refused = 0;
  let firstRefusal: string | undefined;
  const started = performance.now();
  const deadline = started + durationSecs * 1000;
  await Promise.all(lanes.map(async (batches, j) => {
    const client = clients[j % clients.length]!;
    for (const batch of batches) {
      if (performance.now() >= deadline) return;
      const t0 = performance.now();
      const results = await submitAll(client, batch);
      const ms = performance.now() - t0;
      for (const r of results) {
        if ('error' in r) {
          refused++;
          firstRefusal ??= r.error.code;
        } else if (r.status === 'ok') {
          committed++;
          latencies.push(ms);
        } else failed++;
      }
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  if (firstRefusal) console.error(`bench: ${refused} transactions refused over ${transport}, first code ${firstRefusal}`);
  latencies.sort((a, b) => a - b);
  return {
    transport, committed, failed, refused, seconds: round(seconds, 2),
    tx_per_s: Math.round(committed / seconds),
    p50_ms: round(percentile(latencies, 50), 1),
    p99_ms: round(percentile(latencies, 99), 1),
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** node:crypto (OpenSSL) Ed25519 verifies per second, one worker thread per core, all at once. */
export async function measureVerifyRate(seconds: number, threads = os.availableParallelism()): Promise<number> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const crypto = require('node:crypto');
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    const msg = Buffer.alloc(220, 7);
    const sig = crypto.sign(null, msg, privateKey);
    let n = 0; const end = Date.now() + workerData * 1000;
    while (Date.now() < end) { for (let i = 0; i < 100; i++) crypto.verify(null, msg, publicKey, sig); n += 100; }
    parentPort.postMessage(n / workerData);`;
  const rates = await Promise.all(Array.from({ length: threads }, () => new Promise<number>((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: seconds });
    w.once('message', resolve);
    w.once('error', reject);
  })));
  return Math.round(rates.reduce((a, b) => a + b, 0));
}

/** `openssl speed -multi N ed25519`, the C library's own limit on the same cores, if openssl is installed. */
export function measureOpensslVerifyRate(seconds: number, threads = os.availableParallelism()): number | null {
  try {
    const out = execFileSync('openssl', ['speed', '-multi', String(threads), '-seconds', String(seconds), 'ed25519'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const line = out.split('\n').reverse().find((l) => /Ed25519/.test(l));
    const nums = line?.trim().split(/\s+/).map(Number).filter((x) => Number.isFinite(x));
    return nums && nums.length > 0 ? Math.round(nums[nums.length - 1]!) : null;
  } catch {
    return null;
  }
}

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  let started: StartedNode | undefined;
  let httpTarget = o.node;
  let socketTarget = o.socket;
  if (!httpTarget) {
    o.log(`starting a dev node (synchronous=${o.sync}) ...`);
    started = await startNode(o.sync, o.cpuProfDir);
    httpTarget = started.http;
    socketTarget = started.socket;
  }
  const http = connectClient(httpTarget);
  try {
    const info = (await http.call('node.info')) as { chain: string };
    const accounts = makeAccounts(o.accounts);
    o.log(`registering ${accounts.length} accounts ...`);
    for (let i = 0; i < accounts.length; i += 1000) {
      const results = await submitAll(http, accounts.slice(i, i + 1000).map((a, k) => txFor(info.chain, a, 'ledger.register', { name: `b${process.pid % 10000}x${i + k}` })));
      const bad = results.find((r) => 'error' in r || r.status !== 'ok');
      if (bad) throw new TallyError('bench_setup_failed', `registration failed: ${JSON.stringify(bad)}`);
    }
    // Enough transfers for the duration at up to 15,000/s; a phase ends early if they run out.
    const perPhase = Math.min(o.durationSecs * 15_000, 600_000);
    const lanes = o.concurrency;
    o.log(`pre-signing ${perPhase} transfers ...`);
    const httpLanes = presign(info.chain, accounts, lanes, perPhase, o.httpBatch);

    o.log(`HTTP batch submit (${o.httpBatch} per request, ${lanes} in flight) for ${o.durationSecs}s ...`);
    const httpPhase = await runPhase('http', [http], httpLanes, o.durationSecs);
    o.log(`  ${httpPhase.tx_per_s} tx/s, p50 ${httpPhase.p50_ms} ms, p99 ${httpPhase.p99_ms} ms`);

    // The socket phase continues each account's nonces after the ones the HTTP phase used;
    // transfers the HTTP phase did not get to were never sent, so re-sign from the chain's nonces.
    let socketPhase: PhaseResult = { transport: 'socket', committed: 0, failed: 0, refused: 0, seconds: 0, tx_per_s: 0, p50_ms: 0, p99_ms: 0 };
    let single = { count: 0, p50_ms: 0, p99_ms: 0 };
    if (socketTarget) {
      for (const a of accounts) a.nonce = ((await http.call('auth.get', { id: a.id })) as { nonce: number }).nonce;
      const socketLanes = o.socketConcurrency;
      const resigned = presign(info.chain, accounts, socketLanes, perPhase, o.socketBatch);
      const sockets = Array.from({ length: socketLanes }, () => connectClient(socketTarget));
      o.log(`Unix socket submit (${o.socketBatch} per line, ${socketLanes} lines in flight) for ${o.durationSecs}s ...`);
      socketPhase = await runPhase('socket', sockets, resigned, o.durationSecs);
      for (const s of sockets) s.close();
      o.log(`  ${socketPhase.tx_per_s} tx/s, p50 ${socketPhase.p50_ms} ms, p99 ${socketPhase.p99_ms} ms`);

      // A lone client on an idle node: submit, wait for the commit, repeat.
      const a = accounts[0]!;
      a.nonce = ((await http.call('auth.get', { id: a.id })) as { nonce: number }).nonce;
      const sock = connectClient(socketTarget);
      const lone: number[] = [];
      const until = performance.now() + 3000;
      while (performance.now() < until && lone.length < 2000) {
        const env = txFor(info.chain, a, 'ledger.send', { to: accounts[1]!.id, amount: '0.000001' });
        const t0 = performance.now();
        const r = (await sock.call('tx.submit', { tx: env })) as SubmitResult;
        if ('error' in r) throw new TallyError('bench_failed', `single submit refused: ${r.error.code}`);
        lone.push(performance.now() - t0);
      }
      sock.close();
      lone.sort((x, y) => x - y);
      single = { count: lone.length, p50_ms: round(percentile(lone, 50), 2), p99_ms: round(percentile(lone, 99), 2) };
      o.log(`one at a time over the socket: p50 ${single.p50_ms} ms, p99 ${single.p99_ms} ms (${single.count} transactions)`);
    }

    o.log('measuring Ed25519 verify rate on all cores (node:crypto and openssl speed) ...');
    const verify = await measureVerifyRate(3);
    const openssl = measureOpensslVerifyRate(3);
    return {
      tx_per_s: httpPhase.tx_per_s,
      p50_ms: httpPhase.p50_ms,
      p99_ms: httpPhase.p99_ms,
      verify_per_s: verify,
      ratio: round(httpPhase.tx_per_s / verify, 3),
      openssl_verify_per_s: openssl,
      ratio_openssl: openssl ? round(httpPhase.tx_per_s / openssl, 3) : null,
      http: httpPhase,
      socket: socketPhase,
      single,
      cores: os.availableParallelism(),
      cpu: os.cpus()[0]?.model ?? 'unknown',
      accounts: accounts.length,
      duration_s: o.durationSecs,
      sync: o.node ? 'as configured' : o.sync,
      node_version: process.version,
    };
  } finally {
    http.close();
    if (started) {
      started.child.kill('SIGTERM');
      await new Promise((r) => started!.child.once('exit', r));
      fs.rmSync(started.dataDir, { recursive: true, force: true });
    }
  }
}
