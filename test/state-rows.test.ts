// State rows and the state tree's value rows (core migration 5): a value the tree writes at
// a block's height is stored once, in the tree; the state row keeps the key and the height.
// Every read (one key, a prefix range, the whole state) still returns the value, across
// pruning; a value rewritten unchanged (the tree keeps the old row) stays in the state row;
// a database from before migration 5 reads the same after it; a missing tree row is db_corrupt.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TallyError } from '../src/core/errors.js';
import { buildStoredTree, StoredTree } from '../src/chain/state-tree/stored.js';
import { createDatabaseKey } from '../src/store/keyfile.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { openEncrypted } from './db.js';
import { ROOT } from './helpers.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-state-rows-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function openStore(name: string): SqliteStore {
  const keyPath = path.join(dir, `${name}.key`);
  createDatabaseKey(keyPath);
  return SqliteStore.open({ dbPath: path.join(dir, `${name}.db`), keyPath, create: true, synchronous: 'NORMAL' });
}

const inline = (store: SqliteStore, k: string): string | null | undefined =>
  (store.db.prepare('SELECT v FROM state WHERE k = ?').get(k) as { v: string | null } | undefined)?.v;

/** Commit block `height` with these writes through the tree, as the executor's callers do. */
function commit(store: SqliteStore, tree: StoredTree, height: number, writes: Map<string, string | null>): void {
  const batch = tree.update(height, writes);
  store.commitBlock({ block: { height, hash: `h${height}`, header: '{}', sig: 's' }, txs: [], writes, tree: tree.rows(batch) });
  tree.committed(batch);
}

describe('state rows beside the state tree', () => {
  it('a value the tree holds is stored once, and every read still returns it, across pruning', () => {
    const store = openStore('a');
    try {
      const genesis = new Map<string, string | null>([['a/1', '{"n":1}'], ['a/2', '{"n":2}'], ['b/1', '"x"']]);
      store.commitBlock({ block: { height: 0, hash: 'h0', header: '{}', sig: 's' }, txs: [], writes: genesis, tree: undefined });
      buildStoredTree(store, genesis as Map<string, string>, 0);
      // Written before the tree existed: inline.
      assert.equal(inline(store, 'a/1'), '{"n":1}');
      const tree = new StoredTree(store, 2);
      commit(store, tree, 1, new Map([['a/1', '{"n":10}'], ['a/3', '{"n":3}']]));
      assert.equal(inline(store, 'a/1'), null, 'the tree holds the new value');
      assert.equal(inline(store, 'a/3'), null);
      assert.equal(store.getState('a/1'), '{"n":10}');
      assert.equal(store.getState('a/3'), '{"n":3}');
      // The same value again: the tree keeps its leaf (and value row) at height 1, so the
      // state row, now at height 2, keeps the value itself.
      commit(store, tree, 2, new Map([['a/3', '{"n":3}'], ['a/2', null]]));
      assert.equal(inline(store, 'a/3'), '{"n":3}');
      assert.equal(store.getState('a/2'), undefined);
      // Heights 3..8 rewrite a/1 each time and prune what fell out of the kept window.
      for (let h = 3; h <= 8; h++) commit(store, tree, h, new Map([['a/1', `{"n":${h}}`]]));
      assert.equal(store.getState('a/1'), '{"n":8}');
      assert.equal(store.getState('a/3'), '{"n":3}');
      assert.deepEqual(store.stateRange('a/', undefined, 10), [['a/1', '{"n":8}'], ['a/3', '{"n":3}']]);
      assert.deepEqual(store.stateRange('a/', 'a/1', 10), [['a/3', '{"n":3}']]);
      assert.deepEqual([...store.allState()], [
        { k: 'a/1', v: '{"n":8}', h: 8 },
        { k: 'a/3', v: '{"n":3}', h: 2 },
        { k: 'b/1', v: '"x"', h: 0 },
      ]);
    } finally {
      store.close();
    }
  });

  it('a snapshot\'s block stored with the tree built from it: its state rows leave every value to the tree', () => {
    const store = openStore('snap');
    try {
      const entries: Array<[string, string]> = [['s/1', '1'], ['s/2', '{"a":2}'], ['t/1', '"t"']];
      buildStoredTree(store, entries, 7, { block: { height: 7, hash: 'h7', header: '{}', sig: 's' }, txs: [], writes: new Map(entries) });
      for (const [k, v] of entries) {
        assert.equal(inline(store, k), null, k);
        assert.equal(store.getState(k), v, k);
      }
      assert.equal(store.tip()?.height, 7);
      assert.deepEqual([...store.allState()].map((r) => [r.k, r.v, r.h]), entries.map(([k, v]) => [k, v, 7]));
    } finally {
      store.close();
    }
  });

  it('a state row whose tree value row is gone is db_corrupt, not a missing key', () => {
    const store = openStore('b');
    try {
      const genesis = new Map<string, string>([['k/0', '0']]);
      store.commitBlock({ block: { height: 0, hash: 'h0', header: '{}', sig: 's' }, txs: [], writes: new Map(genesis) });
      buildStoredTree(store, genesis, 0);
      const tree = new StoredTree(store, 10);
      commit(store, tree, 1, new Map([['k/1', '1']]));
      store.db.prepare('DELETE FROM smt_values WHERE version = 1').run();
      const corrupt = (err: unknown) => err instanceof TallyError && err.code === 'db_corrupt' && err.message.includes('"k/1"');
      assert.throws(() => store.getState('k/1'), corrupt);
      assert.throws(() => store.stateRange('k/', undefined, 10), corrupt);
      assert.throws(() => [...store.allState()], corrupt);
      assert.equal(store.getState('k/0'), '0');
    } finally {
      store.close();
    }
  });

  it('migration 5 moves the values the tree holds out of the state rows of an older database; every read is unchanged', () => {
    const data = path.join(dir, 'v2');
    fs.cpSync(path.join(ROOT, 'test', 'fixtures', 'v2-datadir'), data, { recursive: true });
    fs.chmodSync(path.join(data, 'db.key'), 0o600);
    const paths = { dbPath: path.join(data, 'tally.db'), keyPath: path.join(data, 'db.key') };
    // Read as it is, with SQLite alone (this code's store would migrate it).
    const old = openEncrypted(data);
    const before = old.prepare('SELECT k, v, h FROM state ORDER BY k').all() as Array<{ k: string; v: string; h: number }>;
    const versions = old.prepare("SELECT version FROM schema_migrations WHERE scope = 'core'").all() as Array<{ version: number }>;
    old.close();
    assert.ok(!versions.some((r) => r.version === 5), 'the fixture predates migration 5');
    assert.ok(before.length > 0);

    const store = SqliteStore.open(paths);
    try {
      assert.deepEqual([...store.allState()], before);
      for (const { k, v } of before) assert.equal(store.getState(k), v, k);
      const rows = store.db.prepare('SELECT count(*) AS n, count(v) AS inline FROM state').get() as { n: number; inline: number };
      assert.equal(rows.n, before.length);
      assert.ok(rows.inline < rows.n, `some values moved out (${rows.inline} of ${rows.n} still inline)`);
    } finally {
      store.close();
    }
  });
});
