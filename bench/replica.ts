// Replica throughput, measured in one run on one machine: the writer's commit rate (N
// registrations submitted in batches of 1,000, a few in flight), the offline `tally chain
// verify` rate on the writer's directory, and a replica's full sync from genesis over
// libp2p on loopback (fetch, verify every signature, re-execute, check every root, store),
// all in tx/s. A replica follows in this process while the writer is loaded, and its lag
// behind the writer is sampled every 50 ms (p50/p99 in blocks and ms). The verify and the
// full sync each run as their own process, as an operator runs them (`tally chain verify
// --data`, `tally init --follow` then `tally node --follow`), timed from the process's
// start to its last block; --cpu-prof DIR profiles both. --syncs N repeats the full sync N
// times against the same writer (each into a new directory), and --sync-bin FILE alternates
// the runs with another build's bin/tally.js: old and new side by side in one sitting.
// --replica-arg ARG (repeatable) passes ARG to `tally node --follow`. --pairs N runs the
// offline verify and the full sync N times, alternating (verify, sync, verify, sync, ...),
// and reports every pair's ratio and their median: one run of each moves by ±10% here.
// With --sync-bin, --pairs alternates whole pairs: odd pairs run both the verify and the
// sync with the other build, and the report gives each build's median ratio and rates.
// The machine's Ed25519 verify rate on all cores is measured after the syncs.
//
// CPU, beside the wall-clock rates: each verify and each sync process's CPU time (user +
// system from /proc/<pid>/stat, sampled every 100 ms until it ends), and this process's own CPU
// while a sync runs (the writer reading and sending blocks: on a network that is the
// writer's machine's work, here it takes cores from the replica). --cpu-limit C runs each
// verify and each sync in a cgroup with a quota of C cores (root; bench/cpu-limit.ts), so
// that the two compared processes get the same CPU and the writer serving blocks takes
// none of the replica's: what a replica on a machine of its own would see. Each verify's
// and sync's main thread is split too (/proc/<pid>/task/<pid>/schedstat, over the timed
// window): on a core, runnable but waiting for one, and the rest (blocked or idle). The
// main thread is the serial part: time it waits for a core is time the process loses.
// Each sync's database (tally.db and any WAL) is measured on disk once the replica stops.
// A sync that stays at one height for two minutes (a replica that stopped following, which
// it logs) ends the run with an error, exit status 1.
//
//   node dist/bench/replica.js [--txs 100000] [--syncs 1 | --pairs N] [--sync-bin FILE] [--replica-arg ARG]... [--cpu-limit C] [--cpu-prof DIR]
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { accountIdFromPub, signerFromPrivateKey } from '../src/core/keys.js';
import { signTx, type Envelope } from '../src/chain/envelope.js';
import { defaultGenesis } from '../src/chain/genesis.js';
import { initDataDir, TallyNode } from '../src/chain/node.js';
import { allModules, chainModules } from '../src/modules/index.js';
import { openLibp2pTransport } from '../src/net/load.js';
import { Replica } from '../src/net/replica.js';
import { WriterNetwork } from '../src/net/serve.js';
import { measureVerifyRate } from './bench.js';
import { cpuLimit } from './cpu-limit.js';
import { mainThreadCpu, processCpuS } from './thread-cpu.js';
import { cpuProfArgs, helpFromHeader, intFlag } from './usage.js';

helpFromHeader(import.meta.url);

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const TXS = arg('--txs', 100_000);
const cpuProfAt = process.argv.indexOf('--cpu-prof');
const prof = cpuProfArgs(cpuProfAt >= 0 ? process.argv[cpuProfAt + 1] : undefined);
const run = promisify(execFile);
const PAIRS = intFlag('--pairs', 1, 100);
const SYNCS = PAIRS > 1 ? PAIRS : arg('--syncs', 1);
const syncBinAt = process.argv.indexOf('--sync-bin');
// a pair is one build's verify and that build's sync (--sync-bin: odd pairs are the other build's)
if (PAIRS > 1 && process.argv.includes('--syncs')) throw new Error('--pairs runs its own syncs: use it without --syncs');
const otherBin = syncBinAt >= 0 ? path.resolve(process.argv[syncBinAt + 1]!) : undefined;
const replicaArgs = process.argv.flatMap((a, i) => (a === '--replica-arg' ? [process.argv[i + 1]!] : []));
const cpuLimitAt = process.argv.indexOf('--cpu-limit');
const CPU_LIMIT = cpuLimitAt >= 0 ? Number(process.argv[cpuLimitAt + 1]) : undefined;
if (CPU_LIMIT !== undefined && !(CPU_LIMIT >= 0.1 && CPU_LIMIT <= os.availableParallelism())) throw new Error(`--cpu-limit must be a number of cores from 0.1 to ${os.availableParallelism()}`);
const bin = fileURLToPath(new URL('../../bin/tally.js', import.meta.url));
const BATCH = 1000;
const IN_FLIGHT = 4;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-bench-replica-'));
const genesis = defaultGenesis(chainModules, { chain: 'tally-dev', decimals: 6, dev: true });
const open = (dir: string) => TallyNode.open({ dataDir: dir, modules: allModules, synchronous: 'NORMAL' });

