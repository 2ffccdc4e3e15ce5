// `tally bench notary`: RSA-2048 (RSA-PSS, SHA-256) signatures per second through the
// whole notary path (lease, sign in worker threads, guarded write with fsync, batch root)
// on all cores, beside `openssl speed -multi <cores> rsa2048` measured in the same run.
// It also says where the cores went (CPU seconds per thread, statements and commits per
// signature), so that a gap to openssl can be traced to its cause.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3-multiple-ciphers';
import { createDatabaseKey } from '../src/store/keyfile.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { NotaryEngine } from '../src/modules/notary/engine.js';
import { generateKey, type KeyType } from '../src/modules/notary/keys.js';
import { notaryMigrations } from '../src/modules/notary/schema.js';
import { NotaryStore } from '../src/modules/notary/store.js';
import { threadCpu, threadCpuDelta } from './thread-cpu.js';

export interface NotaryBenchOptions {
  /** records to sign; without it, the engine signs for durationSecs and stops */
  records?: number;
  durationSecs: number;
  threads: number;
  keyType: KeyType;
  opensslSeconds: number;
  log: (line: string) => void;
}

export interface NotaryBenchResult {
  key_type: KeyType;
  records: number;
  threads: number;
  seconds: number;
  signatures_per_s: number;
  /** mean of the two openssl runs, before and after */
  openssl_sign_per_s: number | null;
  openssl_before: number | null;
  /** bare crypto.sign loops in as many threads, no database: the binding's ceiling */
  node_crypto_sign_per_s: number;
  /** notary rate / bare node:crypto rate: the notary's own overhead */
  ratio_node_crypto: number;
  /** bare node:crypto rate / openssl speed: the binding's gap to the C tool */
  ratio_node_crypto_openssl: number | null;
  openssl_after: number | null;
  ratio: number | null;
  cores: number;
  cpu: string;
  node_version: string;
  openssl_version: string;
  /** where the cores went during the notary run (Linux; null elsewhere) */
  profile: NotaryProfile | null;
}

export interface NotaryProfile {
  /** main thread (leases, reads, guarded writes, batch roots, messages): seconds on a core, and runnable but waiting for one */
  main_thread: { cpu_s: number; wait_s: number };
  /** the busiest `threads` other threads, the signing threads: idle_s is the rest of the run's wall time, waiting for work */
  signer_threads: Array<{ cpu_s: number; wait_s: number; idle_s: number }>;
  /** every other thread (libuv, V8 helpers, GC) together, seconds on a core */
  other_threads_cpu_s: number;
  /** SQLite statements run (get/all/run) per signature, and write transactions (each one fsync) */
  statements_per_signature: number;
  transactions_per_signature: number;
}

/** Count the statements and transactions run through db from now on (wraps prepare and transaction). */
function countQueries(db: Database.Database): { statements: number; transactions: number } {
  const counts = { statements: 0, transactions: 0 };
  const prepare = db.prepare.bind(db);
  const transaction = db.transaction.bind(db);
  db.prepare = ((sql: string) => {
    const st = prepare(sql) as unknown as Record<'run' | 'get' | 'all', (...a: unknown[]) => unknown>;
    for (const m of ['run', 'get', 'all'] as const) {
      const f = st[m].bind(st);
      st[m] = (...a: unknown[]) => {
        counts.statements++;
        return f(...a);
      };
    }
    return st;
  }) as typeof db.prepare;
  db.transaction = ((fn: (...a: unknown[]) => unknown) => transaction((...a: unknown[]) => {
    counts.transactions++;
    return fn(...a);
  })) as typeof db.transaction;
  return counts;
}

