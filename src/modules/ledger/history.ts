// Each account's history: an off-chain index over committed transactions, written in each
// block's own storage transaction (see BlockIndexer). A row says "this transaction
// concerns this account", with the counterparty of a transfer and the block time.
//
// Written for throughput: a busy block must not dirty a page per account. New rows append
// to ledger_history_recent (ordered by chain position, so every insert lands on the last
// page), and every MERGE_ROWS rows they move, sorted by account, into ledger_history
// (ordered by account), touching each account's pages once per merge instead of once per
// block. The recent rows are also kept in memory by account, so a query reads one range of
// ledger_history plus that memory. `npm run bench:storage` measures the cost per transfer.
import type { BlockIndexer, IndexedTx } from '../../chain/app-module.js';
import type { Migration } from '../../store/migrations.js';
import type { SqliteStore } from '../../store/sqlite.js';
import { MINT_ID } from './state.js';

/** Rows kept in the recent table (and memory: ~100 bytes each) before they merge. */
export const MERGE_ROWS = 100_000;

export const ledgerMigrations: Migration[] = [
  {
    version: 1,
    description: 'account history: ledger_history by account, ledger_history_recent in chain order',
    sql: `
      CREATE TABLE ledger_history (
        account      TEXT NOT NULL,
        seq          INTEGER NOT NULL,   -- txs.seq: height * 4096 + index
        counterparty TEXT,               -- the other side of a transfer, if any
        time         INTEGER NOT NULL,   -- block time, unix ms
        PRIMARY KEY (account, seq)
      ) WITHOUT ROWID;
      CREATE TABLE ledger_history_recent (
        seq          INTEGER NOT NULL,
        account      TEXT NOT NULL,
        counterparty TEXT,
        time         INTEGER NOT NULL,
        PRIMARY KEY (seq, account)
      ) WITHOUT ROWID;
    `,
  },
];

/** The accounts a committed transaction concerns, each with its counterparty (if a transfer). */
export function participants(t: IndexedTx): Map<string, string | null> {
  const out = new Map<string, string | null>();
  const add = (account: unknown, counterparty: unknown) => {
    if (typeof account !== 'string') return;
    const cp = typeof counterparty === 'string' ? counterparty : null;
    if (!out.has(account) || (out.get(account) === null && cp !== null)) out.set(account, cp);
  };
  for (const e of t.receipt.events) {
    if (e.type === 'ledger.transfer' || e.type === 'ledger.dispute_opened' || e.type === 'ledger.dispute_resolved') {
      add(e.from, e.to);
      add(e.to, e.from);
    }
  }
  add(t.tx.from, null);
  // The mint's side of every registration grant would make one enormous, useless history.
  out.delete(MINT_ID);
  return out;
}

export interface HistoryRow {
  seq: number;
  counterparty: string | null;
  time: number;
}

/** The recent rows by account, in chain order: what ledger_history_recent holds. */
type Recent = Map<string, HistoryRow[]>;
const recentByStore = new Map<SqliteStore, Recent>();
const retained: unknown[] = [];

export function ledgerIndexer(store: SqliteStore, mergeRows = MERGE_ROWS): BlockIndexer {
  const insert = store.db.prepare<[number, string, string | null, number]>(
    'INSERT OR IGNORE INTO ledger_history_recent (seq, account, counterparty, time) VALUES (?, ?, ?, ?)',
  );
  const merge = store.db.prepare(
    'INSERT OR IGNORE INTO ledger_history (account, seq, counterparty, time) SELECT account, seq, counterparty, time FROM ledger_history_recent ORDER BY account, seq',
  );
  const clear = store.db.prepare('DELETE FROM ledger_history_recent');
  const load = store.db.prepare<[], HistoryRow & { account: string }>('SELECT seq, account, counterparty, time FROM ledger_history_recent ORDER BY seq');
  // Never let a statement become garbage (Node 24.19+ abort, see src/store/sqlite.ts).
  retained.push(insert, merge, clear, load);
  const recent: Recent = new Map();
  let recentRows = 0;
  const remember = (account: string, row: HistoryRow) => {
    let list = recent.get(account);
    if (!list) recent.set(account, (list = []));
    list.push(row);
    recentRows++;
  };
  for (const { account, ...row } of load.all()) remember(account, row);
  recentByStore.set(store, recent);
  // What index() calls wrote in the open storage transaction (a replica's run holds several
  // blocks): memory follows only after the commit. `pendingRows`: the recent table's rows then.
  let pending: Array<{ rows: Array<[string, HistoryRow]>; merged: boolean }> = [];
  let pendingRows = 0;
  return {
    index(block, txs) {
      const rows: Array<[string, HistoryRow]> = [];
      for (const t of txs) {
        for (const [account, counterparty] of participants(t)) {
          insert.run(t.seq, account, counterparty, block.timeMs);
          rows.push([account, { seq: t.seq, counterparty, time: block.timeMs }]);
        }
      }
      const before = pending.length > 0 ? pendingRows : recentRows;
      const merged = before + rows.length >= mergeRows;
      if (merged) {
        merge.run();
        clear.run();
      }
      pending.push({ rows, merged });
      pendingRows = merged ? 0 : before + rows.length;
    },
    committed() {
      for (const p of pending) {
        if (p.merged) {
          recent.clear();
          recentRows = 0;
        } else {
          for (const [account, row] of p.rows) remember(account, row);
        }
      }
      pending = [];
    },
    rolledBack() {
      pending = [];
    },
  };
}

export interface HistoryFilter {
  account: string;
  counterparty?: string;
  /** unix ms, inclusive */
  since?: number;
  /** unix ms, exclusive */
  until?: number;
  /** only positions below this seq (the cursor) */
  before?: number;
  limit: number;
}

/** Prepared statements are made once per store and kept (see sqlite.ts on why). */
const readers = new Map<SqliteStore, ReturnType<typeof makeReaders>>();

function makeReaders(store: SqliteStore) {
  const base = 'SELECT seq, counterparty, time FROM ledger_history WHERE account = ? AND seq < ? AND time >= ? AND time < ?';
  return {
    all: store.db.prepare<[string, number, number, number, number], HistoryRow>(`${base} ORDER BY seq DESC LIMIT ?`),
    withCounterparty: store.db.prepare<[string, number, number, number, string, number], HistoryRow>(`${base} AND counterparty = ? ORDER BY seq DESC LIMIT ?`),
  };
}

/** An account's history rows, newest first: the recent ones from memory, then the merged table. */
export function historyRows(store: SqliteStore, f: HistoryFilter): HistoryRow[] {
  let r = readers.get(store);
  if (!r) {
    r = makeReaders(store);
    readers.set(store, r);
  }
  const before = f.before ?? Number.MAX_SAFE_INTEGER;
  const since = f.since ?? 0;
  const until = f.until ?? Number.MAX_SAFE_INTEGER;
  const out: HistoryRow[] = [];
  // Every recent row is newer than every merged one, so they come first.
  const list = recentByStore.get(store)?.get(f.account) ?? [];
  for (let i = list.length - 1; i >= 0 && out.length < f.limit; i--) {
    const row = list[i]!;
    if (row.seq < before && row.time >= since && row.time < until && (f.counterparty === undefined || row.counterparty === f.counterparty)) out.push(row);
  }
  if (out.length === f.limit) return out;
  const left = f.limit - out.length;
  const older = f.counterparty === undefined
    ? r.all.all(f.account, before, since, until, left)
    : r.withCounterparty.all(f.account, before, since, until, f.counterparty, left);
  return out.concat(older);
}
