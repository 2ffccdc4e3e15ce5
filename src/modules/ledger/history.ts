// Each account's history: an off-chain index (table ledger_history) over committed
// transactions, written in each block's own storage transaction (see BlockIndexer). A
// row says "this transaction concerns this account", with the counterparty of a transfer
// and the block time, so a history page is one range scan of the primary key.
import type { BlockIndexer, IndexedTx } from '../../chain/module.js';
import type { Migration } from '../../store/migrations.js';
import type { SqliteStore } from '../../store/sqlite.js';
import { MINT_ID } from './state.js';

export const ledgerMigrations: Migration[] = [
  {
    version: 1,
    description: 'ledger_history: which committed transactions concern each account',
    sql: `
      CREATE TABLE ledger_history (
        account      TEXT NOT NULL,
        seq          INTEGER NOT NULL,   -- txs.seq: height * 4096 + index
        counterparty TEXT,               -- the other side of a transfer, if any
        time         INTEGER NOT NULL,   -- block time, unix ms
        PRIMARY KEY (account, seq)
      ) WITHOUT ROWID;
      CREATE INDEX ledger_history_counterparty ON ledger_history (account, counterparty, seq);
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

export function ledgerIndexer(store: SqliteStore): BlockIndexer {
  const insert = store.db.prepare<[string, number, string | null, number]>(
    'INSERT OR IGNORE INTO ledger_history (account, seq, counterparty, time) VALUES (?, ?, ?, ?)',
  );
  return {
    index(block, txs) {
      for (const t of txs) {
        for (const [account, counterparty] of participants(t)) insert.run(account, t.seq, counterparty, block.timeMs);
      }
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

/** Newest first. Prepared statements are made once per store and kept (see sqlite.ts on why). */
const readers = new Map<SqliteStore, ReturnType<typeof makeReaders>>();

function makeReaders(store: SqliteStore) {
  const base = 'SELECT seq, counterparty, time FROM ledger_history WHERE account = ? AND seq < ? AND time >= ? AND time < ?';
  return {
    all: store.db.prepare<[string, number, number, number, number], { seq: number; counterparty: string | null; time: number }>(
      `${base} ORDER BY seq DESC LIMIT ?`),
    withCounterparty: store.db.prepare<[string, number, number, number, string, number], { seq: number; counterparty: string | null; time: number }>(
      `${base} AND counterparty = ? ORDER BY seq DESC LIMIT ?`),
  };
}

export function historyRows(store: SqliteStore, f: HistoryFilter): Array<{ seq: number; counterparty: string | null; time: number }> {
  let r = readers.get(store);
  if (!r) {
    r = makeReaders(store);
    readers.set(store, r);
  }
  const before = f.before ?? Number.MAX_SAFE_INTEGER;
  const since = f.since ?? 0;
  const until = f.until ?? Number.MAX_SAFE_INTEGER;
  return f.counterparty === undefined
    ? r.all.all(f.account, before, since, until, f.limit)
    : r.withCounterparty.all(f.account, before, since, until, f.counterparty, f.limit);
}
