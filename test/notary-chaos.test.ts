// Notary chaos: 100,000 records (NOTARY_CHAOS_RECORDS), three worker processes (two signing threads each) on one
// encrypted database, workers killed with SIGKILL at random moments and restarted. At the
// end every record has exactly one signature, every signature verifies (offline, from the
// export), every batch root matches, and the lease log shows no key with two overlapping
// holders. Ed25519 keys carry the bulk so the test stays near a minute on two cores;
// the RSA path is exercised by notary.test.ts and by `tally notary bench`.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { openNotary } from '../src/modules/notary/cli.js';
import { cleanup, cliOk, sleep, TALLY_BIN, tempDir, withTimeout } from './helpers.js';

/** NOTARY_CHAOS_RECORDS runs a smaller chaos (a multiple of 1000: one batch per 1000). */
const RECORDS = Number(process.env.NOTARY_CHAOS_RECORDS ?? 100_000);
// The signing budget scales with the work: a floor for start-up plus a slow-machine rate
// per record (two busy shared cores; an idle one signs far faster). A worker is killed
// only after the pool made progress since the last kill, so a slow machine gets fewer
// kills, not a livelock; a stall (nothing signed or marked for STALL_MS) fails early.
const SIGN_BUDGET_MS = 60_000 + RECORDS * 5;
const STALL_MS = 60_000;
const WORKERS = 3;
const LEASE_MS = 1000;
const KEYS = 8;

const workers = new Set<ChildProcess>();
// Statements stay reachable: Node 24.19+ can abort when one is collected (src/store/sqlite.ts).
const keep: unknown[] = [];
process.on('exit', () => {
  for (const w of workers) w.kill('SIGKILL');
});

function startWorker(dataDir: string): ChildProcess {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const w = spawn(process.execPath, [TALLY_BIN, 'notary', 'worker', '--data', dataDir, '--concurrency', '2', '--lease-ms', String(LEASE_MS), '--json'],
    { env, stdio: ['ignore', 'ignore', 'pipe'] });
  w.stderr!.setEncoding('utf8').on('data', (c: string) => {
    // lost leases are expected here; anything else is worth seeing in the test log
    if (!/lost its lease/.test(c)) process.stderr.write(`[worker ${w.pid}] ${c}`);
  });
  workers.add(w);
  w.once('exit', () => workers.delete(w));
  return w;
}

function exited(w: ChildProcess): Promise<void> {
  if (w.exitCode !== null || w.signalCode !== null) return Promise.resolve();
  return new Promise((r) => w.once('exit', () => r()));
}

