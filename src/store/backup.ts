// Online backup of the encrypted database: a consistent snapshot while the node runs.
//
// SQLite's backup API (better-sqlite3's db.backup()) cannot copy a SQLCipher database:
// it opens the destination itself, with no key, and SQLite3 Multiple Ciphers refuses a
// backup between an encrypted source and an unencrypted target ("backup is not supported
// with incompatible source and target databases"). So the snapshot is `VACUUM INTO` on a
// read-only connection of our own: it reads inside one read transaction (in WAL mode the
// node keeps committing, and the copy is the database as of one commit), and the cipher
// attaches the target with the source's cipher and key, so the copy is encrypted as the
// original and opens with the same db.key. It takes no lock the node holds (node.lock.db is
// another file) and blocks no writer; it only holds back WAL checkpoints while it runs.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail, TallyError } from '../core/errors.js';
import { SqliteStore } from './sqlite.js';

// Statements stay reachable (see keepAlive in sqlite.ts: Node 24 GC abort).
const held: unknown[] = [];
const PROGRESS_MS = 500;

export interface SnapshotInfo {
  chain: string;
  height: number;
  tipHash: string;
  bytes: number;
}

/** Approximate size of the live database (pages in use), for progress. */
export function databaseBytes(dbPath: string): number {
  const wal = `${dbPath}-wal`;
  return fs.statSync(dbPath).size + (fs.existsSync(wal) ? fs.statSync(wal).size : 0);
}

/**
 * Write a consistent, encrypted snapshot of `dbPath` to `outPath`, which must not exist.
 * It is created 0600 before a byte is written.
 */
export function snapshotDatabase(dbPath: string, keyPath: string, outPath: string): SnapshotInfo {
  const store = SqliteStore.open({ dbPath, keyPath, readonly: true });
  try {
    // VACUUM INTO accepts an empty file: make it first, owner-only.
    fs.closeSync(fs.openSync(outPath, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600));
    const vacuum = store.db.prepare<[string]>('VACUUM INTO ?');
    held.push(vacuum);
    vacuum.run(path.resolve(outPath));
  } finally {
    store.close();
  }
  fs.chmodSync(outPath, 0o600);
  const fd = fs.openSync(outPath, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { ...describeDatabase(outPath, keyPath), bytes: fs.statSync(outPath).size };
}

/** Chain id, tip height and hash of a (snapshot) database, opened read-only. */
export function describeDatabase(dbPath: string, keyPath: string): { chain: string; height: number; tipHash: string } {
  const store = SqliteStore.open({ dbPath, keyPath, readonly: true });
  try {
    const tip = store.tip();
    const genesis = store.getMeta('genesis');
    if (!tip || !genesis) fail('db_corrupt', `${dbPath} has no blocks or no genesis record`, { status: 500 });
    return { chain: (JSON.parse(genesis) as { chain: string }).chain, height: tip.height, tipHash: tip.hash };
  } finally {
    store.close();
  }
}

/** Flush a directory entry (after a rename or a create) to disk. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * snapshotDatabase in a child process, calling `progress` with the bytes written so far.
 * `signal` kills the child (SIGKILL: it holds nothing the node needs, only a read snapshot).
 */
export function snapshotInChild(dbPath: string, keyPath: string, outPath: string, progress: (bytes: number) => void, signal?: AbortSignal): Promise<SnapshotInfo> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./backup-child.js', import.meta.url)), [dbPath, keyPath, outPath], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], ...(signal ? { signal, killSignal: 'SIGKILL' as const } : {}) });
    let reply: { ok?: SnapshotInfo; error?: { code: string; message: string; hint?: string } } | undefined;
    const timer = setInterval(() => {
      try {
        progress(fs.statSync(outPath).size);
      } catch {
        // not created yet
      }
    }, PROGRESS_MS);
    child.on('message', (m) => { reply = m as typeof reply; });
    child.on('error', (err) => {
      clearInterval(timer);
      reject(err.name === 'AbortError' ? new TallyError('cancelled', 'the backup was interrupted') : err);
    });
    // 'close', not 'exit': 'exit' can be handled before the child's last message is read.
    child.on('close', (code, signal) => {
      clearInterval(timer);
      if (reply?.ok) return resolve(reply.ok);
      if (reply?.error) return reject(new TallyError(reply.error.code, reply.error.message, { status: 500, ...(reply.error.hint ? { hint: reply.error.hint } : {}) }));
      reject(new TallyError('backup_failed', `the snapshot process ended without an answer (code ${code}, signal ${signal})`, { status: 500 }));
    });
  });
}
