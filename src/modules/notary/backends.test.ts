// The notary's storage guarantees, run against both backends through the one interface
// the engine uses: SQLite (the node's encrypted file) always, PostgreSQL when reachable
// (under CI=true it must be). One holder per key, fenced writes, one signature per record,
// retired keys take no leases, a batch completes only when whole, resubmits are named.
// PostgreSQL adds: private keys sealed with the KEK, and many pools (processes) racing.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TallyError } from '../../core/errors.js';
import { createDatabaseKey } from '../../store/keyfile.js';
import { SqliteStore } from '../../store/sqlite.js';
import { openPostgres } from '../../store/postgres.js';
import { cleanupPg, freshPgSchema, pgMissing } from '../../../test/pg.js';
import { SqliteNotaryBackend, type NotaryBackend } from './backend.js';
import { NotaryEngine } from './engine.js';
import { generateKey, signWith } from './keys.js';
import { PgNotaryStore } from './pg-store.js';
import { signedMessage } from './records.js';
import { notaryMigrations } from './schema.js';
import { NotaryStore, type Lease } from './store.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KEK = crypto.randomBytes(32);
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await cleanupPg();
});

interface Made { store: NotaryBackend; another(): Promise<NotaryBackend>; raw(sql: string, args: unknown[]): Promise<void> }

async function sqliteBackend(): Promise<Made> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-be-'));
  createDatabaseKey(path.join(dir, 'db.key'));
  const open = () => {
    const s = SqliteStore.open({ dbPath: path.join(dir, 'tally.db'), keyPath: path.join(dir, 'db.key'), create: true });
    s.migrate('notary', notaryMigrations);
    closers.push(async () => s.close());
    return s;
  };
  const first = open();
  closers.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  return {
    store: new SqliteNotaryBackend(new NotaryStore(first.db)),
    another: async () => new SqliteNotaryBackend(new NotaryStore(open().db)),
    raw: async (sql, args) => { first.db.prepare(sql.replace(/\$\d+/g, '?')).run(...args); },
  };
}

async function pgBackend(): Promise<Made> {
  const schema = await freshPgSchema();
  const open = async () => {
    const pool = openPostgres(schema.url, { max: 4 });
    closers.push(() => pool.end());
    return PgNotaryStore.open(pool, { kek: KEK });
  };
  const first = await open();
  return { store: first, another: open, raw: async (sql, args) => { await first.pool.query(sql, args); } };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TallyError) return err.code;
    return `raw: ${(err as Error).message}`;
  }
  return 'no error';
}

const sign = (lease: Lease, rows: Array<{ id: number; record: string }>) =>
  rows.map((r) => ({ id: r.id, sig: signWith(lease.alg, crypto.createPrivateKey({ key: lease.privateDer, format: 'der', type: 'pkcs8' }), signedMessage(lease.batchId, r.id, r.record)) }));

const pgSkip = await pgMissing();

