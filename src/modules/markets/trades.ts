// The trades index: an off-chain table of the market's fills (one row per markets.fill
// event), written in each block's storage transaction: those of the receipts, and those
// endBlock made (liquidation against the book, auto-deleveraging), from the block's hook
// events. kind: "trade", "liquidation" or "adl". An index that catches up from stored
// blocks (a node that adds it to an old chain) sees no hook events: those rows are missing.
import type { BlockIndexer, IndexedBlock, IndexedTx } from '../../chain/app-module.js';
import type { TxEvent } from '../../chain/envelope.js';
import type { Migration } from '../../store/migrations.js';
import type { SqliteStore } from '../../store/sqlite.js';

export const tradesMigrations: Migration[] = [
  {
    version: 1,
    description: 'markets_trades: fills by market in chain order',
    sql: `
      CREATE TABLE markets_trades (
        market  TEXT NOT NULL,
        seq     INTEGER NOT NULL,   -- the market's fill sequence (the event's seq)
        height  INTEGER NOT NULL,
        time    INTEGER NOT NULL,   -- block time, unix ms
        price   INTEGER NOT NULL,
        size    INTEGER NOT NULL,
        side    TEXT NOT NULL,      -- the taker's side
        maker   TEXT NOT NULL,
        taker   TEXT NOT NULL,
        PRIMARY KEY (market, seq)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    description: 'markets_trades.kind: trade, liquidation or adl (fills made in endBlock are indexed too)',
    sql: `ALTER TABLE markets_trades ADD COLUMN kind TEXT NOT NULL DEFAULT 'trade';`,
  },
];

export interface TradeRow { market: string; seq: number; height: number; time: number; price: number; size: number; side: string; maker: string; taker: string; kind: string }

export function tradesIndexer(store: SqliteStore): BlockIndexer {
  const insert = store.db.prepare<[string, number, number, number, number, number, string, string, string, string]>(
    'INSERT OR REPLACE INTO markets_trades (market, seq, height, time, price, size, side, maker, taker, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const row = (block: IndexedBlock, e: TxEvent) => {
    if (e.type !== 'markets.fill') return;
    insert.run(e.market as string, e.seq as number, block.height, block.timeMs, e.price as number, e.size as number, e.side as string, e.maker as string, e.taker as string, fillKind(e));
  };
  return {
    index(block, txs: IndexedTx[]) {
      for (const t of txs) for (const e of t.receipt.events) row(block, e);
      for (const e of block.hookEvents ?? []) row(block, e);
    },
  };
}

/** What made a fill: a transaction's order, or endBlock's liquidation or auto-deleveraging. */
export const fillKind = (e: TxEvent): 'trade' | 'liquidation' | 'adl' => (e.adl === true ? 'adl' : e.liquidation === true ? 'liquidation' : 'trade');

const statements = new WeakMap<SqliteStore, { recent: { all(market: string, before: number, limit: number): TradeRow[] } }>();

/** A market's trades, newest first, with seq below `before`. */
export function tradeRows(store: SqliteStore, market: string, before: number, limit: number): TradeRow[] {
  let s = statements.get(store);
  if (!s) {
    s = { recent: store.db.prepare<[string, number, number], TradeRow>('SELECT * FROM markets_trades WHERE market = ? AND seq < ? ORDER BY seq DESC LIMIT ?') };
    statements.set(store, s);
  }
  return s.recent.all(market, before, limit);
}
