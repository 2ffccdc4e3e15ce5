// `tally bench notary`: RSA-2048 (RSA-PSS, SHA-256) signatures per second through the
// whole notary path (lease, sign in worker threads, guarded write with fsync, batch root)
// on all cores, beside `openssl speed -multi <cores> rsa2048` measured in the same run.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabaseKey } from '../src/store/keyfile.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { NotaryEngine } from '../src/modules/notary/engine.js';
import { generateKey, type KeyType } from '../src/modules/notary/keys.js';
import { notaryMigrations } from '../src/modules/notary/schema.js';
import { NotaryStore } from '../src/modules/notary/store.js';

export interface NotaryBenchOptions {
  records: number;
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
  openssl_sign_per_s: number | null;
  ratio: number | null;
  cores: number;
  cpu: string;
  node_version: string;
  openssl_version: string;
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

export async function runNotaryBench(o: NotaryBenchOptions): Promise<NotaryBenchResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-notary-bench-'));
  try {
    createDatabaseKey(path.join(dir, 'db.key'));
    const sqlite = SqliteStore.open({ dbPath: path.join(dir, 'tally.db'), keyPath: path.join(dir, 'db.key'), create: true });
    sqlite.migrate('notary', notaryMigrations);
    const store = new NotaryStore(sqlite.db);
    o.log(`generating ${o.threads} ${o.keyType} keys ...`);
    for (let i = 0; i < o.threads; i++) store.addKey(generateKey(o.keyType));
    // Enough batches that every thread always has one to lease.
    const batchSize = Math.max(1, Math.min(1000, Math.floor(o.records / (o.threads * 4))));
    store.submit(Array.from({ length: o.records }, (_, i) => JSON.stringify({ bench: i, doc: `record-${i}`, digest: 'ab'.repeat(32) })), 'bench', batchSize);
    o.log(`signing ${o.records} records with ${o.threads} threads (batches of ${batchSize}) ...`);
    const engine = new NotaryEngine(sqlite.db, { concurrency: o.threads, holder: 'bench', untilIdle: true, idlePollMs: 20, log: o.log });
    const t0 = process.hrtime.bigint();
    engine.start();
    await engine.done();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await engine.stop();
    const signed = store.status().signed;
    sqlite.close();
    if (signed !== o.records) throw new Error(`bench signed ${signed} of ${o.records} records`);
    o.log(`measuring openssl speed -multi ${o.threads} ${o.keyType} (${o.opensslSeconds} s) ...`);
    const openssl = opensslSignRate(o.keyType, o.threads, o.opensslSeconds);
    const rate = Math.round(o.records / seconds);
    return {
      key_type: o.keyType,
      records: o.records,
      threads: o.threads,
      seconds: Math.round(seconds * 100) / 100,
      signatures_per_s: rate,
      openssl_sign_per_s: openssl,
      ratio: openssl ? Math.round((rate / openssl) * 1000) / 1000 : null,
      cores: os.availableParallelism(),
      cpu: os.cpus()[0]?.model ?? 'unknown',
      node_version: process.version,
      openssl_version: process.versions.openssl ?? 'unknown',
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
