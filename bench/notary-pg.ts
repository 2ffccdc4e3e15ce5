// Notary signatures/s on PostgreSQL with 1, 2 and 3 `tally notary worker --store postgres`
// processes, beside the in-node figure (the engine on the node's SQLite file, in one
// process), and the database cost of one signature: round trips, their summed latency,
// and server transactions. On one machine the worker processes share its cores, so more
// workers show the overhead of the shared store, not scale-out; the per-signature cost is
// what projects to more machines. Run:
//   npm run bench:notary-pg [-- --records 20000 --key-type rsa2048 --json]
// PostgreSQL: $TALLY_PG_URL (default postgres://postgres@127.0.0.1:5432/test); the bench
// works in a schema of its own and drops it at the end.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createDatabaseKey } from '../src/store/keyfile.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { openPostgres } from '../src/store/postgres.js';
import { NotaryEngine } from '../src/modules/notary/engine.js';
import { generateKey, parseKeyType, type KeyType } from '../src/modules/notary/keys.js';
import { PgNotaryStore } from '../src/modules/notary/pg-store.js';
import { notaryMigrations } from '../src/modules/notary/schema.js';
import { NotaryStore } from '../src/modules/notary/store.js';
import { helpFromHeader } from './usage.js';

helpFromHeader(import.meta.url);

const TALLY_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'tally.js');
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const RECORDS = Number(arg('records', '20000'));
const KEY_TYPE: KeyType = parseKeyType(arg('key-type', 'rsa2048'));
const CORES = os.availableParallelism();
const json = process.argv.includes('--json');
const log = (line: string) => { if (!json) process.stderr.write(line + '\n'); };
const BASE_URL = process.env.TALLY_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const records = (tag: string) => Array.from({ length: RECORDS }, (_, i) => JSON.stringify({ bench: i, run: tag, doc: `record-${i}`, digest: 'ab'.repeat(32) }));
// better-sqlite3 objects stay reachable (Node 24.19+ can abort when one is collected; src/store/sqlite.ts).
const keep: unknown[] = [];
const batchSize = Math.max(1, Math.min(1000, Math.floor(RECORDS / (CORES * 3 * 4))));

