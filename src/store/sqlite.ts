// The embedded store: SQLite encrypted with SQLCipher (AES-256) through
// better-sqlite3-multiple-ciphers, in WAL mode, every statement prepared.
import Database from 'better-sqlite3-multiple-ciphers';
import fs from 'node:fs';
import { assert, fail, TallyError } from '../core/errors.js';
import { hashText } from '../core/hash.js';
import { limits } from '../core/limits.js';
import { coreMigrations, type Migration } from './migrations.js';
import { readDatabaseKey } from './keyfile.js';
import { checkFileShape, checkIntegrity, openFailure } from './integrity.js';

export type Synchronous = 'FULL' | 'NORMAL' | 'EXTRA';

/** Transaction slots per block in the txs primary key (height * slots + index). */
export const BLOCK_TX_SLOTS = 4096;
assert(limits.blockTxCountMax <= BLOCK_TX_SLOTS, 'blockTxCountMax must fit the txs key layout');

export function txSeq(height: number, index: number): number {
  return height * BLOCK_TX_SLOTS + index;
}

export interface OpenOptions {
  dbPath: string;
  keyPath: string;
  synchronous?: Synchronous;
  readonly?: boolean;
  /** Create the file if it does not exist (init); otherwise a missing database is an error. */
  create?: boolean;
  /** Run PRAGMA quick_check before use (a node start: O(database size)); damage is `db_corrupt`. */
  integrityCheck?: boolean;
}

/**
 * SQLite's page cache per connection, MiB (SQLite's default is 2). A page read from
 * outside the cache is decrypted again (SQLCipher: AES-256 and an HMAC per 4 KiB page),
 * so once a chain's state, tree and indexes outgrow the cache every block pays that for
 * its B-tree walks. It fills only as pages are read: a small database stays small.
 */
const PAGE_CACHE_MIB = 64;

export interface BlockRow {
  height: number;
  hash: string;
  header: string;
  sig: string;
}

export interface TxRow {
  id: Buffer;
  height: number;
  idx: number;
  sender: string;
  type: string;
  env: string;
  status: string;
  code: string | null;
  events: string;
}

export interface BlockCommit {
  block: BlockRow;
  txs: TxRow[];
  /**
   * Key-value writes of the block: JSON text, or null to delete. A value that `tree` writes
   * at this block's height is stored once, in the tree's value row (the state row keeps
   * only the key and the height).
   */
  writes: Map<string, string | null>;
  /** Module index writes, run inside the same storage transaction. */
  also?: () => void;
  /** The state tree's rows for this block's version (same transaction: tree and state never disagree). */
  tree?: TreeRows;
  /** A validator chain: commit certificates to store (this block's, and the previous block's canonical one), canonical JSON */
  commits?: Array<{ height: number; json: string }>;
}

/** A state tree version's rows, encoded by the chain layer (src/chain/state-tree/stored.ts). */
export interface TreeRows {
  version: number;
  root: Buffer;
  nodes: Array<[npath: string, data: Uint8Array]>;
  /** the value rows: path = BLAKE3(key); the key names the state row that need not repeat the value */
  values: Array<[path: Uint8Array, value: string, key: string]>;
  /** what this version made stale (one blob, read back by pruneTree) */
  stale: Buffer;
  /** delete what versions up to this one made stale, and roots below it (at most a few versions per call) */
  pruneUpTo?: number;
}

// Node 24.19+: a better-sqlite3 object (a node::ObjectWrap: database, statement, iterator)
// collected by a GC that runs with no context entered aborts the process (nodejs/node#65446,
// open). So this module never lets one become garbage: pragmas go through exec() (no
// statement object), and what it does create stays reachable. A handful per process.
const keepAlive: unknown[] = [];

function retained<T>(iterator: T): T {
  keepAlive.push(iterator);
  return iterator;
}

/**
 * Every statement prepared on `db` stays reachable too, wherever it is prepared (a module,
 * a test's one-off query): the Node 24 abort above does not care who dropped it. Product
 * code prepares its statements once per store, so this holds a bounded number.
 */
