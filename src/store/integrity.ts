// Telling a damaged database from a wrong key, and finding damage before running on it.
//
// SQLCipher answers "file is not a database" both for a wrong key and for a damaged first
// page (each page carries an HMAC keyed from the database key). To tell them apart we check
// the HMAC of a few pages ourselves: if one verifies, the key is right and the file is
// damaged. Layout (SQLCipher 4, raw key): a 16-byte salt opens page 1; every 4,096-byte
// page ends with a 16-byte IV and a 64-byte HMAC-SHA512 over the encrypted bytes, the IV and
// the page number (little-endian); the HMAC key is PBKDF2-SHA512(key, salt ^ 0x3a, 2, 32).
import crypto from 'node:crypto';
import fs from 'node:fs';
import type Database from 'better-sqlite3-multiple-ciphers';
import { TallyError } from '../core/errors.js';

export const PAGE_BYTES = 4096;
// Statements stay reachable (see keepAlive in sqlite.ts: Node 24 GC abort).
const held: unknown[] = [];
const SALT = 16;
const HMAC = 64;

const CORRUPT_HINT = 'the database file is damaged: stop the node and restore tally.db (with its -wal, if any) from a backup; `tally chain verify --data` checks a restored copy';

export function corrupt(dbPath: string, what: string, cause?: unknown): TallyError {
  return new TallyError('db_corrupt', `${dbPath} is damaged: ${what}`, { status: 500, hint: CORRUPT_HINT, ...(cause === undefined ? {} : { cause }) });
}

/** SQLite's codes for a damaged file (better-sqlite3 puts the extended code on err.code). */
export function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB'));
}

/** A database file is a whole number of pages: anything else was cut short. */
export function checkFileShape(dbPath: string): void {
  const size = fs.statSync(dbPath).size;
  if (size < PAGE_BYTES || size % PAGE_BYTES !== 0) {
    throw corrupt(dbPath, `its size (${size} bytes) is not a whole number of ${PAGE_BYTES}-byte pages: it was truncated`);
  }
}

/** The error for a database the key check could not read: damaged, or the wrong key. */
export function openFailure(dbPath: string, keyHex: string, err: unknown): unknown {
  if (!isCorruption(err)) return err;
  if (keyOpensSomePage(dbPath, keyHex)) return corrupt(dbPath, 'its first page does not decrypt, though others do with this key', err);
  return new TallyError('db_key_wrong', `cannot open ${dbPath}: the database key does not match (or the file is not a Tally database)`, {
    status: 500,
    hint: 'use the db.key file that was created with this database',
    cause: err,
  });
}

/** Does the HMAC of any of the first pages verify with this key? (pages 2.. first: page 1 failed) */
function keyOpensSomePage(dbPath: string, keyHex: string): boolean {
  const fd = fs.openSync(dbPath, 'r');
  try {
    const pages = Math.floor(fs.fstatSync(fd).size / PAGE_BYTES);
    const salt = Buffer.alloc(SALT);
    if (fs.readSync(fd, salt, 0, SALT, 0) < SALT) return false;
    const macKey = crypto.pbkdf2Sync(Buffer.from(keyHex, 'hex'), Buffer.from(salt.map((b) => b ^ 0x3a)), 2, 32, 'sha512');
    const page = Buffer.alloc(PAGE_BYTES);
    for (const n of [2, 3, 4, 5, 6, 7, 8, 1]) {
      if (n > pages) continue;
      fs.readSync(fd, page, 0, PAGE_BYTES, (n - 1) * PAGE_BYTES);
      const pgno = Buffer.alloc(4);
      pgno.writeUInt32LE(n);
      const mac = crypto.createHmac('sha512', macKey).update(page.subarray(n === 1 ? SALT : 0, PAGE_BYTES - HMAC)).update(pgno).digest();
      if (crypto.timingSafeEqual(mac, page.subarray(PAGE_BYTES - HMAC))) return true;
    }
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * PRAGMA quick_check at open: reads every page (so it is O(database size), about a second
 * per few hundred MB), checking each page's HMAC and b-tree structure. Then the page cache
 * it filled is released: those pages are not the hot ones.
 */
export function checkIntegrity(db: Database.Database, dbPath: string): void {
  let problems: string[];
  try {
    const stmt = db.prepare<[], { quick_check: string }>('PRAGMA quick_check(5)');
    held.push(stmt);
    problems = stmt.all().map((r) => r.quick_check);
  } catch (err) {
    if (isCorruption(err)) throw corrupt(dbPath, (err as Error).message, err);
    throw err;
  }
  db.exec('PRAGMA shrink_memory');
  if (problems.length !== 1 || problems[0] !== 'ok') throw corrupt(dbPath, `quick_check: ${problems.join('; ')}`);
}

/** Map a storage error met at run time: damage becomes db_corrupt (503: retry elsewhere or later). */
export function storageError(err: unknown): unknown {
  if (!isCorruption(err)) return err;
  return new TallyError('db_corrupt', 'the node\'s database is damaged; resubmit later', { status: 503, hint: CORRUPT_HINT, cause: err });
}
