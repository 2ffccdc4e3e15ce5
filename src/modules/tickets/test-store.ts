// For the unit tests: a tickets store on a real encrypted SQLite database in a temp dir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabaseKey } from '../../store/keyfile.js';
import { SqliteStore } from '../../store/sqlite.js';
import { CACHE_DEFAULTS, TicketsStore, ticketsMigrations, type CacheBounds } from './store.js';

export function openTestStore(bounds: CacheBounds = CACHE_DEFAULTS): { store: TicketsStore; sqlite: SqliteStore; dir: string; close(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-tickets-'));
  createDatabaseKey(path.join(dir, 'db.key'));
  const sqlite = SqliteStore.open({ dbPath: path.join(dir, 'tally.db'), keyPath: path.join(dir, 'db.key'), create: true, synchronous: 'NORMAL' });
  sqlite.migrate('tickets', ticketsMigrations);
  return {
    store: new TicketsStore(sqlite.db, bounds),
    sqlite,
    dir,
    close() {
      sqlite.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
