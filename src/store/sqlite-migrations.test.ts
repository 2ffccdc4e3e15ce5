// Migrations: each runs once per scope; a database a newer Tally migrated is refused
// (db_newer) instead of being read with tables this code does not know.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TallyError } from '../core/errors.js';
import { createDatabaseKey } from './keyfile.js';
import type { Migration } from './migrations.js';
import { SqliteStore } from './sqlite.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-migrations-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const v1: Migration = { version: 1, description: 'a table', sql: 'CREATE TABLE x_a (k TEXT PRIMARY KEY)' };
const v2: Migration = { version: 2, description: 'another', sql: 'CREATE TABLE x_b (k TEXT PRIMARY KEY)' };

describe('schema migrations', () => {
  const paths = { dbPath: path.join(dir, 'tally.db'), keyPath: path.join(dir, 'db.key') };
  createDatabaseKey(paths.keyPath);

  it('run once each, in order, and again only what is new', () => {
    const store = SqliteStore.open({ ...paths, create: true });
    store.migrate('x', [v1]);
    store.migrate('x', [v1]);
    store.migrate('x', [v2, v1]);
    const rows = store.db.prepare("SELECT version FROM schema_migrations WHERE scope = 'x' ORDER BY version").all() as Array<{ version: number }>;
    assert.deepEqual(rows.map((r) => r.version), [1, 2]);
    store.close();
  });

  it('refuse a database that a newer Tally migrated: db_newer, with the versions', () => {
    const store = SqliteStore.open(paths);
    try {
      assert.throws(() => store.migrate('x', [v1]), (err: unknown) => {
        assert.ok(err instanceof TallyError);
        assert.equal(err.code, 'db_newer');
        assert.deepEqual(err.details, { scope: 'x', version: 2, known: 1 });
        return true;
      });
      // Other scopes are unaffected.
      store.migrate('y', [v1].map((m) => ({ ...m, sql: 'CREATE TABLE y_a (k TEXT)' })));
    } finally {
      store.close();
    }
  });
});
