// A node's data directory: where its files live, the one-node lock, its keys, and
// `initDataDir`, which writes genesis.json, db.key and node.key (0600), the encrypted
// database and block 0.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../core/canonical.js';
import { fail, TallyError } from '../core/errors.js';
import { signerFromPrivateKey, type Signer } from '../core/keys.js';
import { checkSecretFileMode, createDatabaseKey, writeSecretFile } from '../store/keyfile.js';
import { SqliteStore } from '../store/sqlite.js';
import type { TallyModule } from './app-module.js';
import { blockHash, signHeader, verifyHeaderSignature, type SignedBlock } from './blocks.js';
import { genesisHash, validateGenesis, type Genesis } from './genesis.js';
import { chainParams, genesisBlockParts } from './genesis-block.js';
import { Kernel } from './kernel.js';
import { treeRows } from './state-tree/stored.js';

export function dataPaths(dataDir: string) {
  return {
    dir: dataDir,
    db: path.join(dataDir, 'tally.db'),
    dbKey: path.join(dataDir, 'db.key'),
    nodeKey: path.join(dataDir, 'node.key'),
    genesis: path.join(dataDir, 'genesis.json'),
    socket: path.join(dataDir, 'tally.sock'),
    lock: path.join(dataDir, 'node.lock'),
  };
}

export { acquireNodeLock } from '../store/lock.js';

export function isInitialized(dataDir: string): boolean {
  return fs.existsSync(dataPaths(dataDir).db);
}

export function loadNodeSigner(keyPath: string): Signer {
  checkSecretFileMode(keyPath, 'node key file');
  try {
    return signerFromPrivateKey(crypto.createPrivateKey(fs.readFileSync(keyPath)));
  } catch (err) {
    throw new TallyError('key_file_invalid', `node key file ${keyPath} is not an Ed25519 private key in PEM`, { status: 500, cause: err });
  }
}

/** The kernel of a chain: its modules' chain parts under its genesis parameters. */
export function kernelFor(genesis: Genesis, modules: readonly TallyModule[]): Kernel {
  return new Kernel(modules.map((m) => m.chain), chainParams(genesis));
}

/** A replica's start: the writer's block 0 and the chain key the replica trusts. */
export interface ReplicaOf {
  chainKey: string;
  block0: SignedBlock;
}

/** The meta key that makes a data directory a replica's (node.ts reads it). */
export const REPLICA_META = 'replica/chainKey';

/**
 * Create a data directory: genesis.json, db.key and node.key (0600), the database and block
 * 0. A replica's directory (`replica` given) stores the writer's block 0 after checking it
 * is the genesis file's block 0 signed by the trusted chain key; its own node.key only
 * signs its socket replies, never a block.
 */
export function initDataDir(dataDir: string, genesisRaw: unknown, modules: TallyModule[], replica?: ReplicaOf): { genesis: Genesis; nodePub: string } {
  const genesis = validateGenesis(genesisRaw, modules.map((m) => m.chain));
  if (replica) checkBlock0(genesis, modules, replica);
  const p = dataPaths(dataDir);
  if (fs.existsSync(p.db)) fail('already_initialized', `${dataDir} already holds a node`, { status: 409 });
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(p.genesis, JSON.stringify(genesis, null, 2) + '\n');
  if (!fs.existsSync(p.dbKey)) createDatabaseKey(p.dbKey);
  if (!fs.existsSync(p.nodeKey)) {
    const { privateKey } = crypto.generateKeyPairSync('ed25519');
    writeSecretFile(p.nodeKey, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
  }
  const signer = loadNodeSigner(p.nodeKey);
  const store = SqliteStore.open({ dbPath: p.db, keyPath: p.dbKey, create: true });
  try {
    for (const m of modules) if (m.app.migrations) store.migrate(m.name, m.app.migrations);
    const parts = genesisBlockParts(genesis, kernelFor(genesis, modules), replica ? replica.chainKey : signer.pub);
    // A validator chain's block 0 is the genesis file's, the same for every validator: unsigned.
    const block = replica ? replica.block0 : genesis.validators ? { hash: blockHash(parts.header), header: parts.header, sig: '' } : signHeader(parts.header, signer);
    store.transaction(() => {
      store.setMeta('genesis', canonicalJson(genesis));
      if (replica) store.setMeta(REPLICA_META, replica.chainKey);
      store.commitBlock({ block: { height: 0, hash: block.hash, header: JSON.stringify(block.header), sig: block.sig }, txs: [], writes: parts.writes, tree: treeRows(parts.tree!) });
      store.setMeta('tree/first', '0');
    });
  } finally {
    store.close();
  }
  return { genesis, nodePub: signer.pub };
}

function checkBlock0(genesis: Genesis, modules: TallyModule[], replica: ReplicaOf): void {
  const b = replica.block0;
  // A chain made before header v3 has a version 2 block 0; replicas follow version 2 and 3.
  const version = b.header.version === 2 ? 2 : 3;
  const expected = genesisBlockParts(genesis, kernelFor(genesis, modules), replica.chainKey, version).header;
  if (canonicalJson(expected) !== canonicalJson(b.header)) fail('genesis_mismatch', 'block 0 of the peer is not the block 0 of this genesis under the trusted chain key');
  if (b.header.prevHash !== genesisHash(genesis)) fail('genesis_mismatch', 'block 0 does not link to the genesis hash');
  if (blockHash(b.header) !== b.hash || !verifyHeaderSignature(b.header, b.sig)) fail('bad_signature', 'block 0 is not signed by the trusted chain key');
}
