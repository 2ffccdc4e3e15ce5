// The PostgreSQL plumbing: where the connection string may come from, coded errors when
// it is missing or the server is down, and migrations that run once even when several
// processes (here: several pools) start at the same moment.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TallyError } from '../core/errors.js';
import { checkPostgres, migratePostgres, openPostgres, readPostgresUrl, withPgRetry } from './postgres.js';
import type { Migration } from './migrations.js';
import { cleanupPg, freshPgSchema, pgMissing } from '../../test/pg.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-pg-'));
after(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await cleanupPg();
});

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TallyError, String(err));
    return err.code;
  }
  return 'no error';
}

describe('PostgreSQL connection string', () => {
  it('comes from a 0600 file, refused when others can read it', () => {
    const file = path.join(tmp, 'pg-url');
    fs.writeFileSync(file, 'postgres://u:secret@db.example:5432/tally\n', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    assert.equal(code(() => readPostgresUrl({ urlFile: file })), 'key_file_permissions');
    fs.chmodSync(file, 0o600);
    assert.equal(readPostgresUrl({ urlFile: file }), 'postgres://u:secret@db.example:5432/tally');
    assert.equal(code(() => readPostgresUrl({ urlFile: path.join(tmp, 'none') })), 'pg_url_missing');
  });

  it('comes from the environment (TALLY_PG_URL by default, or a named variable)', () => {
    assert.equal(readPostgresUrl({}, { TALLY_PG_URL: 'postgresql://h/db' }), 'postgresql://h/db');
    assert.equal(readPostgresUrl({ urlEnv: 'NOTARY_DB' }, { NOTARY_DB: 'postgres://h/n' }), 'postgres://h/n');
    assert.equal(code(() => readPostgresUrl({}, {})), 'pg_url_missing');
    assert.equal(code(() => readPostgresUrl({ urlEnv: 'NOTARY_DB' }, { TALLY_PG_URL: 'postgres://h/db' })), 'pg_url_missing');
  });

  it('refuses what is not a postgres:// URL, without echoing it', () => {
    for (const bad of ['mysql://u:pw@h/db', 'postgres://u:pw@h/db extra', 'host=h password=pw']) {
      try {
        readPostgresUrl({}, { TALLY_PG_URL: bad });
        assert.fail('accepted ' + bad);
      } catch (err) {
        assert.equal((err as TallyError).code, 'pg_url_invalid');
        assert.ok(!(err as Error).message.includes('pw'), 'the message leaks the password');
      }
    }
  });

  it('a server that does not answer is pg_unreachable', async () => {
    const pool = openPostgres('postgres://u:secret@127.0.0.1:1/none', { connectTimeoutMs: 2000 });
    try {
      await assert.rejects(checkPostgres(pool), (err: TallyError) => {
        assert.equal(err.code, 'pg_unreachable');
        assert.ok(!err.message.includes('secret'));
        assert.ok(err.hint);
        return true;
      });
      await assert.rejects(withPgRetry(() => pool.query('SELECT 1'), { deadlineMs: 300 }), { code: 'pg_unreachable' });
    } finally {
      await pool.end();
    }
  });
});

const skip = await pgMissing();

describe('PostgreSQL migrations', { skip }, () => {
  const migrations: Migration[] = [
    { version: 1, description: 'a table', sql: 'CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)', postgres: 'CREATE TABLE t (id BIGINT PRIMARY KEY, b BYTEA)' },
    { version: 2, description: 'an index, the same SQL in both dialects', sql: 'CREATE INDEX t_b ON t (b)' },
  ];

  it('applies each version once, even when eight processes start together', async () => {
    const s = await freshPgSchema();
    const pools = Array.from({ length: 8 }, () => openPostgres(s.url, { max: 2 }));
    try {
      const results = await Promise.all(pools.map((p) => migratePostgres(p, 'demo', migrations)));
      // Every version was applied by exactly one of them.
      assert.deepEqual(results.flat().sort(), [1, 2]);
      const rows = await pools[0]!.query('SELECT scope, version FROM schema_migrations ORDER BY version');
      assert.deepEqual(rows.rows, [{ scope: 'demo', version: 1 }, { scope: 'demo', version: 2 }]);
      // The PostgreSQL variant ran (BYTEA, not the SQLite BLOB that PostgreSQL does not know).
      const col = await pools[0]!.query(`SELECT data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 't' AND column_name = 'b'`, [s.schema]);
      assert.equal(col.rows[0].data_type, 'bytea');
      // ids come back as numbers (int8 parsed), not strings.
      await pools[0]!.query('INSERT INTO t (id, b) VALUES (9007199254740991, NULL)');
      assert.equal((await pools[0]!.query('SELECT id FROM t')).rows[0].id, 9007199254740991);
      // Running again changes nothing.
      assert.deepEqual(await migratePostgres(pools[1]!, 'demo', migrations), []);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await s.drop();
    }
  });

  it('a failed migration leaves nothing behind, and a schema newer than the program is refused', async () => {
    const s = await freshPgSchema();
    const pool = openPostgres(s.url, { max: 2 });
    try {
      const broken: Migration[] = [migrations[0]!, { version: 2, description: 'broken', sql: 'CREATE TABLE u (x INTEGER); SELECT no_such_function()' }];
      await assert.rejects(migratePostgres(pool, 'demo', broken), { code: 'pg_failed' });
      const u = await pool.query(`SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'u'`, [s.schema]);
      assert.equal(u.rows[0].n, 0, 'the failed migration was not rolled back');
      assert.deepEqual(await migratePostgres(pool, 'demo', migrations), [2]);
      await assert.rejects(migratePostgres(pool, 'demo', migrations.slice(0, 1)), { code: 'pg_schema_newer' });
      await assert.rejects(migratePostgres(pool, 'demo', [{ ...migrations[1]!, version: 3 }]), { code: 'migration_order' });
    } finally {
      await pool.end();
      await s.drop();
    }
  });
});
