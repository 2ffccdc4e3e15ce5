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
  {
    version: 2,
    description: 'state tree: 16-ary nodes, value rows and roots by version, stale rows per version',
    sql: `
      -- A node row is named (version, nibble path): the block height that wrote it and the
      -- hex nibbles of its position. Keyed by version first, so a block's rows append.
      CREATE TABLE smt_nodes (
        version INTEGER NOT NULL,
        npath   TEXT NOT NULL,
        data    BLOB NOT NULL,   -- bitmaps + children (src/chain/state-tree/node.ts)
        PRIMARY KEY (version, npath)
      ) WITHOUT ROWID;
      -- The value a key had from the version that set it: proofs at older heights return it.
      CREATE TABLE smt_values (
        version INTEGER NOT NULL,
        path    BLOB NOT NULL,   -- BLAKE3(key), 32 bytes (the key itself is the prover's question)
        v       TEXT NOT NULL,   -- canonical JSON text
        PRIMARY KEY (version, path)
      ) WITHOUT ROWID;
      -- Each kept version's root reference (empty, a leaf or a node).
      CREATE TABLE smt_roots (version INTEGER PRIMARY KEY, root BLOB NOT NULL);
      -- The rows each version replaced: deleted once no kept version reaches them.
      CREATE TABLE smt_stale (version INTEGER PRIMARY KEY, rows BLOB NOT NULL);
    `,
  },
  {
    version: 3,
    description: 'state tree rows, format 2: a leaf child holds its leaf hash (rows written before are marked for conversion)',
    // The rows themselves are rewritten by the node when it opens (convertTreeRows in
    // src/chain/state-tree/stored.ts: it needs BLAKE3); the mark says there are some.
    sql: `
      INSERT INTO meta (k, v) SELECT 'tree/rows-format-1', '1' WHERE EXISTS (SELECT 1 FROM smt_roots);
    `,
  },
  {
    version: 4,
    description: 'commit certificates of a validator chain\'s blocks',
    // One row per certified block: canonical JSON of {height, round, blockHash, signers,
    // signature}. A block's own row is the certificate this node decided with, replaced by
    // the one the next block names (its lastCommit) when that block commits.
    sql: `
      CREATE TABLE commits (height INTEGER PRIMARY KEY, commit_json TEXT NOT NULL);
    `,
  },
  {
    version: 5,
    description: 'state rows without the value the state tree already holds: v is NULL when smt_values has it at (h, BLAKE3(k))',
    // A block's state writes land on random pages of this table (keys are account ids): a
    // row without its JSON value makes the table several times smaller, so a block dirties
    // and re-encrypts fewer pages (README, "Storage"). Rows whose value the tree holds at
    // exactly (h, path) lose it; the others (a tree built later from a full state, a
    // rewrite of an unchanged value) keep it. tally_state_path(k) is BLAKE3(k), a function
    // the store registers on its connection (src/store/sqlite.ts).
    sql: `
      CREATE TABLE state_v5 (
        k TEXT PRIMARY KEY,
        v TEXT,                  -- JSON value; NULL: the value row (h, BLAKE3(k)) in smt_values holds it
        h INTEGER NOT NULL       -- height of the block that last wrote it
      ) WITHOUT ROWID;
      INSERT INTO state_v5 (k, v, h)
        SELECT s.k,
               CASE WHEN EXISTS (SELECT 1 FROM smt_values t WHERE t.version = s.h AND t.path = tally_state_path(s.k) AND t.v = s.v) THEN NULL ELSE s.v END,
               s.h
        FROM state s ORDER BY s.k;
      DROP TABLE state;
      ALTER TABLE state_v5 RENAME TO state;
    `,
  },
];
