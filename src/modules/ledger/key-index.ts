// Which accounts a key was moved to by `auth.rotate`: an off-chain index (pub -> account),
// so `whoami PUBKEY` finds the account a rotated-in key signs for with one indexed lookup
// instead of a scan of every rotation. A key's own account needs no index (its id is
// derived from the key). Rows are never deleted: a key moved away again stays listed, and
// the query keeps only the accounts whose current key (auth record) it still is.
import type { BlockIndexer } from '../../chain/app-module.js';
import type { Migration } from '../../store/migrations.js';
import type { SqliteStore } from '../../store/sqlite.js';

/** Accounts looked at per key: the chain does not stop two accounts rotating to one key, but such keys are rare. */
export const KEY_ACCOUNTS_MAX = 8;

export const keyIndexMigration: Migration = {
  version: 2,
  description: 'ledger_keys: the accounts each key took over by auth.rotate (filled from past rotations)',
  sql: `
    CREATE TABLE ledger_keys (
      pub     TEXT NOT NULL,      -- base64url public key moved to
      account TEXT NOT NULL,      -- the account that moved to it
      seq     INTEGER NOT NULL,   -- txs.seq of the rotation
      PRIMARY KEY (pub, account)
    ) WITHOUT ROWID;
    INSERT OR REPLACE INTO ledger_keys (pub, account, seq)
      SELECT json_extract(env, '$.tx.body.pub'), sender, seq FROM txs WHERE type = 'auth.rotate' AND status = 'ok' ORDER BY seq;
  `,
};

const retained: unknown[] = [];

export function keyIndexer(store: SqliteStore): BlockIndexer {
  const insert = store.db.prepare<[string, string, number]>('INSERT OR REPLACE INTO ledger_keys (pub, account, seq) VALUES (?, ?, ?)');
  retained.push(insert); // never let a statement become garbage (see src/store/sqlite.ts)
  return {
    index(_block, txs) {
      for (const t of txs) {
        if (t.tx.type !== 'auth.rotate' || t.receipt.status !== 'ok') continue;
        const pub = (t.tx.body as { pub?: unknown }).pub;
        if (typeof pub === 'string') insert.run(pub, t.tx.from, t.seq);
      }
    },
  };
}

const lookups = new Map<SqliteStore, ReturnType<typeof lookupStatement>>();
const lookupStatement = (store: SqliteStore) =>
  store.db.prepare<[string, number], { account: string }>('SELECT account FROM ledger_keys WHERE pub = ? ORDER BY seq DESC LIMIT ?');

/** The accounts `pub` was rotated into, newest first, at most KEY_ACCOUNTS_MAX. */
export function accountsRotatedTo(store: SqliteStore, pub: string): string[] {
  let stmt = lookups.get(store);
  if (!stmt) lookups.set(store, (stmt = lookupStatement(store)));
  return stmt.all(pub, KEY_ACCOUNTS_MAX).map((r) => r.account);
}

/** Both indexers of the ledger in one: each runs in the block's storage transaction. */
export function bothIndexers(a: BlockIndexer, b: BlockIndexer): BlockIndexer {
  return {
    index(block, txs) {
      a.index(block, txs);
      b.index(block, txs);
    },
    committed() {
      a.committed?.();
      b.committed?.();
    },
    rolledBack() {
      a.rolledBack?.();
      b.rolledBack?.();
    },
  };
}
