// Opening the notary's PostgreSQL store from what a process is given: the URL source
// (a 0600 file or an environment variable) and, for processes that add keys or sign, the
// KEK file. The same for the node (config.json, notary section) and `tally notary worker`.
import { migratePostgres, openPostgres, readPostgresUrl, type PgUrlSource } from '../../store/postgres.js';
import { readKek } from './kek.js';
import { PgNotaryStore } from './pg-store.js';
import { notaryMigrations } from './schema.js';

export interface PgNotarySource extends PgUrlSource {
  kekFile?: string;
}

export async function openPgNotary(source: PgNotarySource, o: { log?: (line: string) => void; max?: number; retryMs?: number } = {}): Promise<PgNotaryStore> {
  const url = readPostgresUrl(source);
  const kek = source.kekFile ? readKek(source.kekFile) : undefined;
  const pool = openPostgres(url, {
    max: o.max ?? 8,
    applicationName: 'tally-notary',
    // An idle connection dropped by a restart: the pool replaces it on next use.
    onIdleError: (err) => o.log?.(`notary: PostgreSQL connection lost (${(err as { code?: string }).code ?? err.message}); reconnecting on next use`),
  });
  try {
    await migratePostgres(pool, 'notary', notaryMigrations, { ...(o.retryMs !== undefined ? { deadlineMs: o.retryMs } : {}) });
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  return new PgNotaryStore(pool, { ...(kek ? { kek } : {}), ...(o.log ? { log: o.log } : {}) });
}
