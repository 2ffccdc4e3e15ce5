// Numbered schema migrations. Each scope (the core, each module) has its own sequence;
// a migration runs once, inside a transaction, and is recorded in `schema_migrations`.

export interface Migration {
  version: number;
  description: string;
  sql: string;
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
        seq     INTEGER PRIMARY KEY, -- global order: (height, index) packed by insertion
        id      BLOB NOT NULL UNIQUE,
        height  INTEGER NOT NULL,
        idx     INTEGER NOT NULL,
        sender  TEXT NOT NULL,
        type    TEXT NOT NULL,
        env     TEXT NOT NULL,   -- canonical JSON of {tx, pub, sig}
        status  TEXT NOT NULL,   -- ok | failed
        code    TEXT,
        events  TEXT NOT NULL    -- canonical JSON array
      );
      CREATE INDEX txs_height ON txs(height, idx);
      CREATE TABLE state (
        k TEXT PRIMARY KEY,
        v TEXT NOT NULL,         -- JSON value
        h INTEGER NOT NULL       -- height of the block that last wrote it
      ) WITHOUT ROWID;
    `,
  },
];
