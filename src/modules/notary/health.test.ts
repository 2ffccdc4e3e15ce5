// The notary's /health probes on a real encrypted database: anchoring fails while a signed
// batch waits unanchored past the threshold, signing fails while records wait and no key
// is active; each recovers when the cause goes away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HealthProbe } from '../../chain/health.js';
import { createDatabaseKey } from '../../store/keyfile.js';
import { SqliteStore } from '../../store/sqlite.js';
import { errorCode } from '../../core/testing.js';
import { generateKey, signWith } from './keys.js';
import { signedMessage } from './records.js';
import { ANCHOR_LAG_MAX_SECS_DEFAULT, registerNotaryHealth, validateNotaryConfig } from './health.js';
import { notaryMigrations } from './schema.js';
import { NotaryStore } from './store.js';

const keep: unknown[] = [];

test('notary.anchoring and notary.signing in /health', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-health-'));
  createDatabaseKey(path.join(dir, 'db.key'));
  const sqlite = SqliteStore.open({ dbPath: path.join(dir, 'tally.db'), keyPath: path.join(dir, 'db.key'), create: true });
  try {
    sqlite.migrate('notary', notaryMigrations);
    const store = new NotaryStore(sqlite.db);
    const probes = new Map<string, HealthProbe>();
    let now = Date.now();
    registerNotaryHealth({ probe: (c, p) => probes.set(c, p) }, sqlite.db, validateNotaryConfig({ anchorLagMaxSecs: 60 }), () => now);
    const status = (c: string) => probes.get(c)!();
    assert.deepEqual(status('notary.anchoring'), { ok: true }, 'nothing to anchor');
    assert.deepEqual(status('notary.signing'), { ok: true }, 'nothing queued');

    // Queued records and no key: nothing can sign them.
    const [batch] = store.submit(['{"a":1}', '{"a":2}'], 'test');
    const signing = status('notary.signing');
    assert.equal(signing.ok, false);
    assert.match(signing.reason!, /no active key.*tally notary keys add/);
    const key = store.addKey(generateKey('ed25519'));
    assert.deepEqual(status('notary.signing'), { ok: true });
    store.retireKey(key.kid);
    assert.equal(status('notary.signing').ok, false, 'a retired key signs nothing');

    // Signed and waiting for its anchor: fine up to the threshold, then failing.
    store.addKey(generateKey('ed25519'));
    const lease = store.acquire('test', 60_000)!;
    const rows = store.unsigned(lease, 10);
    const privateKey = crypto.createPrivateKey({ key: lease.privateDer, format: 'der', type: 'pkcs8' });
    store.writeSignatures(lease, 60_000, rows.map((r) => ({ id: r.id, sig: signWith(lease.alg, privateKey, signedMessage(lease.batchId, r.id, r.record)) })));
    store.complete(lease);
    const signedAt = sqlite.db.prepare<[number], { signed_at: number }>('SELECT signed_at FROM notary_batches WHERE id = ?');
    keep.push(signedAt);
    now = signedAt.get(batch!.batch)!.signed_at;
    assert.deepEqual(status('notary.signing'), { ok: true }, 'nothing queued any more');
    now += 59_000;
    assert.deepEqual(status('notary.anchoring'), { ok: true }, 'within the threshold');
    now += 2_000;
    const anchoring = status('notary.anchoring');
    assert.equal(anchoring.ok, false);
    assert.match(anchoring.reason!, /^1 signed batch not anchored, the oldest signed 61 s ago \(notary.anchorLagMaxSecs 60\)/);
    assert.equal(anchoring.since, new Date(now - 61_000 + 60_000).toISOString());
    store.setAnchor(batch!.batch, 'cd'.repeat(32), 7);
    assert.deepEqual(status('notary.anchoring'), { ok: true }, 'anchored: recovered');
  } finally {
    sqlite.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('notary config: anchorLagMaxSecs defaults to 5 minutes and is bounded', () => {
  assert.deepEqual(validateNotaryConfig(undefined), { store: 'sqlite', anchorLagMaxSecs: ANCHOR_LAG_MAX_SECS_DEFAULT });
  assert.equal(ANCHOR_LAG_MAX_SECS_DEFAULT, 300);
  assert.equal(errorCode(() => validateNotaryConfig({ anchorLagMaxSecs: 0 })), 'config_invalid');
  assert.equal(errorCode(() => validateNotaryConfig({ anchorLagMaxSecs: '60' })), 'config_invalid');
  assert.equal(errorCode(() => validateNotaryConfig({ anchorLag: 60 })), 'config_invalid');
});