describe(`notary chaos: kill -9 workers while signing ${RECORDS} records`, { timeout: SIGN_BUDGET_MS + 180_000 }, () => {
  after(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await cleanup();
  });

  it('signs every record exactly once, with no two holders of a key at once', async () => {
    const started = Date.now();
    const home = tempDir();
    const dataDir = path.join(home, 'data');
    await cliOk(home, ['init', '--data', dataDir, '--json']);
    await cliOk(home, ['notary', 'keys', 'add', '--type', 'ed25519', '--count', String(KEYS), '--data', dataDir, '--json']);
    const file = path.join(home, 'records.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < RECORDS; i++) lines.push(JSON.stringify({ doc: `invoice-${i}`, amount: i % 977, tags: ['chaos', i % 7] }));
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const submitted = await cliOk(home, ['notary', 'submit', file, '--data', dataDir, '--json'], 60_000);
    assert.equal(submitted.records, RECORDS);

    const { store, sqlite } = openNotary(dataDir);
    try {
      let seed = Number(process.env.NOTARY_CHAOS_SEED ?? Date.now() % 1_000_000);
      console.log(`chaos seed ${seed} (NOTARY_CHAOS_SEED reproduces the kill schedule)`);
      const random = () => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed / 0x7fffffff;
      };
      const pool: ChildProcess[] = [];
      for (let i = 0; i < WORKERS; i++) pool.push(startWorker(dataDir));
      let kills = 0;
      let signed = 0;
      let pending = 0;
      let progressAt = Date.now();
      let signedAtLastKill = -1;
      const signStarted = Date.now();
      // Done means every record signed and every batch marked complete: a worker may sign a
      // batch's last records and be killed before it marks the batch; another finishes it.
      const done = () => {
        const st = store.status();
        if (st.signed !== signed || st.batches.pending !== pending) progressAt = Date.now();
        signed = st.signed;
        pending = st.batches.pending;
        return st.signed >= RECORDS && st.batches.pending === 0;
      };
      // Built when it fails, so it reports the count reached then (not the 0 at the start).
      const where = () => `${signed} of ${RECORDS} records signed, ${pending} batches pending, ${kills} kills, seed ${seed}`;
      while (!done()) {
        assert.ok(Date.now() - signStarted < SIGN_BUDGET_MS, `not done within ${SIGN_BUDGET_MS} ms: ${where()}`);
        assert.ok(Date.now() - progressAt < STALL_MS, `no progress for ${STALL_MS} ms: ${where()}`);
        // Short enough for several kills: signing 100,000 records now takes about 6 s here.
        await sleep(200 + random() * 500);
        if (done()) break;
        if (signed === signedAtLastKill) continue;
        signedAtLastKill = signed;
        const i = Math.floor(random() * pool.length);
        pool[i]!.kill('SIGKILL');
        await withTimeout(exited(pool[i]!), 10_000, `worker ${pool[i]!.pid} exits after SIGKILL`);
        kills++;
        pool[i] = startWorker(dataDir);
      }
      for (const w of pool) w.kill('SIGTERM');
      await Promise.all(pool.map(exited));
      console.log(`signed ${RECORDS} records in ${((Date.now() - started) / 1000).toFixed(1)} s with ${kills} kill -9`);
      assert.ok(kills >= 3, `the schedule killed workers ${kills} times`);

      // Exactly one signature per record: the primary key allows at most one, and the count says none is missing.
      const st = store.status();
      assert.equal(st.records, RECORDS);
      assert.equal(st.signed, RECORDS);
      assert.equal(st.batches.pending, 0);
      const countStmt = sqlite.db.prepare('SELECT count(*) AS n, count(DISTINCT record_id) AS d FROM notary_signatures');
      keep.push(countStmt);
      const one = countStmt.get() as { n: number; d: number };
      assert.deepEqual(one, { n: RECORDS, d: RECORDS });

      // The lease log: per key, each lease starts after the previous one ended (released or expired).
      const log = store.leaseLog();
      const byKey = new Map<number, typeof log>();
      for (const row of log) byKey.set(row.key_id, [...(byKey.get(row.key_id) ?? []), row]);
      let expired = 0;
      for (const [key, rows] of byKey) {
        rows.sort((a, b) => a.token - b.token);
        for (let i = 1; i < rows.length; i++) {
          const prev = rows[i - 1]!;
          assert.notEqual(prev.ended_at, null, `key ${key}: lease ${prev.token} never ended but lease ${rows[i]!.token} followed`);
          assert.ok(rows[i]!.acquired_at >= prev.ended_at!, `key ${key}: lease ${rows[i]!.token} began at ${rows[i]!.acquired_at}, before lease ${prev.token} ended at ${prev.ended_at}`);
        }
        expired += rows.filter((r) => r.end_reason === 'expired').length;
      }
      assert.ok(expired >= 1, 'some killed worker held a lease that expired and was taken over');
      console.log(`${log.length} leases over ${byKey.size} keys, ${expired} expired after a kill, no overlap`);

      // Every signature was written under the lease that names its key and batch, while that lease lived.
      const strayStmt = sqlite.db.prepare(`
        SELECT count(*) AS n FROM notary_signatures s JOIN notary_records r ON r.id = s.record_id
        JOIN notary_lease_log g ON g.token = s.lease_token
        WHERE g.key_id != s.key_id OR g.batch_id != r.batch_id OR s.signed_at < g.acquired_at
           OR (g.ended_at IS NOT NULL AND s.signed_at > g.ended_at)`);
      keep.push(strayStmt);
      const stray = strayStmt.get() as { n: number };
      assert.equal(stray.n, 0);
    } finally {
      sqlite.close();
    }

    // Offline: every signature verifies with the exported public keys; every batch root matches.
    const out = path.join(home, 'export.jsonl');
    const exported = await cliOk(home, ['notary', 'export', '--data', dataDir, '--out', out, '--json'], 60_000);
    assert.equal(exported.records, RECORDS);
    const keys = path.join(home, 'keys.json');
    await cliOk(home, ['notary', 'keys', 'export', '--data', dataDir, '--out', keys, '--json']);
    const verified = await cliOk(home, ['notary', 'verify', out, '--keys', keys, '--json'], 90_000);
    assert.equal(verified.ok, true);
    assert.equal(verified.verified, RECORDS);
    assert.equal(verified.roots_ok, Math.ceil(RECORDS / 1000));
    console.log(`chaos test wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});
