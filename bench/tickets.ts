// Tickets benchmark: redeem and token introspection requests per second over the public
// HTTP listener, hits and misses, with p50/p99 latency, plus GET /v1/node on the same
// listener as the ceiling of the HTTP stack on this machine. Starts its own dev node with a
// tickets config (Tally source, rate limits off), pays N PIDs with batched transfers, waits
// for the watcher, then runs each phase for --duration seconds with --concurrency requests in
// flight over keep-alive connections. Run: npm run bench:tickets [-- --duration 5 --json].
// With --serve N the tickets API is served instead by N `tally tickets serve` processes on a
// fresh PostgreSQL schema (TALLY_TEST_PG_URL, else the local server), requests spread over
// them round robin, and the ceiling is GET /api/v1/tickets (no database) on the same processes.
// --cpu-prof DIR profiles the node (the in-node case).
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { signTx, type Envelope, type Tx } from '../src/chain/envelope.js';
import { accountIdFromPub, signerFromPrivateKey, type Signer } from '../src/core/keys.js';
import { tallyMemoTag } from '../src/modules/tickets/pid.js';
import { cleanupPg, freshPgSchema } from '../test/pg.js';
import { cpuProfArgs, helpFromHeader } from './usage.js';

helpFromHeader(import.meta.url);

const binPath = fileURLToPath(new URL('../../bin/tally.js', import.meta.url));

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

const durationSecs = arg('duration', 5);
const concurrency = arg('concurrency', 32);
const pidCount = arg('pids', 20_000);
const json = process.argv.includes('--json');
const serveCount = process.argv.includes('--serve') ? arg('serve', 1) : 0;
/** --pool N: tickets.poolMax of each serve process (PostgreSQL connections) */
const poolMax = process.argv.includes('--pool') ? arg('pool', 8) : 8;
/** --cpu-prof DIR: the node runs with --cpu-prof and writes its profile there when it stops */
const cpuProf = cpuProfArgs(process.argv.includes('--cpu-prof') ? process.argv[process.argv.indexOf('--cpu-prof') + 1]! : undefined);
const log = (line: string) => { if (!json) process.stderr.write(line + '\n'); };

interface Phase {
  name: string;
  requests: number;
  /** answers with the expected status */
  expected: number;
  req_per_s: number;
  p50_ms: number;
  p99_ms: number;
}

const TICKETS = { tally: { account: 'shop' }, rateLimit: { redeemPerMin: 0, introspectPerMin: 0 } };

async function firstLine(child: ChildProcess, what: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
  });
}