async function inNodeSqlite(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-notary-pgbench-'));
  try {
    createDatabaseKey(path.join(dir, 'db.key'));
    const sqlite = SqliteStore.open({ dbPath: path.join(dir, 'tally.db'), keyPath: path.join(dir, 'db.key'), create: true });
    sqlite.migrate('notary', notaryMigrations);
    const store = new NotaryStore(sqlite.db);
    for (let i = 0; i < CORES; i++) store.addKey(generateKey(KEY_TYPE));
    store.submit(records('sqlite'), 'bench', batchSize);
    const engine = new NotaryEngine(sqlite.db, { concurrency: CORES, holder: 'bench', untilIdle: true, idlePollMs: 20, log });
    engine.start();
    await engine.done();
    await engine.stop();
    // First to last signature, as the PostgreSQL runs are timed.
    const spanStmt = sqlite.db.prepare('SELECT min(signed_at) AS a, max(signed_at) AS b FROM notary_signatures');
    keep.push(spanStmt);
    const span = spanStmt.get() as { a: number; b: number };
    sqlite.close();
    return Math.round(RECORDS / Math.max(0.001, (span.b - span.a) / 1000));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const schema = `bench_${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-notary-pgbench-'));
  const u = new URL(BASE_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const urlFile = path.join(home, 'pg.url');
  fs.writeFileSync(urlFile, u.toString() + '\n', { mode: 0o600 });
  const kekFile = path.join(home, 'kek');
  const kek = crypto.randomBytes(32);
  fs.writeFileSync(kekFile, kek.toString('hex') + '\n', { mode: 0o600 });
  const pool = openPostgres(u.toString(), { max: 4 });
  const store = await PgNotaryStore.open(pool, { kek });
  try {
    log(`in-node SQLite: ${RECORDS} ${KEY_TYPE} records, ${CORES} signing threads ...`);
    const sqliteRate = await inNodeSqlite();
    // Keys for the most workers at once: each holds up to CORES leases.
    for (let i = 0; i < CORES * 3; i++) await store.addKey(generateKey(KEY_TYPE));

    const runs: Array<{ workers: number; signatures_per_s: number; seconds: number }> = [];
    for (const workers of [1, 2, 3]) {
      await store.submit(records(`w${workers}`), 'bench', batchSize);
      const maxBefore = Number((await pool.query('SELECT coalesce(max(signed_at), 0) AS m FROM notary_signatures')).rows[0].m);
      log(`PostgreSQL: ${RECORDS} records, ${workers} worker processes x ${CORES} signing threads ...`);
      await Promise.all(Array.from({ length: workers }, () => new Promise<void>((resolve, reject) => {
        const w = spawn(process.execPath, [TALLY_BIN, 'notary', 'worker', '--store', 'postgres', '--pg-url-file', urlFile, '--kek-file', kekFile, '--until-idle', '--concurrency', String(CORES), '--json'], { stdio: ['ignore', 'ignore', 'inherit'] });
        w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited ${code}`))));
      })));
      // Signing time by the database's own clock: first to last signature of this run
      // (process start-up is not signing; a worker on another machine starts once).
      const r = (await pool.query('SELECT min(signed_at) AS a, max(signed_at) AS b, count(*) AS n FROM notary_signatures WHERE signed_at > $1', [maxBefore])).rows[0];
      if (r.n !== RECORDS) throw new Error(`signed ${r.n} of ${RECORDS}`);
      const seconds = Math.max(0.001, (r.b - r.a) / 1000);
      runs.push({ workers, signatures_per_s: Math.round(RECORDS / seconds), seconds: Math.round(seconds * 100) / 100 });
    }

    // The per-signature database cost, counted in-process by the store: round trips and their summed latency.
    await store.submit(records('cost'), 'bench', batchSize);
    const engine = new NotaryEngine(store, { concurrency: CORES, holder: 'bench-cost', untilIdle: true, idlePollMs: 20, log });
    store.queries = 0;
    store.queryMs = 0;
    store.transactions = 0;
    const t0 = performance.now();
    engine.start();
    await engine.done();
    const inProcessSeconds = (performance.now() - t0) / 1000;
    await engine.stop();
    const result = {
      key_type: KEY_TYPE,
      records: RECORDS,
      batch_records: batchSize,
      cores: CORES,
      in_node_sqlite_signatures_per_s: sqliteRate,
      postgres: runs,
      postgres_in_process_signatures_per_s: Math.round(RECORDS / inProcessSeconds),
      queries_per_signature: Math.round((store.queries / RECORDS) * 1000) / 1000,
      query_ms_per_signature: Math.round((store.queryMs / RECORDS) * 1000) / 1000,
      transactions_per_signature: Math.round((store.transactions / RECORDS) * 1000) / 1000,
      queries_per_batch: Math.round((store.queries / (RECORDS / batchSize)) * 10) / 10,
      note: `${CORES} cores shared by every worker process: more processes show the shared store's overhead, not scale-out`,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      postgres_version: (await admin.query('SHOW server_version')).rows[0].server_version,
    };
    if (json) {
      process.stdout.write(JSON.stringify(result) + '\n');
    } else {
      console.log(`in-node SQLite (${CORES} threads):      ${result.in_node_sqlite_signatures_per_s} ${KEY_TYPE} signatures/s`);
      for (const r of runs) console.log(`PostgreSQL, ${r.workers} worker process(es):  ${r.signatures_per_s} signatures/s`);
      console.log(`per signature: ${result.queries_per_signature} round trips, ${result.transactions_per_signature} transactions, ${result.query_ms_per_signature} ms of summed query latency (batches of ${batchSize}: ${result.queries_per_batch} round trips per batch)`);
      console.log(result.note);
    }
  } finally {
    await pool.end();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

await main();
