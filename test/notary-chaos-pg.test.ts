// Notary chaos on PostgreSQL (issue 17, item 4): three `tally notary worker --store postgres`
// processes (two signing threads each) share one PostgreSQL store, as they would from three
// machines; workers are killed with SIGKILL at random moments and restarted, and PostgreSQL
// itself is restarted once in the middle of the run. The workers must ride the restart out
// (no worker exits on its own), and at the end every record has exactly one signature,
// every signature verifies with its key's public PEM, every batch root matches the
// records, every signature was written under the live lease that names its key and batch,
// and the lease log shows no key with two overlapping holders.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { toB64u } from '../src/core/encoding.js';
import { merkleRoot } from '../src/core/merkle.js';
import { openPostgres } from '../src/store/postgres.js';
import { verifyWith } from '../src/modules/notary/keys.js';
import { PgNotaryStore } from '../src/modules/notary/pg-store.js';
import { recordLeafHash, signedMessage } from '../src/modules/notary/records.js';
import { cleanup, cliOk, sleep, TALLY_BIN, tempDir, withTimeout } from './helpers.js';
import { pgBinaries, startPgCluster, type PgCluster } from './pg-cluster.js';

/** NOTARY_CHAOS_PG_RECORDS runs a smaller or larger chaos (a multiple of 1000). */
const RECORDS = Number(process.env.NOTARY_CHAOS_PG_RECORDS ?? 100_000);
// Kills and the restart happen at points of progress, not of time, so a fast machine gets
// as many as a slow one: a worker is killed as the signed count passes each fraction.
const KILL_AT = [0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9];
const RESTART_AT = 0.4;
const SIGN_BUDGET_MS = 90_000 + RECORDS * 5;
const STALL_MS = 60_000;
const WORKERS = 3;
const LEASE_MS = 1500;
const KEYS = 8;
// PostgreSQL is a cluster of the test's own (test/pg-cluster.ts): restarting the machine's
// server would cut whatever else uses it at that moment.
const binaries = pgBinaries();

const workers = new Set<ChildProcess>();
process.on('exit', () => {
  for (const w of workers) w.kill('SIGKILL');
});

const skip = 'missing' in binaries ? binaries.missing : undefined;
if (skip && process.env.CI === 'true') throw new Error(`${skip}, and CI=true`);
let cluster: PgCluster | undefined;