for (const [name, make, skip] of [['sqlite', sqliteBackend, undefined], ['postgres', pgBackend, pgSkip]] as const) {
  describe(`notary storage on ${name}`, { skip }, () => {
    it('fences every write: expired and superseded leases write nothing', async () => {
      const { store, raw } = await make();
      const k1 = await store.addKey(generateKey('ed25519'));
      await store.submit(['{"a":1}', '{"a":2}', '"three"'], 'test');
      const a = (await store.acquire('worker-a', 300))!;
      assert.equal(a.recordCount, 3);
      assert.equal(a.kid, k1.kid);
      await store.submit(['"other batch"'], 'test');
      assert.equal(await store.acquire('worker-b', 300), undefined, 'the only key is held: no second lease');

      await sleep(500);
      const rows = await store.unsigned(a, 10);
      assert.equal(await code(store.writeSignatures(a, 300, sign(a, rows))), 'lease_lost');
      assert.equal((await store.status()).signed, 0, 'nothing written under an expired lease');
      assert.equal(await store.renew(a, 300), false);

      const b = (await store.acquire('worker-b', 10_000))!;
      assert.equal(b.keyId, k1.id);
      assert.ok(b.token > a.token, 'the takeover has a larger fencing token');
      assert.equal(await code(store.writeSignatures(a, 300, sign(a, rows))), 'lease_lost');
      // Even a raw INSERT with the stale token is refused by the trigger.
      assert.match(await code(raw('INSERT INTO notary_signatures (record_id, key_id, lease_token, sig, signed_at) VALUES ($1, $2, $3, $4, 0)', [rows[0]!.id, a.keyId, a.token, Buffer.alloc(64)])), /lease_lost/);
      assert.equal(await code(store.complete(a)), 'lease_lost');

      // The live holder signs the batch; a second signature of a record is refused.
      const bRows = await store.unsigned(b, 10);
      const signed = sign(b, bRows);
      await store.writeSignatures(b, 10_000, signed.slice(0, 2));
      assert.equal(await code(store.complete(b)), 'batch_incomplete');
      await store.writeSignatures(b, 10_000, signed.slice(2));
      assert.match(await code(store.writeSignatures(b, 10_000, signed.slice(0, 1))), /raw|pg_failed|UNIQUE|unique/);
      // Raw SQL cannot mark an incomplete batch signed, nor change or delete a signature.
      assert.match(await code(raw('UPDATE notary_batches SET signed_at = 1 WHERE id = $1', [a.batchId + 1])), /batch_incomplete/);
      assert.match(await code(raw('UPDATE notary_signatures SET sig = $1 WHERE record_id = $2', [Buffer.alloc(64), bRows[0]!.id])), /immutable/);
      assert.match(await code(raw('DELETE FROM notary_signatures WHERE record_id = $1', [bRows[0]!.id])), /immutable/);
      assert.match(await store.complete(b), /^[0-9a-f]{64}$/);
      const st = await store.status();
      assert.equal(st.signed, 3);
      assert.equal(st.batches.signed, 1);
      const log = await store.leaseLog();
      assert.deepEqual(log.map((l) => l.end_reason), ['expired', 'completed']);
    });

    it('retired keys take no leases; a resubmitted batch is named, not stored again', async () => {
      const { store } = await make();
      const k = await store.addKey(generateKey('ed25519'));
      assert.equal(await code(store.addKey({ ...generateKey('ed25519'), kid: k.kid })), 'key_exists');
      const first = await store.submit(['1', '2', '3', '4', '5'], 'test', 2);
      assert.deepEqual(first.map((b) => [b.first, b.count, b.duplicate]), [[1, 2, false], [3, 2, false], [5, 1, false]]);
      const again = await store.submit(['1', '2', '9'], 'test', 2);
      assert.deepEqual(again.map((b) => [b.batch, b.duplicate]), [[first[0]!.batch, true], [again[1]!.batch, false]]);
      assert.equal(again[1]!.first, 6, 'record ids stay one range per batch');
      await store.retireKey(k.kid);
      assert.equal(await code(store.retireKey(k.kid)), 'key_retired');
      assert.equal(await store.hasLeasableWork(), false);
      assert.equal(await store.acquire('w', 1000), undefined);
      assert.equal(await code(store.retireKey('00')), 'key_not_found');
    });

    it('exactly once: three engines on three connections sign every record once', async () => {
      const made = await make();
      for (let i = 0; i < 4; i++) await made.store.addKey(generateKey('ed25519'));
      const records = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ n: i }));
      await made.store.submit(records, 'test', 100);
      const engines = await Promise.all([0, 1, 2].map(async (i) =>
        new NotaryEngine(await made.another(), { concurrency: 2, holder: `e${i}`, untilIdle: true, idlePollMs: 20, chunk: 40 }).start()));
      await Promise.all(engines.map((e) => e.done()));
      await Promise.all(engines.map((e) => e.stop()));
      const st = await made.store.status();
      assert.equal(st.signed, 3000);
      assert.equal(st.batches.pending, 0);
      assert.equal(engines.reduce((n, e) => n + e.signed, 0), 3000, 'no record was signed (and written) twice');
      const rows = await made.store.signedRange(1, 3000);
      assert.equal(new Set(rows.map((r) => r.id)).size, 3000);
    });
  });
}

describe('notary keys in PostgreSQL are sealed with the KEK', { skip: pgSkip }, () => {
  it('stores no plaintext key; a wrong KEK or none cannot lease', async () => {
    const { store } = await pgBackend();
    const pg = store as PgNotaryStore;
    const material = generateKey('ed25519');
    await pg.addKey(material);
    const stored = (await pg.pool.query('SELECT private_der FROM notary_keys')).rows[0].private_der as Buffer;
    assert.equal(stored.indexOf(material.privateDer.subarray(16)), -1, 'the private key is in the table in the clear');
    await pg.submit(['"x"'], 'test');
    const wrong = new PgNotaryStore(pg.pool, { kek: crypto.randomBytes(32) });
    assert.equal(await code(wrong.acquire('w', 1000)), 'kek_wrong');
    const none = new PgNotaryStore(pg.pool, {});
    assert.equal(await code(none.addKey(generateKey('ed25519'))), 'kek_missing');
    assert.equal((await none.status()).keys.active, 1, 'reads need no KEK');
    // The refused leases were rolled back, not left held until they expire.
    const lease = (await pg.acquire('w', 1000))!;
    assert.deepEqual(lease.privateDer, material.privateDer);
  });
});
