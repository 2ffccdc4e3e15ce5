// Validator chain figures, measured in one run on one machine: four validator processes
// on loopback (libp2p, BLS, journals, SQLite FULL), then one single-writer node, each
// loaded the same way over HTTP.
//
//   light   --light N transactions, one a second, round-robin over the validators: time
//           from submit to the acknowledgement, which comes at finality (p50/p99)
//   load    --seconds S of registrations in batches of --batch, --in-flight batches at a
//           time per validator: committed tx/s and batch latency (p50/p99); the same
//           clients (4 x --in-flight batches at a time) on a single writer (`tally node`,
//           one process) for the ratio
//
// All processes share the machine's cores (see `nproc`): four validators on two cores
// each get half a core, so the ratio is what one machine can show, not a network.
//
// --cpu-per-node C gives every node process (each validator, and the single writer) a CPU
// quota of C cores (a cgroup; root): each node then has what a small machine of its own
// would have, and the ratio compares equal hardware per node instead of four nodes
// sharing the machine one writer had to itself.
//
// Each load reports the node processes' CPU (/proc/<pid>/stat): cores busy and CPU µs per
// committed transaction, summed over the processes. --cpu-prof DIR profiles every node.
//
//   node dist/bench/validators.js [--light 30] [--seconds 20] [--batch 200] [--in-flight 2] [--cpu-per-node C] [--cpu-prof DIR] [--json]
import { spawn, type ChildProcess, execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { accountIdFromPub, signerFromPrivateKey } from '../src/core/keys.js';
import { signTx, type Envelope } from '../src/chain/envelope.js';
import { measureVerifyRate } from './bench.js';
import { cpuLimit, type CpuLimit } from './cpu-limit.js';
import { processCpuS } from './thread-cpu.js';
import { cpuProfArgs, helpFromHeader, intFlag } from './usage.js';

helpFromHeader(import.meta.url);

const LIGHT = intFlag('--light', 30, 3600);
const SECONDS = intFlag('--seconds', 20, 600);
const BATCH = intFlag('--batch', 200, 1000);
const IN_FLIGHT = intFlag('--in-flight', 2, 64);
const JSON_OUT = process.argv.includes('--json');
const cpuPerNodeAt = process.argv.indexOf('--cpu-per-node');
const CPU_PER_NODE = cpuPerNodeAt >= 0 ? Number(process.argv[cpuPerNodeAt + 1]) : undefined;
if (CPU_PER_NODE !== undefined && !(CPU_PER_NODE >= 0.05 && CPU_PER_NODE <= os.cpus().length)) throw new Error(`--cpu-per-node must be a number of cores from 0.05 to ${os.cpus().length}`);
const limits: CpuLimit[] = [];
const cpuProfAt = process.argv.indexOf('--cpu-prof');
const prof = cpuProfArgs(cpuProfAt >= 0 ? process.argv[cpuProfAt + 1] : undefined);
const bin = fileURLToPath(new URL('../../bin/tally.js', import.meta.url));
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-validators-'));
const run = promisify(execFile);
const live = new Set<ChildProcess>();
const say = (line: string) => { if (!JSON_OUT) console.error(line); };

// The CLI's --json output; only the validator key entry's peerId is read here.
type CliJson = Record<string, unknown> & { peerId?: string };

async function cli(args: string[]): Promise<CliJson> {
  const { stdout } = await run(process.execPath, [bin, ...args, '--json'], { env: { ...process.env, TALLY_HOME: path.join(root, 'home') } });
  return JSON.parse(stdout) as CliJson;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** `tally node` with its HTTP on a free port; resolves with the HTTP base URL from its listening line. */
function startNode(dir: string, extra: string[]): Promise<{ http: string; proc: ChildProcess }> {
  // stderr to <dir>.log: kept when the bench fails (the directory is removed only after a good run)
  const log = fs.openSync(`${dir}.log`, 'a');
  const proc = spawn(process.execPath, [...prof, bin, 'node', '--data', dir, '--http', '127.0.0.1:0', '--internal', 'off', '--json', ...extra], { stdio: ['ignore', 'pipe', log] });
  live.add(proc);
  if (CPU_PER_NODE !== undefined) {
    const limit = cpuLimit(path.basename(dir), CPU_PER_NODE);
    limits.push(limit);
    limit.add(proc.pid!);
  }
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ http: (JSON.parse(out.slice(0, nl)) as { http: string }).http, proc });
    });
    proc.once('exit', (code) => reject(new Error(`node ${dir} exited with ${code}`)));
  });
}