function retainStatements(db: Database.Database): Database.Database {
  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => retained(prepare(source))) as typeof db.prepare;
  return db;
}

const TREE_ROWS_PER_INSERT = 64;

/**
 * A state row's value: its own `v`, or, when that is NULL (core migration 5), the state
 * tree's value row at (h, BLAKE3(k)). The subquery runs only for NULL rows.
 */
const STATE_VALUE = 'CASE WHEN s.v IS NOT NULL THEN s.v ELSE (SELECT t.v FROM smt_values t WHERE t.version = s.h AND t.path = tally_state_path(s.k)) END';

/** BLAKE3(k), the state tree's path of a key, as an SQL function (reads and migration 5 join state rows to tree rows with it). */
function registerFunctions(db: Database.Database): void {
  db.function('tally_state_path', { deterministic: true }, (k: unknown) => {
    assert(typeof k === 'string', 'tally_state_path takes a state key');
    const p = hashText(k);
    return Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  });
}

function missingValue(k: string): never {
  fail('db_corrupt', `the state row "${k}" has its value in the state tree, and the tree has no such value row`, { status: 500 });
}

export class SqliteStore {
  readonly db: Database.Database;
  private readonly stmts;

  private constructor(db: Database.Database) {
    this.db = db;
    // A database older than the tree's migration (a read-only opener of an old file) has
    // no tree tables, and no state row without its value.
    const value = hasTree(db) ? STATE_VALUE : 's.v';
    this.stmts = {
      getMeta: db.prepare<[string], { v: string }>('SELECT v FROM meta WHERE k = ?'),
      setMeta: db.prepare<[string, string]>('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v'),
      deleteMeta: db.prepare<[string]>('DELETE FROM meta WHERE k = ?'),
      getState: db.prepare<[string], { v: string | null }>(`SELECT ${value} AS v FROM state s WHERE s.k = ?`),
      putState: db.prepare<[string, string | null, number]>('INSERT INTO state (k, v, h) VALUES (?, ?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v, h = excluded.h'),
      delState: db.prepare<[string]>('DELETE FROM state WHERE k = ?'),
      insertBlock: db.prepare<[number, string, string, string]>('INSERT INTO blocks (height, hash, header, sig) VALUES (?, ?, ?, ?)'),
      insertTx: db.prepare<[number, Buffer, bigint, number, number, string, string, string, string, string | null, string]>(
        'INSERT INTO txs (seq, id, id_head, height, idx, sender, type, env, status, code, events) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      tip: db.prepare<[], BlockRow>('SELECT height, hash, header, sig FROM blocks ORDER BY height DESC LIMIT 1'),
      block: db.prepare<[number], BlockRow>('SELECT height, hash, header, sig FROM blocks WHERE height = ?'),
      putCommit: db.prepare<[number, string]>('INSERT OR REPLACE INTO commits (height, commit_json) VALUES (?, ?)'),
      commit: db.prepare<[number], { commit_json: string }>('SELECT commit_json FROM commits WHERE height = ?'),
      blockTxs: db.prepare<[number, number], TxRow>('SELECT id, height, idx, sender, type, env, status, code, events FROM txs WHERE seq BETWEEN ? AND ? ORDER BY seq'),
      txAt: db.prepare<[number], TxRow>('SELECT id, height, idx, sender, type, env, status, code, events FROM txs WHERE seq = ?'),
      tx: db.prepare<[bigint, Buffer], TxRow>('SELECT id, height, idx, sender, type, env, status, code, events FROM txs WHERE id_head = ? AND id = ?'),
      stateRange: db.prepare<[string, string, string, number], { k: string; v: string | null }>(
        `SELECT s.k AS k, ${value} AS v FROM state s WHERE s.k >= ? AND s.k < ? AND s.k > ? ORDER BY s.k LIMIT ?`),
      allState: db.prepare<[], { k: string; v: string | null; h: number }>(`SELECT s.k AS k, ${value} AS v, s.h AS h FROM state s ORDER BY s.k`),
      ...SqliteStore.treeStatements(db),
    };
  }

  static open(options: OpenOptions): SqliteStore {
    const exists = fs.existsSync(options.dbPath);
    if (!exists && !options.create) {
      fail('db_missing', `no database at ${options.dbPath}`, { status: 500, hint: 'run `tally init --data DIR` first, or `tally node --dev`' });
    }
    const key = readDatabaseKey(options.keyPath);
    if (exists) checkFileShape(options.dbPath);
    const db = retainStatements(new Database(options.dbPath, { readonly: options.readonly ?? false, fileMustExist: !options.create }));
    try {
      registerFunctions(db);
      db.exec(`PRAGMA cipher='sqlcipher'`);
      db.exec(`PRAGMA legacy=4`);
      // Raw 256-bit key (no passphrase KDF): the key file already holds full entropy.
      db.exec(`PRAGMA key="x'${key}'"`);
      try {
        db.exec('SELECT count(*) FROM sqlite_master');
      } catch (err) {
        throw openFailure(options.dbPath, key, err);
      }
      if (!options.readonly) {
        db.exec(`PRAGMA journal_mode = WAL`);
        db.exec(`PRAGMA synchronous = ${options.synchronous ?? 'FULL'}`);
        // Checkpoint every ~100 MiB of WAL instead of SQLite's 4 MiB: hot pages (state rows,
        // index interiors) are then re-encrypted and written back far less often. A state
        // of random keys (every new account) dirties pages all over its table in each block:
        // at 100k accounts, 25,000 pages instead of 10,000 cut a 3,000-registration block's
        // commit by about a quarter (`node dist/bench/storage-accounts.js`, `--checkpoint`).
        // The WAL file is kept (up to 128 MiB) rather than truncated after each checkpoint.
        db.exec(`PRAGMA wal_autocheckpoint = 25000`);
        db.exec(`PRAGMA journal_size_limit = 134217728`);
        // A node does not run on a damaged file: it would sign failures of its own storage
        // into blocks. Short-lived openers (verify, the notary CLI) meet damage as they read.
        if (exists && options.integrityCheck) checkIntegrity(db, options.dbPath);
      }
      db.exec(`PRAGMA foreign_keys = ON`);
      db.exec(`PRAGMA busy_timeout = 5000`);
      db.exec(`PRAGMA cache_size = -${PAGE_CACHE_MIB * 1024}`);
      const store = new SqliteStore(SqliteStore.migrated(db, options.readonly ?? false));
      return store;
    } catch (err) {
      db.close();
      keepAlive.push(db);
      throw err;
    }
  }

  private static migrated(db: Database.Database, readonly: boolean): Database.Database {
    if (!readonly) {
      db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (scope TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (scope, version)) WITHOUT ROWID');
      runMigrations(db, 'core', coreMigrations);
    }
    return db;
  }

  migrate(scope: string, migrations: Migration[]): void {
    runMigrations(this.db, scope, migrations);
  }

  getMeta(k: string): string | undefined {
    return this.stmts.getMeta.get(k)?.v;
  }

  setMeta(k: string, v: string): void {
    this.stmts.setMeta.run(k, v);
  }

  deleteMeta(k: string): void {
    this.stmts.deleteMeta.run(k);
  }

  getState(k: string): string | undefined {
    const row = this.stmts.getState.get(k);
    if (!row) return undefined;
    return row.v ?? missingValue(k);
  }

  tip(): BlockRow | undefined {
    return this.stmts.tip.get();
  }

  /** A validator chain block's commit certificate (canonical JSON), if stored. */
  commitOf(height: number): string | undefined {
    return this.stmts.commit.get(height)?.commit_json;
  }

  block(height: number): BlockRow | undefined {
    return this.stmts.block.get(height);
  }

  blockTxs(height: number): TxRow[] {
    return this.stmts.blockTxs.all(txSeq(height, 0), txSeq(height, BLOCK_TX_SLOTS - 1));
  }

  tx(id: Buffer): TxRow | undefined {
    return this.stmts.tx.get(id.readBigInt64BE(0), id);
  }

  /** The transaction at a chain position (height * BLOCK_TX_SLOTS + index). */
  txAt(seq: number): TxRow | undefined {
    return this.stmts.txAt.get(seq);
  }

  /** State entries under `prefix` in key order, after `after`, at most `limit` (ordered iteration for modules). */
  stateRange(prefix: string, after: string | undefined, limit: number): Array<[string, string]> {
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    return this.stmts.stateRange.all(prefix, end, after ?? '', limit).map((r) => [r.k, r.v ?? missingValue(r.k)]);
  }

  *allState(): IterableIterator<{ k: string; v: string; h: number }> {
    for (const r of retained(this.stmts.allState.iterate())) yield { k: r.k, v: r.v ?? missingValue(r.k), h: r.h };
  }

  private static treeStatements(db: Database.Database) {
    // A database older than the tree's migration (a read-only opener of an old file) has no tables to prepare against.
    if (!hasTree(db)) return { treeReady: false as const };
    return {
      treeReady: true as const,
      treeNode: db.prepare<[number, string], { data: Buffer }>('SELECT data FROM smt_nodes WHERE version = ? AND npath = ?'),
      treeValue: db.prepare<[number, Buffer], { v: string }>('SELECT v FROM smt_values WHERE version = ? AND path = ?'),
      treeRoot: db.prepare<[number], { root: Buffer }>('SELECT root FROM smt_roots WHERE version = ?'),
      treeRange: db.prepare<[], { oldest: number | null; tip: number | null }>('SELECT min(version) AS oldest, max(version) AS tip FROM smt_roots'),
      putTreeNode: db.prepare<[number, string, Uint8Array]>('INSERT INTO smt_nodes (version, npath, data) VALUES (?, ?, ?)'),
      putTreeValue: db.prepare<[number, Uint8Array, string]>('INSERT INTO smt_values (version, path, v) VALUES (?, ?, ?)'),
      // A block writes thousands of tree rows: TREE_ROWS_PER_INSERT per statement, not one.
      putTreeNodes: db.prepare<unknown[]>(`INSERT INTO smt_nodes (version, npath, data) VALUES ${Array(TREE_ROWS_PER_INSERT).fill('(?, ?, ?)').join(', ')}`),
      putTreeValues: db.prepare<unknown[]>(`INSERT INTO smt_values (version, path, v) VALUES ${Array(TREE_ROWS_PER_INSERT).fill('(?, ?, ?)').join(', ')}`),
      putTreeRoot: db.prepare<[number, Buffer]>('INSERT INTO smt_roots (version, root) VALUES (?, ?)'),
      putTreeStale: db.prepare<[number, Buffer]>('INSERT INTO smt_stale (version, rows) VALUES (?, ?)'),
      staleUpTo: db.prepare<[number], { version: number; rows: Buffer }>('SELECT version, rows FROM smt_stale WHERE version <= ? ORDER BY version LIMIT 4'),
      delStale: db.prepare<[number]>('DELETE FROM smt_stale WHERE version = ?'),
      delTreeNode: db.prepare<[number, string]>('DELETE FROM smt_nodes WHERE version = ? AND npath = ?'),
      delTreeValue: db.prepare<[number, Buffer]>('DELETE FROM smt_values WHERE version = ? AND path = ?'),
      delRootsBelow: db.prepare<[number]>('DELETE FROM smt_roots WHERE version < ?'),
      // A row-value comparison, so each page is a seek in the primary key, not a scan.
      treeNodesAfter: db.prepare<[number, string, number], { version: number; npath: string; data: Buffer }>(
        'SELECT version, npath, data FROM smt_nodes WHERE (version, npath) > (?, ?) ORDER BY version, npath LIMIT ?'),
      setTreeNode: db.prepare<[Uint8Array, number, string]>('UPDATE smt_nodes SET data = ? WHERE version = ? AND npath = ?'),
      allTreeRoots: db.prepare<[], { version: number; root: Buffer }>('SELECT version, root FROM smt_roots ORDER BY version'),
      setTreeRoot: db.prepare<[Uint8Array, number]>('UPDATE smt_roots SET root = ? WHERE version = ?'),
    };
  }

  private tree() {
    const s = this.stmts;
    assert(s.treeReady, 'the state tree tables exist (core migration 2)');
    return s;
  }

  treeNode(version: number, npath: string): Buffer | undefined {
    return this.tree().treeNode.get(version, npath)?.data;
  }

  treeValue(version: number, path: Buffer): { v: string } | undefined {
    return this.tree().treeValue.get(version, path);
  }

  treeRoot(version: number): Buffer | undefined {
    return this.tree().treeRoot.get(version)?.root;
  }

  /** Node rows in (version, npath) order after the given one, at most `limit` (a rewrite of every row). */
  treeNodesAfter(version: number, npath: string, limit: number): Array<{ version: number; npath: string; data: Buffer }> {
    return this.tree().treeNodesAfter.all(version, npath, limit);
  }

  setTreeNode(version: number, npath: string, data: Uint8Array): void {
    this.tree().setTreeNode.run(data, version, npath);
  }

  allTreeRoots(): Array<{ version: number; root: Buffer }> {
    return this.tree().allTreeRoots.all();
  }

  setTreeRoot(version: number, root: Uint8Array): void {
    this.tree().setTreeRoot.run(root, version);
  }

  /** The kept versions, oldest and newest; undefined when the tree has none (before the upgrade built it). */
  treeRange(): { oldest: number; tip: number } | undefined {
    if (!this.stmts.treeReady) return undefined;
    const r = this.stmts.treeRange.get()!;
    return r.tip === null ? undefined : { oldest: r.oldest!, tip: r.tip };
  }

  /** Write a tree version's rows (inside the caller's transaction), then prune. */
  writeTree(rows: TreeRows): void {
    const s = this.tree();
    const n = TREE_ROWS_PER_INSERT;
    const nodeArgs: unknown[] = [];
    let i = 0;
    for (; i + n <= rows.nodes.length; i += n) {
      nodeArgs.length = 0;
      for (let j = i; j < i + n; j++) nodeArgs.push(rows.version, rows.nodes[j]![0], rows.nodes[j]![1]);
      s.putTreeNodes.run(...nodeArgs);
    }
    for (; i < rows.nodes.length; i++) s.putTreeNode.run(rows.version, rows.nodes[i]![0], rows.nodes[i]![1]);
    i = 0;
    for (; i + n <= rows.values.length; i += n) {
      nodeArgs.length = 0;
      for (let j = i; j < i + n; j++) nodeArgs.push(rows.version, rows.values[j]![0], rows.values[j]![1]);
      s.putTreeValues.run(...nodeArgs);
    }
    for (; i < rows.values.length; i++) s.putTreeValue.run(rows.version, rows.values[i]![0], rows.values[i]![1]);
    s.putTreeRoot.run(rows.version, rows.root);
    if (rows.stale.length > 0) s.putTreeStale.run(rows.version, rows.stale);
    if (rows.pruneUpTo !== undefined) {
      for (const st of s.staleUpTo.all(rows.pruneUpTo)) {
        forEachStale(st.rows, (kind, version, name) => {
          if (kind === 0) s.delTreeNode.run(version, name as string);
          else s.delTreeValue.run(version, name as Buffer);
        });
        s.delStale.run(st.version);
      }
      s.delRootsBelow.run(rows.pruneUpTo);
    }
  }

  /** Block, transactions, receipts and state in one storage transaction: all or nothing. */
  commitBlock(commit: BlockCommit): void {
    this.db.transaction(() => this.writeBlock(commit))();
  }

  /**
   * A block's rows written in the caller's open transaction (a replica's run of blocks).
   * Not a nested transaction: a savepoint would copy every page it changes to a statement
   * journal, and a run that fails rolls back as a whole anyway.
   */
  writeBlock(commit: BlockCommit): void {
    assert(this.db.inTransaction, 'writeBlock runs inside a transaction');
    const s = this.stmts;
    const b = commit.block;
    s.insertBlock.run(b.height, b.hash, b.header, b.sig);
    for (const t of commit.txs) {
      s.insertTx.run(txSeq(t.height, t.idx), t.id, t.id.readBigInt64BE(0), t.height, t.idx, t.sender, t.type, t.env, t.status, t.code, t.events);
    }
    const inTree = valuesInTree(commit);
    for (const [k, v] of commit.writes) {
      if (v === null) s.delState.run(k);
      else s.putState.run(k, inTree?.get(k) === v ? null : v, b.height);
    }
    if (commit.tree) this.writeTree(commit.tree);
    for (const c of commit.commits ?? []) s.putCommit.run(c.height, c.json);
    commit.also?.();
  }

  /** Run `fn` in one transaction (used for module tables outside the chain, and genesis). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    if (this.db.open) this.db.close();
    keepAlive.push(this.db, this.stmts);
  }
}

function hasTree(db: Database.Database): boolean {
  return db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE name = 'smt_nodes'").get()!.n > 0;
}

/** The values a block's tree rows hold at the block's own height, by key (the state rows then leave them out). */
function valuesInTree(commit: BlockCommit): Map<string, string> | undefined {
  const tree = commit.tree;
  if (!tree || tree.version !== commit.block.height || tree.values.length === 0) return undefined;
  const byKey = new Map<string, string>();
  for (const [, value, key] of tree.values) byKey.set(key, value);
  return byKey;
}

/**
 * The stale-row list of a version: per row a kind byte (0 node, 1 value), its version (u32),
 * then a node's nibble path (u8 length + ASCII hex) or a value's 32-byte path.
 */
export function encodeStale(nodes: Array<{ version: number; npath: string }>, values: Array<{ version: number; path: Uint8Array }>): Buffer {
  let size = 0;
  for (const n of nodes) size += 6 + n.npath.length;
  size += values.length * 37;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const n of nodes) {
    out[at] = 0;
    out.writeUInt32BE(n.version, at + 1);
    out[at + 5] = n.npath.length;
    out.write(n.npath, at + 6, 'latin1');
    at += 6 + n.npath.length;
  }
  for (const v of values) {
    out[at] = 1;
    out.writeUInt32BE(v.version, at + 1);
    out.set(v.path, at + 5);
    at += 37;
  }
  return out;
}

function forEachStale(rows: Buffer, fn: (kind: 0 | 1, version: number, name: string | Buffer) => void): void {
  let at = 0;
  while (at < rows.length) {
    const kind = rows[at]!;
    const version = rows.readUInt32BE(at + 1);
    if (kind === 0) {
      const len = rows[at + 5]!;
      fn(0, version, rows.toString('latin1', at + 6, at + 6 + len));
      at += 6 + len;
    } else {
      fn(1, version, rows.subarray(at + 5, at + 37));
      at += 37;
    }
  }
}

function runMigrations(db: Database.Database, scope: string, migrations: Migration[]): void {
  const appliedStmt = db.prepare<[string], { version: number }>('SELECT version FROM schema_migrations WHERE scope = ?');
  const applied = new Set(appliedStmt.all(scope).map((r) => r.version));
  const record = db.prepare<[string, number, string, string]>('INSERT INTO schema_migrations (scope, version, description, applied_at) VALUES (?, ?, ?, ?)');
  keepAlive.push(appliedStmt, record);
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1) throw new TallyError('migration_order', `${scope} migrations must be numbered 1, 2, 3, ...`, { status: 500 });
  });
  // A database a newer Tally migrated: this code does not know its tables, and running on
  // would misread them or write rows the newer code does not expect.
  const newest = Math.max(0, ...applied);
  if (newest > sorted.length) {
    throw new TallyError('db_newer', `the database's ${scope} schema is at version ${newest}; this Tally knows up to ${sorted.length}: a newer Tally migrated it`, {
      status: 500,
      hint: 'run the newer Tally again, or restore the backup taken before the upgrade (README, "Upgrade, and rolling back")',
      details: { scope, version: newest, known: sorted.length },
    });
  }
  for (const m of sorted) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(scope, m.version, m.description, new Date().toISOString());
    })();
  }
}