describe(`notary chaos on PostgreSQL: kill -9 workers and restart PostgreSQL while signing ${RECORDS} records`, { skip, timeout: SIGN_BUDGET_MS + 180_000 }, () => {
  after(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await cleanup();
    cluster?.destroy();
  });

  it('signs every record exactly once through kills and a PostgreSQL restart', async () => {
    const started = Date.now();
    const home = tempDir();
    cluster = await startPgCluster((binaries as { bin: string }).bin);
    const schema = { url: cluster.url };
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    // What a worker on another machine is given: the URL in a 0600 file, and the KEK file.
    const urlFile = path.join(home, 'pg.url');
    fs.writeFileSync(urlFile, schema.url + '\n', { mode: 0o600 });
    const kek = path.join(home, 'notary.kek');
    const pgArgs = ['--store', 'postgres', '--pg-url-file', urlFile, '--kek-file', kek, '--json'];
    await cliOk(home, ['notary', 'kek', 'new', '--out', kek, '--json']);
    const cliPg = (args: string[], ms?: number) => cliOk(home, [...args, ...pgArgs], ms);
    await cliPg(['notary', 'keys', 'add', '--type', 'ed25519', '--count', String(KEYS)]);
    const file = path.join(home, 'records.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < RECORDS; i++) lines.push(JSON.stringify({ doc: `invoice-${i}`, amount: i % 977, tags: ['chaos-pg', i % 7] }));
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const submitted = await cliPg(['notary', 'submit', file], 60_000);
    assert.equal(submitted.records, RECORDS);

    let unexpectedExits = 0;
    const killed = new Set<ChildProcess>();
    const startWorker = () => {
      const w = spawn(process.execPath, [TALLY_BIN, 'notary', 'worker', '--concurrency', '2', '--lease-ms', String(LEASE_MS), ...pgArgs], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      w.stderr!.setEncoding('utf8').on('data', (c: string) => {
        if (!/lost its lease|PostgreSQL (not answering|connection lost)|could not lease/.test(c)) process.stderr.write(`[worker ${w.pid}] ${c}`);
      });
      workers.add(w);
      w.once('exit', (code, signal) => {
        workers.delete(w);
        if (!killed.has(w)) {
          unexpectedExits++;
          process.stderr.write(`worker ${w.pid} exited by itself (${code ?? signal})\n`);
        }
      });
      return w;
    };
    const exited = (w: ChildProcess) => (w.exitCode !== null || w.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => w.once('exit', () => r())));

    const pool = openPostgres(schema.url, { max: 2 });
    const store = new PgNotaryStore(pool, { retryMs: 60_000 });
    try {
      let seed = Number(process.env.NOTARY_CHAOS_SEED ?? Date.now() % 1_000_000);
      console.log(`chaos seed ${seed} (NOTARY_CHAOS_SEED reproduces the kill schedule)`);
      const random = () => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed / 0x7fffffff;
      };
      const procs: ChildProcess[] = [];
      for (let i = 0; i < WORKERS; i++) procs.push(startWorker());
      let kills = 0;
      let signed = 0;
      let pending = 0;
      let restartedAt = -1;
      let progressAt = Date.now();
      let nextKill = 0;
      const signStarted = Date.now();
      const done = async () => {
        const st = await store.status();
        if (st.signed !== signed || st.batches.pending !== pending) progressAt = Date.now();
        signed = st.signed;
        pending = st.batches.pending;
        return st.signed >= RECORDS && st.batches.pending === 0;
      };
      const where = () => `${signed} of ${RECORDS} records signed, ${pending} batches pending, ${kills} kills, restart at ${restartedAt}, seed ${seed}`;
      while (!(await done())) {
        assert.ok(Date.now() - signStarted < SIGN_BUDGET_MS, `not done within ${SIGN_BUDGET_MS} ms: ${where()}`);
        assert.ok(Date.now() - progressAt < STALL_MS, `no progress for ${STALL_MS} ms: ${where()}`);
        await sleep(150 + random() * 250);
        if (await done()) break;
        if (restartedAt < 0 && signed >= RECORDS * RESTART_AT) {
          // PostgreSQL goes away under the workers (fast shutdown: their connections are cut).
          restartedAt = signed;
          const t = Date.now();
          cluster!.stop();
          cluster!.start();
          console.log(`PostgreSQL restarted at ${signed} signed (${Date.now() - t} ms)`);
          continue;
        }
        if (nextKill >= KILL_AT.length || signed < KILL_AT[nextKill]! * RECORDS) continue;
        while (nextKill < KILL_AT.length && signed >= KILL_AT[nextKill]! * RECORDS) nextKill++;
        const i = Math.floor(random() * procs.length);
        killed.add(procs[i]!);
        procs[i]!.kill('SIGKILL');
        await withTimeout(exited(procs[i]!), 10_000, `worker ${procs[i]!.pid} exits after SIGKILL`);
        kills++;
        procs[i] = startWorker();
      }
      for (const w of procs) {
        killed.add(w);
        w.kill('SIGTERM');
      }
      await Promise.all(procs.map(exited));
      console.log(`signed ${RECORDS} records in ${((Date.now() - started) / 1000).toFixed(1)} s with ${kills} kill -9 and a PostgreSQL restart at ${restartedAt}`);
      assert.ok(restartedAt >= 0, 'PostgreSQL was restarted during the run');
      assert.ok(kills >= 3, `the schedule killed workers ${kills} times`);
      assert.equal(unexpectedExits, 0, 'no worker gave up during the PostgreSQL restart');

      const st = await store.status();
      assert.equal(st.records, RECORDS);
      assert.equal(st.signed, RECORDS);
      assert.equal(st.batches.pending, 0);
      const one = (await pool.query('SELECT count(*) AS n, count(DISTINCT record_id) AS d FROM notary_signatures')).rows[0];
      assert.deepEqual(one, { n: RECORDS, d: RECORDS });

      const log = await store.leaseLog();
      const byKey = new Map<number, typeof log>();
      for (const row of log) byKey.set(row.key_id, [...(byKey.get(row.key_id) ?? []), row]);
      let expired = 0;
      for (const [key, rows] of byKey) {
        for (let i = 1; i < rows.length; i++) {
          const prev = rows[i - 1]!;
          assert.notEqual(prev.ended_at, null, `key ${key}: lease ${prev.token} never ended but lease ${rows[i]!.token} followed`);
          assert.ok(rows[i]!.acquired_at >= prev.ended_at!, `key ${key}: lease ${rows[i]!.token} began at ${rows[i]!.acquired_at}, before lease ${prev.token} ended at ${prev.ended_at}`);
        }
        expired += rows.filter((r) => r.end_reason === 'expired').length;
      }
      assert.ok(expired >= 1, 'some killed worker held a lease that expired and was taken over');
      console.log(`${log.length} leases over ${byKey.size} keys, ${expired} expired after a kill, no overlap`);

      const stray = (await pool.query(`
        SELECT count(*) AS n FROM notary_signatures s JOIN notary_records r ON r.id = s.record_id
        JOIN notary_lease_log g ON g.token = s.lease_token
        WHERE g.key_id != s.key_id OR g.batch_id != r.batch_id OR s.signed_at < g.acquired_at
           OR (g.ended_at IS NOT NULL AND s.signed_at > g.ended_at)`)).rows[0];
      assert.equal(stray.n, 0);

      // Every signature verifies with its key's public PEM; every batch root matches.
      const keys = new Map((await store.keys()).map((k) => [k.kid, crypto.createPublicKey(k.public_pem)]));
      const batches = (await pool.query('SELECT id, first_record, record_count, root FROM notary_batches ORDER BY id')).rows;
      for (const b of batches) {
        const rows = await store.signedRange(b.first_record, b.first_record + b.record_count - 1);
        assert.equal(rows.length, b.record_count);
        for (const r of rows) assert.ok(verifyWith(r.alg, keys.get(r.kid)!, signedMessage(r.batch_id, r.id, r.record), r.sig), `record ${r.id} verifies`);
        const root = merkleRoot(rows.map((r) => recordLeafHash({ id: r.id, batch: r.batch_id, kid: r.kid, alg: r.alg, sig: toB64u(r.sig), record: r.record })));
        assert.equal(root, b.root, `batch ${b.id} root`);
      }
      assert.equal(batches.length, Math.ceil(RECORDS / 1000));
      console.log(`chaos on PostgreSQL: wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      await pool.end();
    }
  });
});
