// Numbered schema migrations. Each scope (the core, each module) has its own sequence;
// a migration runs once, inside a transaction, and is recorded in `schema_migrations`.
// A scope whose tables can live in PostgreSQL (src/store/postgres.ts) keeps one definition
// and one version sequence for both: `postgres` is that dialect's SQL where it differs.

export interface Migration {
  version: number;
  description: string;
  /** SQLite (and PostgreSQL too when `postgres` is absent). */
  sql: string;
  /** The same change in PostgreSQL's dialect, where it differs from `sql`. */
  postgres?: string;
}

export const coreMigrations: Migration[] = [
  {
    version: 1,
    description: 'chain tables: meta, blocks, transactions with receipts, key-value state',
    sql: `
      CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE blocks (
        height  INTEGER PRIMARY KEY,
        hash    TEXT NOT NULL UNIQUE,
        header  TEXT NOT NULL,   -- canonical JSON of the signed header
        sig     TEXT NOT NULL    -- node signature (base64url)
      );
      CREATE TABLE txs (
        -- height * 4096 + index: a block's transactions are one range of the primary key,
        -- so no (height, index) index is needed (blocks hold at most 4,000 transactions).
        seq     INTEGER PRIMARY KEY,
        id      BLOB NOT NULL,   -- 32-byte transaction id
        id_head INTEGER NOT NULL,-- its first 8 bytes: a 3x smaller index than the whole id
        height  INTEGER NOT NULL,
        idx     INTEGER NOT NULL,
        sender  TEXT NOT NULL,
        type    TEXT NOT NULL,
        env     TEXT NOT NULL,   -- canonical JSON of {pub, sig, tx}
        status  TEXT NOT NULL,   -- ok | failed
        code    TEXT,
        events  TEXT NOT NULL    -- JSON array
      );
      CREATE INDEX txs_id_head ON txs(id_head);
      CREATE TABLE state (
        k TEXT PRIMARY KEY,
        v TEXT NOT NULL,         -- JSON value
        h INTEGER NOT NULL       -- height of the block that last wrote it
      ) WITHOUT ROWID;
    `,
  },
];
