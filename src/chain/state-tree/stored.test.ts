// The stored tree (SQLite rows, node cache, rows decoded after a restart) against the
// definition: random inserts, updates and deletes over many blocks; after every block its
// root equals smt.ts's reference root, and its proofs at every kept height are exactly the
// reference's (smtProveSorted) and verify; and knownAbsent never calls a present key
// absent (the state cache would skip its read), and does find absent keys from memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bytesToHex } from '@noble/hashes/utils.js';
import { smtPath, smtProveSorted, smtRootOfSorted, smtSortEntries, smtValueHash, verifyStateProof, type SmtEntry } from '../../core/smt.js';
import { createDatabaseKey } from '../../store/keyfile.js';
import { SqliteStore } from '../../store/sqlite.js';
import { encodeRoot, convertRowFormat1 } from './node.js';
import { buildStoredTree, buildTree, convertTreeRows, StoredTree } from './stored.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

const sortedOf = (map: Map<string, string>): SmtEntry[] => smtSortEntries([...map].map(([k, v]) => ({ path: smtPath(k), valueHash: smtValueHash(v) })));

// Seed 9 keeps 3 decoded deeper nodes per generation: nodes leave both generations all the time.
for (const [seed, lowerNodesMax] of [[7, undefined], [8, undefined], [9, 3]] as const) {
  test(`stored tree, random blocks (seed ${seed}${lowerNodesMax ? `, ${lowerNodesMax} decoded nodes per generation` : ''}): roots and proofs equal the reference, across restarts`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-stored-tree-'));
    const keyPath = path.join(dir, 'db.key');
    createDatabaseKey(keyPath);
    const store = SqliteStore.open({ dbPath: path.join(dir, 'tally.db'), keyPath, create: true, synchronous: 'NORMAL' });
    try {
      const r = rng(seed);
      const keep = 3;
      const map = new Map<string, string>();
      for (let i = 0; i < 40; i++) map.set(`k/${i}`, JSON.stringify({ v: i }));
      buildStoredTree(store, map, 0);
      let tree = new StoredTree(store, keep, lowerNodesMax);
      const history: Array<{ version: number; map: Map<string, string>; sorted: SmtEntry[] }> = [{ version: 0, map: new Map(map), sorted: sortedOf(map) }];
      assert.equal(tree.rootAt(0), bytesToHex(smtRootOfSorted(history[0]!.sorted)));
      const keySpace = 500;
      const absent = { checked: 0, known: 0 };
      for (let version = 1; version <= 40; version++) {
        if (version % 10 === 0) tree = new StoredTree(store, keep, lowerNodesMax); // a restart: nodes come back from rows
        const writes = new Map<string, string | null>();
        const n = 1 + Math.floor(r() * (version % 7 === 6 ? 300 : 40));
        for (let i = 0; i < n; i++) {
          const k = `k/${Math.floor(r() * keySpace)}`;
          const op = r();
          if (op < 0.25) writes.set(k, null);
          else if (op < 0.35 && map.has(k)) writes.set(k, map.get(k)!);
          else writes.set(k, JSON.stringify({ v: Math.floor(r() * 1000), at: version }));
        }
        if (version === 25) for (const k of map.keys()) writes.set(k, null); // everything deleted at once
        const batch = tree.update(version, writes);
        store.transaction(() => store.writeTree(tree.rows(batch)));
        tree.committed(batch);
        for (const [k, v] of writes) {
          if (v === null) map.delete(k);
          else map.set(k, v);
        }
        const sorted = sortedOf(map);
        const root = bytesToHex(smtRootOfSorted(sorted));
        assert.equal(batch.rootHash, root, `version ${version}: root`);
        assert.equal(tree.rootAt(version), root);
        history.push({ version, map: new Map(map), sorted });
        for (let i = 0; i < keySpace; i++) {
          const k = `k/${i}`;
          const known = tree.knownAbsent(k);
          if (map.has(k)) assert.equal(known, false, `version ${version}: ${k} is present`);
          else {
            absent.checked++;
            if (known) absent.known++;
          }
        }

        for (const h of history.slice(-(keep + 1))) {
          const hRoot = bytesToHex(smtRootOfSorted(h.sorted));
          for (let j = 0; j < 10; j++) {
            const k = `k/${Math.floor(r() * keySpace * 1.1)}`;
            const p = tree.prove(k, h.version);
            assert.deepEqual(p, smtProveSorted(h.sorted, k, h.map.get(k) ?? null), `version ${h.version}, key ${k}: the reference's proof`);
            assert.equal(verifyStateProof(hRoot, p).ok, true);
          }
        }
        if (version > keep) assert.throws(() => tree.prove('k/1', version - keep - 1), /no longer provable/);
      }
      assert.ok(absent.known > absent.checked / 2, `absent keys found from memory: ${absent.known} of ${absent.checked}`);
    } finally {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** A format-2 row as format 1 wrote it: each leaf child without its leaf hash. */
function asFormat1(row: Buffer, root = false): Buffer {
  if (root) {
    assert.ok(row.length === 0 || row[0] === 2, 'node roots only (a leaf root is checked below)');
    return row;
  }
  const present = row.readUInt16BE(0);
  const leaves = row.readUInt16BE(2);
  const parts = [row.subarray(0, 4)];
  let at = 4;
  for (let i = 0; i < 16; i++) {
    if (!(present & (1 << i))) continue;
    if (leaves & (1 << i)) {
      parts.push(row.subarray(at, at + 32), row.subarray(at + 64, at + 68));
      at += 68;
    } else {
      parts.push(row.subarray(at, at + 36));
      at += 36;
    }
  }
  return Buffer.concat(parts);
}

test('convertTreeRows rewrites every format-1 row (more than one page of them) to the row format 2 wrote', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-stored-tree-'));
  const keyPath = path.join(dir, 'db.key');
  createDatabaseKey(keyPath);
  const store = SqliteStore.open({ dbPath: path.join(dir, 'tally.db'), keyPath, create: true, synchronous: 'NORMAL' });
  try {
    const map = new Map<string, string>();
    for (let i = 0; i < 20_000; i++) map.set(`k/${i}`, JSON.stringify({ v: i }));
    buildStoredTree(store, map, 0);
    const tree = new StoredTree(store, 5);
    const batch = tree.update(1, new Map([['k/1', '"changed"'], ['k/new', '"x"']]));
    store.transaction(() => store.writeTree(tree.rows(batch)));
    const nodes = store.treeNodesAfter(-1, '', 1_000_000);
    const roots = store.allTreeRoots();
    assert.ok(nodes.length > 2_000, `${nodes.length} node rows`);
    assert.ok(nodes.some((r) => r.data.readUInt16BE(2) !== 0), 'some rows hold leaves');
    store.transaction(() => {
      for (const r of nodes) store.setTreeNode(r.version, r.npath, asFormat1(r.data));
      for (const r of roots) store.setTreeRoot(r.version, asFormat1(r.root, true));
      store.setMeta('tree/rows-format-1', '1');
    });
    assert.equal(convertTreeRows(store), nodes.length);
    assert.equal(store.getMeta('tree/rows-format-1'), undefined);
    assert.deepEqual(store.treeNodesAfter(-1, '', 1_000_000), nodes);
    assert.deepEqual(store.allTreeRoots(), roots);
    assert.equal(convertTreeRows(store), 0, 'once');

    // A leaf root: format 1 spelled out the value hash, format 2 the leaf hash.
    const one = buildTree([['only', '"v"']], 7);
    const path1 = smtPath('only');
    const format1 = Buffer.concat([Buffer.from([1]), path1, smtValueHash('"v"'), Buffer.from([0, 0, 0, 7])]);
    assert.deepEqual(convertRowFormat1(format1, () => assert.fail('a root row needs no value row'), true), encodeRoot(one.root));
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
