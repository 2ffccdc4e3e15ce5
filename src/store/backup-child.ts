// The snapshot runs in a child process: VACUUM INTO is one synchronous SQLite statement, and
// in a process of its own it leaves the parent free to report progress (the growing output
// file) for the minutes a large database takes. argv: dbPath keyPath outPath. The answer is
// one IPC message: {ok: SnapshotInfo} or {error: {code, message, hint?}}.
import { TallyError } from '../core/errors.js';
import { snapshotDatabase } from './backup.js';

const [dbPath, keyPath, outPath] = process.argv.slice(2);
let reply: unknown;
try {
  reply = { ok: snapshotDatabase(dbPath!, keyPath!, outPath!) };
} catch (err) {
  reply = { error: err instanceof TallyError ? err.toJSON() : { code: 'internal', message: (err as Error).message } };
}
process.send!(reply, () => process.disconnect());