function registrations(n: number): Envelope[] {
  const expires = Math.floor(Date.now() / 1000) + 3600;
  return Array.from({ length: n }, () => {
    const signer = signerFromPrivateKey(crypto.generateKeyPairSync('ed25519').privateKey);
    const id = accountIdFromPub(signer.pub);
    return signTx({ chain: 'tally-dev', type: 'ledger.register', from: id, nonce: 0, expires, body: { name: `u${id.slice(0, 16)}` } }, signer);
  });
}

async function replicaOf(writer: TallyNode, name: string, follow: string): Promise<{ node: TallyNode; replica: Replica; stop: () => Promise<void> }> {
  const dir = path.join(root, name);
  initDataDir(dir, genesis, allModules, { chainKey: writer.chainKey, block0: writer.block(0)! });
  const node = open(dir);
  const transport = await openLibp2pTransport({ dataDir: dir, listen: ['/ip4/127.0.0.1/tcp/0'] });
  await transport.start();
  const replica = new Replica(node, transport, { follow: [follow], statusIntervalMs: 200 });
  await replica.start();
  return { node, replica, stop: async () => { await replica.stop(); await transport.stop(); await node.close(); } };
}

/**
 * A child process put under --cpu-limit (if given) as soon as it starts, whose CPU seconds
 * are sampled every 100 ms while it lives: `cpuS()` is the last sample (a process leaves
 * /proc when it exits, so a verify's final < 100 ms are not counted).
 */
function watchCpu(child: ChildProcess, name: string): { cpuS: () => number; main: () => MainThread; done: () => void } {
  const limit = CPU_LIMIT === undefined ? undefined : cpuLimit(name, CPU_LIMIT);
  limit?.add(child.pid!);
  let last = 0;
  let main = { cpuS: 0, waitS: 0 };
  const sample = () => {
    const s = processCpuS(child.pid!);
    if (s > last) last = s;
    main = mainThreadCpu(child.pid!) ?? main;
  };
  const timer = setInterval(sample, 100);
  return {
    cpuS: () => {
      sample();
      return last;
    },
    main: () => main,
    done: () => {
      clearInterval(timer);
      // the cgroup is removed once its process has gone (an exited child leaves it at once)
      setTimeout(() => limit?.remove(), 200);
    },
  };
}

/** A child's main thread over its timed window: seconds on a core, and runnable but waiting for one. */
interface MainThread {
  cpuS: number;
  waitS: number;
}

/** The main thread's share of a timed window, in percent: on a core, waiting for one (the rest it was blocked or idle). */
const mainShare = (m: MainThread, secs: number) => ({ onCorePct: Math.round((m.cpuS / secs) * 100), waitingForCorePct: Math.round((m.waitS / secs) * 100) });
const mainLine = (m: MainThread, secs: number) => {
  const s = mainShare(m, secs);
  return `main thread on a core ${s.onCorePct}%, waiting for one ${s.waitingForCorePct}%`;
};

/** What a child may print (a verify's report), as execFile's maxBuffer bounded it before. */
const STDOUT_MAX = 64 << 20;

/** Run a child to its end: its stdout, and its CPU seconds. */
function runWatched(args: string[], name: string): Promise<{ stdout: string; cpuS: number; main: MainThread }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const cpu = watchCpu(child, name);
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
    if (stdout.length > STDOUT_MAX) child.kill();
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      cpu.done();
      if (stdout.length > STDOUT_MAX) reject(new Error(`${args.join(' ')} printed more than ${STDOUT_MAX} characters`));
      else if (code === 0) resolve({ stdout, cpuS: cpu.cpuS(), main: cpu.main() });
      else reject(new Error(`${args.join(' ')} exited with ${code}`));
    });
  });
}

const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]! : 0);

/** How long a full sync may stay at one height before the run ends with an error. */
const SYNC_STALL_MS = 120_000;

