// A stopped node's encrypted database, opened the way someone holding db.key would open it
// to read or tamper with it (tests of chain verify, audit and snapshots).
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3-multiple-ciphers';
import { hashText } from '../src/core/hash.js';

// Node 24.19+ can abort when a better-sqlite3 object is garbage-collected at the wrong moment
// (nodejs/node#65446, see src/store/sqlite.ts): test processes keep every one they make.
const retained: unknown[] = [];

/** Open a database file; it and every statement it prepares are kept alive. */
export function openDb(file: string, options: Database.Options = {}): Database.Database {
  const db = new Database(file, options);
  retained.push(db);
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    const stmt = prepare(sql);
    retained.push(stmt);
    return stmt;
  }) as typeof db.prepare;
  return db;
}

/** The data directory's tally.db, decrypted with its db.key. */
export function openEncrypted(dataDir: string): Database.Database {
  const key = fs.readFileSync(path.join(dataDir, 'db.key'), 'utf8').trim();
  const db = openDb(path.join(dataDir, 'tally.db'), { fileMustExist: true });
  db.exec(`PRAGMA cipher='sqlcipher'`);
  db.exec('PRAGMA legacy=4');
  db.exec(`PRAGMA key="x'${key}'"`);
  return db;
}

/**
 * A state key's value and height as stored: in its state row, or (core migration 5) in the
 * state tree's value row at (h, BLAKE3(key)) when the row's value is NULL.
 */
export function storedValue(db: Database.Database, key: string): { v: string; h: number } {
  const row = db.prepare<[string], { v: string | null; h: number }>('SELECT v, h FROM state WHERE k = ?').get(key);
  assert.ok(row, `no state row ${key}`);
  if (row.v !== null) return { v: row.v, h: row.h };
  const tree = db.prepare<[number, Buffer], { v: string }>('SELECT v FROM smt_values WHERE version = ? AND path = ?').get(row.h, Buffer.from(hashText(key)));
  assert.ok(tree, `no tree value row for ${key} at ${row.h}`);
  return { v: tree.v, h: row.h };
}
