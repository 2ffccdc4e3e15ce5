// Two nodes in one process keep their own notary store: the routes of one never answer
// from the other's (a module-global runtime made every node in the process share the last
// one started). Here node A is configured for PostgreSQL (not open yet) and node B is not.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import type { NodeHandle } from '../../chain/app-module.js';
import { createDatabaseKey } from '../../store/keyfile.js';
import { SqliteStore } from '../../store/sqlite.js';
import { notaryRoutes } from './routes.js';
import { notaryMigrations } from './schema.js';
import { notaryRuntime } from './service.js';

const closers: Array<() => void> = [];
after(() => closers.forEach((c) => c()));

function nodeWithStore(): NodeHandle {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-notary-rt-'));
  createDatabaseKey(path.join(dir, 'db.key'));
  const store = SqliteStore.open({ dbPath: path.join(dir, 'tally.db'), keyPath: path.join(dir, 'db.key'), create: true, synchronous: 'NORMAL' });
  store.migrate('notary', notaryMigrations);
  closers.push(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { store } as unknown as NodeHandle;
}

describe('notary runtime per node', () => {
  it('a node on PostgreSQL and a node on SQLite in one process answer each from its own store', async () => {
    const a = nodeWithStore();
    const b = nodeWithStore();
    assert.notEqual(notaryRuntime(a), notaryRuntime(b));
    notaryRuntime(a).pgConfigured = true; // as startNotaryService does for store "postgres"
    const apps = [Fastify(), Fastify()];
    notaryRoutes(apps[0]!, a);
    notaryRoutes(apps[1]!, b);
    const [ra, rb] = await Promise.all(apps.map((app) => app.inject({ method: 'GET', url: '/v1/notary/keys' })));
    assert.equal(ra!.statusCode, 503, 'A waits for its PostgreSQL store');
    assert.match(ra!.body, /pg_unreachable/);
    assert.equal(rb!.statusCode, 200, 'B reads its own SQLite tables');
    assert.deepEqual(JSON.parse(rb!.body), []);
    await Promise.all(apps.map((app) => app.close()));
  });
});