async function stop(proc: ChildProcess): Promise<void> {
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  live.delete(proc);
}

function registrations(chain: string, n: number): Envelope[] {
  const expires = Math.floor(Date.now() / 1000) + 3600;
  return Array.from({ length: n }, () => {
    const signer = signerFromPrivateKey(crypto.generateKeyPairSync('ed25519').privateKey);
    const id = accountIdFromPub(signer.pub);
    return signTx({ chain, type: 'ledger.register', from: id, nonce: 0, expires, body: { name: `u${id.slice(0, 16)}` } }, signer);
  });
}

/** Results that were not a committed receipt, by status or error code, over the whole run. */
const refused = new Map<string, number>();

async function submit(http: string, txs: Envelope[]): Promise<number> {
  const res = await fetch(`${http}/v1/txs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(txs) });
  const body = (await res.json()) as Array<{ status?: string; error?: { code?: string } }> | { error?: { code?: string } };
  if (!Array.isArray(body)) {
    const code = `http ${res.status} ${body.error?.code ?? ''}`.trim();
    refused.set(code, (refused.get(code) ?? 0) + txs.length);
    return 0;
  }
  for (const r of body) {
    if (r.status === 'ok') continue;
    const code = r.error?.code ?? r.status ?? 'unknown';
    refused.set(code, (refused.get(code) ?? 0) + 1);
  }
  return body.filter((r) => r.status === 'ok').length;
}

/** What the node processes and the bench's own clients spent on the CPU during a load. */
function cpuOver(procs: ChildProcess[], before: number[], benchBefore: NodeJS.CpuUsage, seconds: number, committed: number) {
  const nodes = procs.reduce((sum, p, i) => sum + processCpuS(p.pid!) - before[i]!, 0);
  const used = process.cpuUsage(benchBefore);
  const bench = (used.user + used.system) / 1e6;
  return {
    nodeCpuSeconds: Number(nodes.toFixed(1)),
    nodeCoresBusy: Number((nodes / seconds).toFixed(2)),
    clientCoresBusy: Number((bench / seconds).toFixed(2)),
    nodeCpuUsPerTx: committed > 0 ? Math.round((nodes * 1e6) / committed) : 0,
  };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** A validator's tip and consensus counts (GET /v1/node). */
async function consensusOf(http: string): Promise<{ height: number; heights: number; extraRounds: number }> {
  const info = (await (await fetch(`${http}/v1/node`)).json()) as { height: number; network?: { consensus?: { heights: number; extraRounds: number } } };
  return { height: info.height, heights: info.network?.consensus?.heights ?? 0, extraRounds: info.network?.consensus?.extraRounds ?? 0 };
}

const loadPool = (chain: string) => registrations(chain, Math.min(200_000, Math.max(BATCH * 4, 3000 * SECONDS)));

/** S seconds of batches, IN_FLIGHT per node at a time: committed tx/s and batch latency. */
async function load(https: string[], pool: Envelope[]): Promise<{ txPerSec: number; committed: number; seconds: number; latencyMs: { p50: number; p99: number } }> {
  let next = 0;
  let committed = 0;
  const latencies: number[] = [];
  const started = performance.now();
  const until = started + SECONDS * 1000;
  await Promise.all(https.flatMap((http) => Array.from({ length: IN_FLIGHT }, async () => {
    while (performance.now() < until && next + BATCH <= pool.length) {
      const batch = pool.slice(next, next + BATCH);
      next += BATCH;
      const t = performance.now();
      // (not `committed += await …`: that reads `committed` before the await, and the loops
      // running meanwhile would have their counts overwritten)
      const ok = await submit(http, batch);
      committed += ok;
      latencies.push(performance.now() - t);
    }
  })));
  const elapsed = (performance.now() - started) / 1000;
  return { txPerSec: Math.round(committed / elapsed), committed, seconds: Number(elapsed.toFixed(1)), latencyMs: { p50: Math.round(pct(latencies, 50)), p99: Math.round(pct(latencies, 99)) } };
}

async function main(): Promise<void> {
  say(`validators bench in ${root} (${os.cpus().length} cores)`);
  const dirs = [0, 1, 2, 3].map((i) => path.join(root, `v${i}`));
  const entries = [];
  for (const d of dirs) entries.push(await cli(['validator', 'keys', 'new', '--data', d]));
  fs.writeFileSync(path.join(root, 'validators.json'), JSON.stringify(entries));
  await cli(['init', '--data', dirs[0]!, '--chain', 'bench-v', '--policy', 'open', '--validators', path.join(root, 'validators.json')]);
  for (const d of dirs.slice(1)) await cli(['init', '--data', d, '--genesis', path.join(dirs[0]!, 'genesis.json')]);
  const ports = await Promise.all(dirs.map(() => freePort()));
  const addrs = entries.map((e, i) => `/ip4/127.0.0.1/tcp/${ports[i]}/p2p/${e.peerId}`);
  const nodes = await Promise.all(dirs.map((d, i) => startNode(d, ['--p2p', `/ip4/127.0.0.1/tcp/${ports[i]}`, '--peers', addrs.filter((_, j) => j !== i).join(',')])));
  const https = nodes.map((n) => n.http);
  // the chain is live once a block is final everywhere
  for (;;) {
    const heights = await Promise.all(https.map(async (h) => ((await (await fetch(`${h}/v1/node`)).json()) as { height: number }).height));
    if (heights.every((h) => h >= 2)) break;
    await new Promise((r) => setTimeout(r, 200));
  }

  say(`light: ${LIGHT} transactions, one a second`);
  const lightTxs = registrations('bench-v', LIGHT);
  const finality: number[] = [];
  for (let i = 0; i < LIGHT; i++) {
    const t = performance.now();
    if ((await submit(https[i % https.length]!, [lightTxs[i]!])) !== 1) throw new Error('a light-load transaction was refused');
    finality.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - t))));
  }
  say(`load: ${SECONDS} s on the validators`);
  refused.clear();
  const before = await Promise.all(https.map(consensusOf));
  const vPool = loadPool('bench-v');
  const cpuBefore = nodes.map((n) => processCpuS(n.proc.pid!));
  const benchBefore = process.cpuUsage();
  const vLoad = await load(https, vPool);
  const validators = { ...vLoad, refused: Object.fromEntries(refused), cpu: cpuOver(nodes.map((n) => n.proc), cpuBefore, benchBefore, vLoad.seconds, vLoad.committed) };
  refused.clear();
  const after = await Promise.all(https.map(consensusOf));
  const heights = after.map((a) => a.height);
  // rounds past the first, per height, during the load: a round that times out costs a whole round's work
  const loadHeights = after[0]!.heights - before[0]!.heights;
  const rounds = { heights: loadHeights, extraRounds: after[0]!.extraRounds - before[0]!.extraRounds, txsPerBlock: loadHeights > 0 ? Math.round(validators.committed / loadHeights) : 0 };
  for (const n of nodes) await stop(n.proc);

  say(`load: ${SECONDS} s on a single writer`);
  const wdir = path.join(root, 'writer');
  await cli(['init', '--data', wdir, '--chain', 'bench-w', '--policy', 'open']);
  const writer = await startNode(wdir, []);
  // the same clients as the validators had (IN_FLIGHT per validator, so 4 x IN_FLIGHT batches at a time), all to the one writer
  const wPool = loadPool('bench-w');
  const wCpuBefore = [processCpuS(writer.proc.pid!)];
  const wBenchBefore = process.cpuUsage();
  const wLoad = await load(https.map(() => writer.http), wPool);
  const single = { ...wLoad, refused: Object.fromEntries(refused), cpu: cpuOver([writer.proc], wCpuBefore, wBenchBefore, wLoad.seconds, wLoad.committed) };
  await stop(writer.proc);

  // the machine's limit in the same run: Ed25519 verifies a second on all cores (node:crypto)
  const verifyLimit = await measureVerifyRate(3);
  const report = {
    machine: { cores: os.cpus().length, node: process.version, ed25519VerifyPerSec: verifyLimit },
    cpuPerNode: CPU_PER_NODE ?? 'shared',
    validators: 4,
    light: { txs: LIGHT, finalityMs: { p50: Math.round(pct(finality, 50)), p99: Math.round(pct(finality, 99)) } },
    load: { seconds: SECONDS, batch: BATCH, inFlightPerValidator: IN_FLIGHT, singleWriterInFlight: 4 * IN_FLIGHT, validators, singleWriter: single, ratio: Number((validators.txPerSec / single.txPerSec).toFixed(2)), heights, rounds },
  };
  console.log(JSON_OUT ? JSON.stringify(report) : JSON.stringify(report, null, 2));
  fs.rmSync(root, { recursive: true, force: true });
  for (const l of limits) l.remove();
}

main().catch((err) => {
  for (const p of live) p.kill('SIGKILL');
  console.error(err);
  console.error(`the nodes' logs: ${root}/*.log`);
  // the killed nodes leave their cgroups a moment later; an empty cgroup can be removed
  setTimeout(() => {
    for (const l of limits) l.remove();
    process.exit(1);
  }, 500);
});
