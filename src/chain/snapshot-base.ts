// The state at the snapshot height a data directory started from (`tally init
// --from-snapshot`), kept as the snapshot gave it. `tally chain verify` starts there: blocks
// below that height are absent, so it re-checks this state against the signed header's
// stateRoot and replays the blocks after it. The live `state` table moves on with every
// block and the state tree prunes old versions, so neither can stand in for it.
import { fail } from '../core/errors.js';
import type { Migration } from '../store/migrations.js';
import type { SqliteStore } from '../store/sqlite.js';

/** Its own migration scope: only directories made from a snapshot have the table. */
export const SNAPSHOT_BASE_SCOPE = 'snapshot';

export const snapshotBaseMigrations: Migration[] = [
  {
    version: 1,
    description: 'snapshot base: the state at the snapshot height the directory started from',
    sql: 'CREATE TABLE snapshot_base (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;',
  },
];

const SNAPSHOT_HEIGHT_META = 'snapshot/height';
/** Rows per read: verify holds the whole state anyway, but each query stays bounded. */
const BASE_PAGE_ROWS = 10_000;

export interface SnapshotBase {
  height: number;
  /** The state at `height`, in key order; undefined when the directory does not keep it (made before it did). */
  entries?: () => Iterable<[key: string, valueText: string]>;
}

/** Record the snapshot's height and state, inside init's transaction (after the migration). */
export function writeSnapshotBase(store: SqliteStore, height: number, entries: Iterable<[string, string]>): void {
  const put = store.db.prepare<[string, string]>('INSERT INTO snapshot_base (k, v) VALUES (?, ?)');
  for (const [k, v] of entries) put.run(k, v);
  store.setMeta(SNAPSHOT_HEIGHT_META, String(height));
}

/** The snapshot this directory started from; undefined for a directory that starts at genesis. */
export function snapshotBaseOf(store: SqliteStore): SnapshotBase | undefined {
  const raw = store.getMeta(SNAPSHOT_HEIGHT_META);
  if (raw === undefined) return undefined;
  const height = Number(raw);
  if (!Number.isSafeInteger(height) || height < 1) fail('db_corrupt', `meta ${SNAPSHOT_HEIGHT_META} is "${raw.slice(0, 40)}", not a height of at least 1`, { status: 500 });
  const has = store.db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'snapshot_base'").get()!.n > 0;
  if (!has) return { height };
  const first = store.db.prepare<[number], { k: string; v: string }>('SELECT k, v FROM snapshot_base ORDER BY k LIMIT ?');
  const next = store.db.prepare<[string, number], { k: string; v: string }>('SELECT k, v FROM snapshot_base WHERE k > ? ORDER BY k LIMIT ?');
  return {
    height,
    entries: function* () {
      let rows = first.all(BASE_PAGE_ROWS);
      for (;;) {
        for (const r of rows) yield [r.k, r.v];
        if (rows.length < BASE_PAGE_ROWS) return;
        rows = next.all(rows[rows.length - 1]!.k, BASE_PAGE_ROWS);
      }
    },
  };
}
