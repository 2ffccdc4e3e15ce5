// One node per data directory: two sequencers on one database would fork the chain.
//
// The lock is a kernel lock, not a file's existence: an exclusive SQLite transaction held
// open on `<lock>.db` (POSIX fcntl locks on Unix, LockFileEx on Windows; Node core has no
// flock). The kernel drops it when the process dies, so a crashed node leaves nothing to
// take over, and nothing is ever deleted: the old pid-file scheme read a stale pid and then
// deleted the file, and between the two another starter could create its own lock and have
// it deleted, so two nodes ran. `<lock>` itself still holds the owner's pid, written only
// by the holder of the kernel lock: for messages, and so that a node of an older version
// (which knows only the pid file) sees a live owner and stays out.
import Database from 'better-sqlite3-multiple-ciphers';
import fs from 'node:fs';
import { fail } from '../core/errors.js';

// Keep lock connections reachable (see keepAlive in sqlite.ts: Node 24 GC abort).
const held: unknown[] = [];

/** Take the data directory's lock or fail with `node_running`; returns the release function. */
export function acquireNodeLock(lockPath: string): () => void {
  const db = new Database(`${lockPath}.db`, { timeout: 0 });
  held.push(db);
  try {
    // Holds an EXCLUSIVE lock on the file until ROLLBACK or close; nothing is written.
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
      const pid = pidIn(lockPath);
      fail('node_running', `another node${pid ? ` (pid ${pid})` : ''} is running on this data directory`, {
        status: 409, hint: 'stop it first, or talk to it with --node',
      });
    }
    throw err;
  }
  // We hold the kernel lock; a live pid in the pid file now can only be a node of an
  // older version (it never takes the kernel lock).
  const other = pidIn(lockPath);
  if (other !== undefined && other !== process.pid && processAlive(other)) {
    db.close();
    fail('node_running', `another node (pid ${other}) is running on this data directory`, {
      status: 409, hint: 'stop it first, or talk to it with --node',
    });
  }
  fs.writeFileSync(lockPath, `${process.pid}\n`, { mode: 0o600 });
  let released = false;
  return () => {
    if (released) return;
    released = true;
    // Pid file first, kernel lock last: a successor writes its pid only after both.
    if (pidIn(lockPath) === process.pid) fs.rmSync(lockPath, { force: true });
    if (db.open) db.close();
  };
}

function pidIn(lockPath: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(lockPath, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