async function startNode(): Promise<{ http: string; child: ChildProcess; dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-tickets-bench-'));
  // With --serve the node is only the chain: the serve processes sell the tickets.
  if (!serveCount) fs.writeFileSync(path.join(dataDir, 'config.json'), JSON.stringify({ tickets: TICKETS }));
  const child = spawn(process.execPath, [...cpuProf, binPath, 'node', '--dev', '--data', dataDir, '--http', '127.0.0.1:0', '--internal', 'off', '--rate-limit', 'off', '--sync', 'NORMAL', '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await firstLine(child, 'bench node');
  return { http: (JSON.parse(line) as { http: string }).http, child, dataDir };
}

/** N `tally tickets serve` processes on a fresh PostgreSQL schema, reading Tally payments from the node. */
async function startServes(nodeHttp: string, dataDir: string): Promise<{ urls: string[]; children: ChildProcess[]; drop(): Promise<void> }> {
  const schema = await freshPgSchema();
  const urlFile = path.join(dataDir, 'pg.url');
  fs.writeFileSync(urlFile, schema.url + '\n', { mode: 0o600 });
  fs.writeFileSync(path.join(dataDir, 'tickets.key'), crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const config = path.join(dataDir, 'serve.json');
  fs.writeFileSync(config, JSON.stringify({ tickets: { ...TICKETS, store: 'postgres', urlFile, poolMax } }));
  const children = Array.from({ length: serveCount }, () => spawn(process.execPath, [binPath, 'tickets', 'serve', '--config', config, '--data', dataDir, '--node', nodeHttp,
    '--listen', '127.0.0.1:0', '--internal', 'off', '--poll-ms', '100', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const urls = await Promise.all(children.map(async (c) => (JSON.parse(await firstLine(c, 'tickets serve')) as { http: string }).http));
  return { urls, children, drop: () => schema.drop() };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function request(base: URL, method: string, urlPath: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, path: urlPath, method, agent, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => { text += c; }).on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;
}

/** Run `next()` requests with `concurrency` in flight until the duration or the work runs out (over `targets` round robin). */
async function phase(name: string, expectedStatus: number, next: () => [string, string, string?] | undefined, targets = ticketTargets): Promise<Phase> {
  const latencies: number[] = [];
  let expected = 0;
  const bases = targets.map((t) => new URL(t));
  let turn = 0;
  const t0 = performance.now();
  const deadline = t0 + durationSecs * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      const job = next();
      if (!job) return;
      const s = performance.now();
      const r = await request(bases[turn++ % bases.length]!, job[0], job[1], job[2]);
      latencies.push(performance.now() - s);
      if (r.status === expectedStatus) expected++;
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const out = { name, requests: latencies.length, expected, req_per_s: Math.round(latencies.length / secs), p50_ms: +percentile(latencies, 50).toFixed(2), p99_ms: +percentile(latencies, 99).toFixed(2) };
  log(`${name.padEnd(18)} ${String(out.req_per_s).padStart(6)} req/s  p50 ${out.p50_ms} ms  p99 ${out.p99_ms} ms  (${expected}/${out.requests} answered ${expectedStatus})`);
  return out;
}

let target = '';
/** where the tickets API is: the node, or the serve processes */
let ticketTargets: string[] = [];

async function main(): Promise<void> {
  const node = await startNode();
  target = node.http;
  ticketTargets = [node.http];
  let serves: Awaited<ReturnType<typeof startServes>> | undefined;
  try {
    if (serveCount) {
      serves = await startServes(node.http, node.dataDir);
      ticketTargets = serves.urls;
    }
    const chain = 'tally-dev';
    const mk = (): { signer: Signer; id: string; nonce: number } => {
      const signer = signerFromPrivateKey(crypto.generateKeyPairSync('ed25519').privateKey);
      return { signer, id: accountIdFromPub(signer.pub), nonce: 0 };
    };
    const sign = (a: ReturnType<typeof mk>, type: string, body: Record<string, unknown>): Envelope => {
      const tx: Tx = { chain, type, from: a.id, nonce: a.nonce++, expires: Math.floor(Date.now() / 1000) + 3600, body };
      return signTx(tx, a.signer);
    };
    const base = new URL(target);
    const shop = mk();
    const payer = mk();
    await request(base, 'POST', '/v1/txs', JSON.stringify([sign(shop, 'ledger.register', { name: 'shop' }), sign(payer, 'ledger.register', { name: 'payer' })]));
    // Each PID is paid 0.01 by one transfer; batches of 1,000 transactions per request.
    const pids = Array.from({ length: pidCount }, () => crypto.randomBytes(8).toString('hex'));
    log(`paying ${pidCount} PIDs...`);
    for (let i = 0; i < pids.length; i += 1000) {
      const batch = pids.slice(i, i + 1000).map((pid) => sign(payer, 'ledger.send', { to: 'shop', amount: '0.01', memo: tallyMemoTag(pid) }));
      const r = await request(base, 'POST', '/v1/txs', JSON.stringify(batch));
      if (r.status !== 200) throw new Error(`submit failed: ${r.text.slice(0, 200)}`);
    }
    for (;;) {
      const r = await request(new URL(ticketTargets[0]!), 'GET', `/api/v1/payment/${pids[pids.length - 1]}`);
      if (r.status === 200) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const tokens: string[] = [];
    let nextPid = 0;
    const results: Phase[] = [];
    results.push(serveCount
      ? await phase('GET /api/v1/tickets', 200, () => ['GET', '/api/v1/tickets'])
      : await phase('GET /v1/node', 200, () => ['GET', '/v1/node'], [node.http]));
    // Redeem hits: each paid PID once, answered success with a fresh token.
    const redeemHits = await phase('redeem hit', 200, () => (nextPid < pids.length ? ['POST', '/api/v1/redeem', JSON.stringify({ pid: pids[nextPid++] })] : undefined));
    results.push(redeemHits);
    // Collect tokens for the introspection phase (not timed).
    for (let i = 0; i < Math.min(nextPid, 2000); i++) {
      const r = await request(new URL(ticketTargets[i % ticketTargets.length]!), 'POST', '/api/v1/redeem', JSON.stringify({ pid: pids[i] }));
      const t = (JSON.parse(r.text) as { token?: string }).token;
      if (t) tokens.push(t);
    }
    results.push(await phase('redeem miss', 404, () => ['POST', '/api/v1/redeem', JSON.stringify({ pid: crypto.randomBytes(8).toString('hex') })]));
    results.push(await phase('introspect hit', 200, () => ['GET', `/api/v1/token/${tokens[Math.floor(Math.random() * tokens.length)]}`]));
    results.push(await phase('introspect miss', 404, () => ['GET', `/api/v1/token/${crypto.randomBytes(32).toString('hex')}`]));
    const out = { serve_processes: serveCount, pool_max: serveCount ? poolMax : null, store: serveCount ? 'postgres' : 'sqlite', concurrency, duration_s: durationSecs, pids: pidCount, redeem_hits_available: pidCount, cores: os.cpus().length, loadavg_at_end: os.loadavg().map((l) => +l.toFixed(2)), cpu: os.cpus()[0]?.model ?? '?', node_version: process.version, phases: results };
    if (json) process.stdout.write(JSON.stringify(out) + '\n');
    if (redeemHits.requests >= pidCount) log(`note: all ${pidCount} PIDs were redeemed before the duration ended; raise --pids for a longer redeem phase`);
  } finally {
    for (const c of serves?.children ?? []) {
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
    await serves?.drop();
    await cleanupPg();
    agent.destroy();
    node.child.kill('SIGTERM');
    await new Promise((r) => node.child.once('exit', r));
    fs.rmSync(node.dataDir, { recursive: true, force: true });
  }
}

await main();