/** `openssl speed -multi N rsa2048|rsa3072`: the C library's own RSA sign rate on the same cores. */
export function opensslSignRate(keyType: KeyType, threads: number, seconds: number): number | null {
  const alg = keyType === 'ed25519' ? 'ed25519' : keyType;
  try {
    const out = execFileSync('openssl', ['speed', '-multi', String(threads), '-seconds', String(seconds), alg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const line = out.split('\n').reverse().find((l) => (alg === 'ed25519' ? /Ed25519/ : /^rsa\s+\d+ bits/).test(l.trim()));
    const nums = line?.trim().split(/\s+/).filter((x) => /^\d+(\.\d+)?$/.test(x)).map(Number);
    if (!nums || nums.length < 2) return null;
    // rsa lines: bits, sign s, verify s, sign/s, verify/s; ed25519: sign s, verify s, sign/s, verify/s
    return Math.round(nums[nums.length - 2]!);
  } catch {
    return null;
  }
}

// A bare signing loop per thread (no database, no messages): the node:crypto ceiling, to
// split any gap to openssl between the library binding and the notary's own overhead.
const RAW_SIGN_LOOP = `
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const key = crypto.createPrivateKey({ key: Buffer.from(workerData.der), format: 'der', type: 'pkcs8' });
const msg = Buffer.alloc(120, 7);
const opts = workerData.alg === 'ed25519' ? key : { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
const end = Date.now() + workerData.ms;
let n = 0;
const t0 = process.hrtime.bigint();
while (Date.now() < end) { crypto.sign(workerData.alg === 'ed25519' ? null : 'sha256', msg, opts); n++; }
parentPort.postMessage(n / (Number(process.hrtime.bigint() - t0) / 1e9));
`;

export async function nodeCryptoSignRate(keyType: KeyType, threads: number, seconds: number): Promise<number> {
  const k = generateKey(keyType);
  const rates = await Promise.all(Array.from({ length: threads }, () => new Promise<number>((resolve, reject) => {
    const w = new Worker(RAW_SIGN_LOOP, { eval: true, workerData: { der: k.privateDer, alg: k.alg, ms: seconds * 1000 } });
    w.once('message', (r: number) => {
      void w.terminate();
      resolve(r);
    });
    w.once('error', reject);
  })));
  return Math.round(rates.reduce((a, b) => a + b, 0));
}

export async function runNotaryBench(o: NotaryBenchOptions): Promise<NotaryBenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-notary-bench-'));
  try {
    // openssl runs right before and right after our run and the two are averaged: on a
    // shared machine the load drifts, and one measurement on one side would favour a side.
    o.log(`measuring openssl speed -multi ${o.threads} ${o.keyType} (${o.opensslSeconds} s) ...`);
    const opensslBefore = opensslSignRate(o.keyType, o.threads, o.opensslSeconds);
    o.log(`measuring bare node:crypto signing in ${o.threads} threads (${o.opensslSeconds} s) ...`);
    const nodeCrypto = await nodeCryptoSignRate(o.keyType, o.threads, o.opensslSeconds);
    // No --records: 1.5 times what the faster of openssl and bare node:crypto signs in the
    // duration is stored up front (a rate measured on a loaded machine is no promise), the
    // engine stops once the duration has passed, and the rate is what it signed by then.
    // Should even that run out, more batches are stored while it runs.
    const fixed = o.records !== undefined;
    const fastest = Math.max(nodeCrypto, opensslBefore ?? 0);
    let records = o.records ?? Math.min(1_200_000, Math.max(1000, Math.ceil((fastest * o.durationSecs * 1.5) / 1000) * 1000));
    createDatabaseKey(path.join(dir, 'db.key'));
    const sqlite = SqliteStore.open({ dbPath: path.join(dir, 'tally.db'), keyPath: path.join(dir, 'db.key'), create: true });
    sqlite.migrate('notary', notaryMigrations);
    const store = new NotaryStore(sqlite.db);
    // Two leases per signing thread: while one is between batches (completing, leasing
    // anew) the other keeps the thread busy. So two keys per thread.
    const leases = o.threads * 2;
    o.log(`generating ${leases} ${o.keyType} keys ...`);
    for (let i = 0; i < leases; i++) store.addKey(generateKey(o.keyType));
    // Enough batches that every slot always has one to lease.
    const batchSize = Math.max(1, Math.min(1000, Math.floor(records / (leases * 4))));
    const make = (from: number, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ bench: from + i, doc: `record-${from + i}`, digest: 'ab'.repeat(32) }));
    o.log(`storing ${records} records ...`);
    store.submit(make(0, records), 'bench', batchSize);
    o.log(fixed ? `signing ${records} records with ${o.threads} threads (batches of ${batchSize}) ...` : `signing for ${o.durationSecs} s with ${o.threads} threads (batches of ${batchSize}) ...`);
    const counts = countQueries(sqlite.db);
    const engine = new NotaryEngine(sqlite.db, { concurrency: leases, threads: o.threads, holder: 'bench', untilIdle: true, idlePollMs: 20, log: o.log });
    const cpu0 = threadCpu();
    const t0 = process.hrtime.bigint();
    engine.start();
    const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e9;
    const feeder = fixed ? undefined : setInterval(() => {
      if (elapsed() >= o.durationSecs) {
        clearInterval(feeder);
        void engine.stop(); // each slot writes the chunk in hand, then the run ends
        return;
      }
      const top = leases * 2 * batchSize;
      if (records - engine.signed >= top * 2) return;
      store.submit(make(records, top), 'bench', batchSize);
      records += top;
    }, 50);
    await engine.done();
    clearInterval(feeder);
    const seconds = elapsed();
    const cpu = threadCpuDelta(cpu0, threadCpu());
    await engine.stop();
    const signed = store.status().signed;
    sqlite.close();
    if (signed !== engine.signed || (fixed && signed !== records)) throw new Error(`bench signed ${signed} of ${records} records (the engine counted ${engine.signed})`);
    records = signed;
    o.log(`measuring openssl speed -multi ${o.threads} ${o.keyType} again ...`);
    const opensslAfter = opensslSignRate(o.keyType, o.threads, o.opensslSeconds);
    const openssl = opensslBefore !== null && opensslAfter !== null ? Math.round((opensslBefore + opensslAfter) / 2) : null;
    const rate = Math.round(records / seconds);
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    const others = cpu.filter((t) => !t.main);
    const r2 = (x: number) => Math.round(x * 100) / 100;
    const main = cpu.find((t) => t.main);
    const profile: NotaryProfile | null = cpu.length === 0 ? null : {
      main_thread: { cpu_s: main?.cpuS ?? 0, wait_s: main?.waitS ?? 0 },
      signer_threads: others.slice(0, o.threads).map((t) => ({ cpu_s: t.cpuS, wait_s: t.waitS, idle_s: r2(Math.max(0, seconds - t.cpuS - t.waitS)) })),
      other_threads_cpu_s: r2(others.slice(o.threads).reduce((a, t) => a + t.cpuS, 0)),
      statements_per_signature: r3(counts.statements / records),
      transactions_per_signature: r3(counts.transactions / records),
    };
    return {
      key_type: o.keyType,
      records,
      threads: o.threads,
      seconds: Math.round(seconds * 100) / 100,
      signatures_per_s: rate,
      openssl_sign_per_s: openssl,
      openssl_before: opensslBefore,
      node_crypto_sign_per_s: nodeCrypto,
      ratio_node_crypto: r3(rate / nodeCrypto),
      ratio_node_crypto_openssl: openssl ? r3(nodeCrypto / openssl) : null,
      openssl_after: opensslAfter,
      ratio: openssl ? r3(rate / openssl) : null,
      cores: os.availableParallelism(),
      cpu: os.cpus()[0]?.model ?? 'unknown',
      node_version: process.version,
      openssl_version: process.versions.openssl ?? 'unknown',
      profile,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
