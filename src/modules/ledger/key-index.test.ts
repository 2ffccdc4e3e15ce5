import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { canonicalJson } from '../../core/canonical.js';
import type { IndexedTx } from '../../chain/app-module.js';
import { createDatabaseKey } from '../../store/keyfile.js';
import { SqliteStore } from '../../store/sqlite.js';
import { ledgerMigrations } from './history.js';
import { accountsRotatedTo, keyIndexer, keyIndexMigration } from './key-index.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const PUB1 = 'P'.repeat(43);
const PUB2 = 'Q'.repeat(43);

function rotation(seq: number, from: string, pub: string, status: 'ok' | 'failed' = 'ok'): IndexedTx {
  return {
    seq, id: seq.toString(16).padStart(64, '0'),
    tx: { chain: 't', type: 'auth.rotate', from, nonce: 1, expires: 1, body: { pub, proof: 'x'.repeat(86) } },
    receipt: { id: seq.toString(16).padStart(64, '0'), height: 1, index: seq, status, events: [] },
  } as unknown as IndexedTx;
}

test('ledger_keys: filled from past rotations by its migration, then by the block indexer; failed rotations are not keys', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-keyindex-'));
  const keyPath = path.join(dir, 'db.key');
  createDatabaseKey(keyPath);
  const store = SqliteStore.open({ dbPath: path.join(dir, 'tally.db'), keyPath, create: true });
  try {
    // A chain that rotated before the index existed: one ok rotation, one failed.
    store.migrate('ledger', ledgerMigrations);
    const insert = store.db.prepare('INSERT INTO txs (seq, id, id_head, height, idx, sender, type, env, status, code, events) VALUES (?, ?, 0, 1, ?, ?, ?, ?, ?, NULL, ?)');
    for (const [seq, from, pub, status] of [[4097, A, PUB1, 'ok'], [4098, B, PUB2, 'failed']] as const) {
      const t = rotation(seq, from, pub, status);
      insert.run(seq, Buffer.alloc(32, seq), seq - 4096, from, 'auth.rotate', canonicalJson({ pub: 'old', sig: 's', tx: t.tx }), status, '[]');
    }
    store.migrate('ledger', [...ledgerMigrations, keyIndexMigration]);
    assert.deepEqual(accountsRotatedTo(store, PUB1), [A]);
    assert.deepEqual(accountsRotatedTo(store, PUB2), []);

    const indexer = keyIndexer(store);
    indexer.index({ height: 2, timeMs: 0 }, [rotation(8193, B, PUB1), rotation(8194, A, PUB2, 'failed')]);
    assert.deepEqual(accountsRotatedTo(store, PUB1), [B, A], 'newest first');
    assert.deepEqual(accountsRotatedTo(store, PUB2), []);
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