/** `tally init --follow` then `tally node --follow` in `dir`, timed from the node's start to the writer's tip. */
async function fullSync(useBin: string, dir: string, addr: string, writer: TallyNode): Promise<{ secs: number; agrees: boolean; cpuS: number; main: MainThread; writerCpuS: number; dbMiB: number }> {
  // Not a sync call: this process's writer answers the replica's requests.
  await run(process.execPath, [useBin, 'init', '--data', dir, '--follow', addr, '--node-key', writer.chainKey, '--json']);
  const t2 = performance.now();
  const self0 = process.cpuUsage();
  const child = spawn(process.execPath, [...prof, useBin, 'node', '--data', dir, '--follow', addr, '--http', '127.0.0.1:0', '--internal', 'off', '--json', ...replicaArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  const cpu = watchCpu(child, path.basename(dir));
  const first = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the replica exited (${code}) before it listened`)));
  });
  const http = (JSON.parse(first) as { http: string }).http;
  let info = { height: -1, tipHash: '' };
  let moved = performance.now();
  while (info.height < writer.tip.height) {
    await new Promise((r) => setTimeout(r, 50));
    const now = await (await fetch(`${http}/v1/node`)).json() as typeof info;
    if (now.height > info.height) moved = performance.now();
    info = now;
    // A replica that stopped following (it logs why) would otherwise be waited for forever.
    if (performance.now() - moved > SYNC_STALL_MS) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
      cpu.done();
      throw new Error(`the replica (${useBin}) stayed at height ${info.height} of ${writer.tip.height} for ${SYNC_STALL_MS / 1000} s: see its log above`);
    }
  }
  const secs = (performance.now() - t2) / 1000;
  const cpuS = cpu.cpuS();
  const main = cpu.main();
  const self = process.cpuUsage(self0);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  cpu.done();
  const dbMiB = databaseMiB(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  return { secs, agrees: info.tipHash === writer.tip.hash, cpuS, main, writerCpuS: (self.user + self.system) / 1e6, dbMiB };
}

/** The replica's database on disk after it stopped: tally.db and any WAL left, MiB. */
function databaseMiB(dir: string): number {
  let bytes = 0;
  for (const f of ['tally.db', 'tally.db-wal']) {
    try {
      bytes += fs.statSync(path.join(dir, f)).size;
    } catch {
      // no WAL left after a clean close
    }
  }
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}

const usPerTx = (cpuS: number) => Math.round((cpuS / TXS) * 1e6);

/** Each (verify, sync) pair's rates, CPU per tx and ratio, and the median ratio. */
function pairsReport(verifySecs: number[], syncRates: number[], verifyCpuS: number[], syncCpuUs: number[]) {
  const pairs = verifySecs.map((v, i) => {
    const verifyTxPerSec = Math.round(TXS / v);
    return {
      verifyTxPerSec, syncTxPerSec: syncRates[i]!, ratio: Math.round((syncRates[i]! / verifyTxPerSec) * 100) / 100,
      verifyCpuUsPerTx: usPerTx(verifyCpuS[i]!), syncCpuUsPerTx: syncCpuUs[i]!,
    };
  });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return {
    pairs, medianRatio: median(pairs.map((p) => p.ratio)),
    medianVerifyTxPerSec: median(pairs.map((p) => p.verifyTxPerSec)), medianSyncTxPerSec: median(pairs.map((p) => p.syncTxPerSec)),
  };
}

async function main(): Promise<void> {
  process.stderr.write(`signing ${TXS} registrations...\n`);
  const txs = registrations(TXS);
  const wdir = path.join(root, 'writer');
  initDataDir(wdir, genesis, allModules);
  const writer = open(wdir);
  const wt = await openLibp2pTransport({ dataDir: wdir, listen: ['/ip4/127.0.0.1/tcp/0'] });
  await wt.start();
  new WriterNetwork(writer, wt);
  const addr = wt.addrs().find((a) => a.includes('/p2p/'))!;

  // A follower during the load: its lag is what a reader of a replica sees.
  const follower = await replicaOf(writer, 'follower', addr);
  const lagBlocks: number[] = [];
  const lagMs: number[] = [];
  const sampler = setInterval(() => {
    lagBlocks.push(writer.tip.height - follower.node.tip.height);
    lagMs.push(follower.replica.status().lagMs);
  }, 50);

  process.stderr.write('writer: committing...\n');
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < txs.length) {
      const batch = txs.slice(next, next + BATCH);
      next += BATCH;
      await writer.submit(batch);
    }
  }));
  const writeSecs = (performance.now() - t0) / 1000;
  const caughtUp = performance.now();
  while (follower.node.tip.height < writer.tip.height) await new Promise((r) => setTimeout(r, 20));
  const tailMs = performance.now() - caughtUp;
  clearInterval(sampler);
  await follower.stop();

  const verifies: number[] = [];
  const verifyCpuS: number[] = [];
  const verifyMain: MainThread[] = [];
  let report = { ok: true };
  const verify = async (useBin: string) => {
    process.stderr.write(`tally chain verify --data (${useBin}): offline rate...\n`);
    const t1 = performance.now();
    const done = await runWatched([...prof, useBin, 'chain', 'verify', '--data', wdir, '--json'], `verify-${verifies.length}`);
    const r = JSON.parse(done.stdout) as { ok: boolean };
    report = { ok: report.ok && r.ok };
    verifies.push((performance.now() - t1) / 1000);
    verifyCpuS.push(done.cpuS);
    verifyMain.push(done.main);
    process.stderr.write(`  ${Math.round(TXS / verifies.at(-1)!)} tx/s, ${usPerTx(done.cpuS)} µs of CPU per tx, ${mainLine(done.main, verifies.at(-1)!)}\n`);
  };
  const binOf = (i: number) => (otherBin && i % 2 === 1 ? otherBin : bin);
  await verify(bin);
  const verifySecs = verifies[0]!;

  const syncs: Array<{ bin: string; txPerSec: number; agrees: boolean; cpuUsPerTx: number; writerServeCpuUsPerTx: number; mainThread: ReturnType<typeof mainShare>; dbMiB: number }> = [];
  for (let i = 0; i < SYNCS; i++) {
    if (PAIRS > 1 && i > 0) await verify(binOf(i));
    const useBin = binOf(i);
    process.stderr.write(`tally node --follow (${useBin}): full sync from genesis over libp2p...\n`);
    const s = await fullSync(useBin, path.join(root, `late-${i}`), addr, writer);
    syncs.push({ bin: useBin, txPerSec: Math.round(TXS / s.secs), agrees: s.agrees, cpuUsPerTx: usPerTx(s.cpuS), writerServeCpuUsPerTx: usPerTx(s.writerCpuS), mainThread: mainShare(s.main, s.secs), dbMiB: s.dbMiB });
    process.stderr.write(`  ${syncs.at(-1)!.txPerSec} tx/s, ${usPerTx(s.cpuS)} µs of CPU per tx (the writer serving: ${usPerTx(s.writerCpuS)}), ${mainLine(s.main, s.secs)}, database ${s.dbMiB} MiB, ${s.agrees ? 'agrees with the writer' : 'DISAGREES with the writer'}\n`);
  }
  // the machine's limit in the same run: Ed25519 verifies a second on all cores (node:crypto)
  const verifyLimit = await measureVerifyRate(3);
  const syncSecs = TXS / syncs[0]!.txPerSec;
  const agree = syncs.every((s) => s.agrees);
  await wt.stop();
  const height = writer.tip.height;
  await writer.close();
  fs.rmSync(root, { recursive: true, force: true });

  const rate = (secs: number) => Math.round(TXS / secs);
  const out = {
    txs: TXS, blocks: height, cpus: os.availableParallelism(), machineEd25519VerifyPerSec: verifyLimit,
    writerCommitTxPerSec: rate(writeSecs),
    ...(CPU_LIMIT !== undefined ? { cpuLimitCores: CPU_LIMIT } : {}),
    chainVerifyTxPerSec: rate(verifySecs), chainVerifyOk: report.ok,
    replicaFullSyncTxPerSec: rate(syncSecs), replicaAgrees: agree,
    syncVsVerify: Math.round((verifySecs / syncSecs) * 100) / 100,
    chainVerifyCpuUsPerTx: usPerTx(verifyCpuS[0]!),
    replicaFullSyncCpuUsPerTx: syncs[0]!.cpuUsPerTx,
    writerServeCpuUsPerTx: syncs[0]!.writerServeCpuUsPerTx,
    chainVerifyMainThread: mainShare(verifyMain[0]!, verifySecs),
    replicaFullSyncMainThread: syncs[0]!.mainThread,
    followerLagBlocks: { p50: pct(lagBlocks, 0.5), p99: pct(lagBlocks, 0.99), max: Math.max(0, ...lagBlocks) },
    followerLagMs: { p50: pct(lagMs, 0.5), p99: pct(lagMs, 0.99) },
    followerCatchUpAfterLoadMs: Math.round(tailMs),
    ...(syncs.length > 1 ? { syncs } : {}),
    ...(PAIRS > 1 && !otherBin ? pairsReport(verifies, syncs.map((x) => x.txPerSec), verifyCpuS, syncs.map((x) => x.cpuUsPerTx)) : {}),
    ...(PAIRS > 1 && otherBin ? { builds: Object.fromEntries([bin, otherBin].map((b, k) => {
      const mine = syncs.flatMap((_, i) => (i % 2 === k ? [i] : []));
      return [b, pairsReport(mine.map((i) => verifies[i]!), mine.map((i) => syncs[i]!.txPerSec), mine.map((i) => verifyCpuS[i]!), mine.map((i) => syncs[i]!.cpuUsPerTx))];
    })) } : {}),
  };
  console.log(JSON.stringify(out, null, 2));
}

try {
  await main();
} finally {
  // also after a failed run (a stalled sync): the writer's and the replicas' directories
  fs.rmSync(root, { recursive: true, force: true });
}
