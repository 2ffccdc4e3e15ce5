// `tally init --from-snapshot`: a data directory that starts at a snapshot's height. The
// snapshot is checked whole (signatures, genesis, the entries' root = the signed stateRoot)
// before any file is created; then it is read again into the new database inside one
// transaction that is rolled back (and the new directory removed) unless the second read
// checks out too and the state tree built from it has the same root. The node continues
// from there: blocks below the height are absent, and so is their history. The state at the
// height is kept apart too (snapshot-base.ts), so `tally chain verify` can start from it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { canonicalJson } from '../core/canonical.js';
import { fail } from '../core/errors.js';
import { checkSecretFileMode, createDatabaseKey, writeSecretFile } from '../store/keyfile.js';
import { SqliteStore } from '../store/sqlite.js';
import type { TallyModule } from './app-module.js';
import { dataPaths, loadNodeSigner, REPLICA_META } from './datadir.js';
import { assertCanonicalValue, verifySnapshotFile, type Progress, type SnapshotHead } from './snapshot.js';
import { SNAPSHOT_BASE_SCOPE, snapshotBaseMigrations, writeSnapshotBase } from './snapshot-base.js';
import { buildStoredTree } from './state-tree/stored.js';

export interface SnapshotInit {
  head: SnapshotHead;
  root: string;
  nodePub: string;
}

/**
 * nodeKeyFile: the writer's key, which continues the chain. Undefined: a replica's
 * directory, which follows the chain signed by `trustedKey` and gets a key of its own
 * (for its socket replies only).
 */
export function initFromSnapshot(dataDir: string, file: string, nodeKeyFile: string | undefined, trustedKey: string | undefined, modules: TallyModule[], progress: Progress = () => {}): SnapshotInit {
  const p = dataPaths(dataDir);
  if (fs.existsSync(p.db)) fail('already_initialized', `${dataDir} already holds a node`, { status: 409 });
  const replica = nodeKeyFile === undefined;
  if (replica && trustedKey === undefined) fail('bad_args', 'a replica from a snapshot needs the chain key it trusts (--node-key)');
  if (!replica) checkSecretFileMode(nodeKeyFile, 'node key file');
  const signer = replica ? { pub: trustedKey! } : loadNodeSigner(nodeKeyFile);
  if (trustedKey !== undefined && trustedKey !== signer.pub) {
    fail('bad_args', `--node-key-file holds the key ${signer.pub}, not --node-key ${trustedKey}`, { hint: 'the node continues the chain: it must sign with the key that signed the snapshot' });
  }
  const chainModules = modules.map((m) => m.chain);
  // First read: nothing is written unless the whole snapshot checks out.
  const first = verifySnapshotFile(file, signer.pub, chainModules, progress);
  const head = first.head;

  const created = !fs.existsSync(dataDir);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const made: string[] = [];
  let store: SqliteStore | undefined;
  try {
    fs.writeFileSync(p.genesis, JSON.stringify(head.genesis, null, 2) + '\n', { flag: 'wx' });
    made.push(p.genesis);
    if (!fs.existsSync(p.dbKey)) {
      createDatabaseKey(p.dbKey);
      made.push(p.dbKey);
    }
    if (replica) {
      if (!fs.existsSync(p.nodeKey)) {
        writeSecretFile(p.nodeKey, crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
        made.push(p.nodeKey);
      }
    } else if (!fs.existsSync(p.nodeKey)) {
      writeSecretFile(p.nodeKey, fs.readFileSync(nodeKeyFile));
      made.push(p.nodeKey);
    } else if (loadNodeSigner(p.nodeKey).pub !== signer.pub) {
      fail('bad_args', `${p.nodeKey} exists and holds another key`);
    }
    made.push(p.db, `${p.db}-wal`, `${p.db}-shm`);
    store = SqliteStore.open({ dbPath: p.db, keyPath: p.dbKey, create: true });
    for (const m of modules) if (m.app.migrations) store.migrate(m.name, m.app.migrations);
    store.migrate(SNAPSHOT_BASE_SCOPE, snapshotBaseMigrations);
    const s = store;
    const h = head.block.header;
    s.transaction(() => {
      // Second read, into the database: the file may have changed since the first.
      const entries: Array<[string, string]> = [];
      const again = verifySnapshotFile(file, signer.pub, chainModules, () => {}, (k, v) => {
        assertCanonicalValue(k, v);
        entries.push([k, v]);
      });
      if (again.root !== first.root) fail('snapshot_invalid', 'the snapshot changed while it was read');
      s.setMeta('genesis', canonicalJson(head.genesis));
      if (replica) s.setMeta(REPLICA_META, signer.pub);
      const g = head.genesisBlock;
      s.commitBlock({ block: { height: 0, hash: g.hash, header: JSON.stringify(g.header), sig: g.sig }, txs: [], writes: new Map() });
      const block = { block: { height: h.height, hash: head.block.hash, header: JSON.stringify(h), sig: head.block.sig }, txs: [], writes: new Map(entries) };
      const root = buildStoredTree(s, entries, h.height, block);
      if (root !== h.stateRoot) fail('snapshot_invalid', `the state tree built from the snapshot has root ${root}, not the header's ${h.stateRoot}`, { status: 500 });
      // Module indexes start at the snapshot: there are no blocks below it to index.
      for (const m of modules) if (m.app.indexer) s.setMeta(`index/${m.name}`, String(h.height));
      writeSnapshotBase(s, h.height, entries);
    });
    return { head, root: first.root, nodePub: signer.pub };
  } catch (err) {
    store?.close();
    store = undefined;
    for (const f of made) fs.rmSync(f, { force: true });
    if (created) fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  } finally {
    store?.close();
  }
}
