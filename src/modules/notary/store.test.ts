// The notary's guarantees at the database, on a real encrypted SQLite file: one holder per
// key, fenced writes (an expired or superseded lease writes nothing, even with raw SQL),
// one signature per record, retired keys take no leases, batches complete only when whole.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TallyError } from '../../core/errors.js';
import { createDatabaseKey } from '../../store/keyfile.js';
import { SqliteStore } from '../../store/sqlite.js';
import { generateKey, importPem, parseKeyType, signWith } from './keys.js';
import { toB64u } from '../../core/encoding.js';
import { parseJsonLines, recordLeafHash, signedMessage } from './records.js';
import { notaryMigrations } from './schema.js';
import { NotaryStore, type Lease } from './store.js';

// Statements stay reachable: Node 24.19+ can abort when one is collected (src/store/sqlite.ts).
const keep: unknown[] = [];
const sql = (db: SqliteStore['db'], text: string) => {
  const st = db.prepare(text);
  keep.push(st);
  return st;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof TallyError) return err.code;
    return `raw: ${(err as Error).message}`;
  }
  return 'no error';
}

describe('notary store', () => {
  let dir: string;
  let sqlite: SqliteStore;
  let store: NotaryStore;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-unit-'));
    createDatabaseKey(path.join(dir, 'db.key'));
    sqlite = SqliteStore.open({ dbPath: path.join(dir, 'tally.db'), keyPath: path.join(dir, 'db.key'), create: true });
    sqlite.migrate('notary', notaryMigrations);
    store = new NotaryStore(sqlite.db);
  });
  after(() => {
    sqlite.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const sign = (lease: Lease, rows: Array<{ id: number; record: string }>) =>
    rows.map((r) => ({ id: r.id, sig: signWith(lease.alg, crypto.createPrivateKey({ key: lease.privateDer, format: 'der', type: 'pkcs8' }), signedMessage(lease.batchId, r.id, r.record)) }));

  it('fences every write: expired and superseded leases write nothing', async () => {
    const k1 = store.addKey(generateKey('ed25519'));
    store.submit(['{"a":1}', '{"a":2}', '"three"'], 'test');
    const a = store.acquire('worker-a', 150)!;
    assert.ok(a);
    assert.equal(a.recordCount, 3);
    // one key, one holder: the only key is taken, so nobody else gets a lease
    store.submit(['"other batch"'], 'test');
    assert.equal(store.acquire('worker-b', 150), undefined);

    await sleep(250); // a's lease expires without renewal
    const rows = store.unsigned(a, 10);
    assert.equal(code(() => store.writeSignatures(a, 150, sign(a, rows))), 'lease_lost');
    assert.equal(store.status().signed, 0, 'nothing written under an expired lease');
    assert.equal(store.renew(a, 150), false);

    // b takes over (a's lease is reclaimed) with a larger fencing token
    const b = store.acquire('worker-b', 5000)!;
    assert.equal(b.keyId, k1.id);
    assert.ok(b.token > a.token);
    assert.equal(code(() => store.writeSignatures(a, 150, sign(a, rows))), 'lease_lost');
    // even raw SQL with the stale token is refused by the trigger
    assert.match(code(() => sql(sqlite.db, 'INSERT INTO notary_signatures (record_id, key_id, lease_token, sig, signed_at) VALUES (?, ?, ?, ?, 0)').run(rows[0]!.id, a.keyId, a.token, Buffer.alloc(64))), /lease_lost/);

    store.writeSignatures(b, 5000, sign(b, rows.slice(0, 1)));
    // a second signature for the same record: the primary key refuses it, whoever writes
    assert.match(code(() => store.writeSignatures(b, 5000, sign(b, rows.slice(0, 1)))), /UNIQUE|PRIMARY/);
    assert.equal(code(() => store.complete(b)), 'batch_incomplete');
    assert.match(code(() => sql(sqlite.db, 'UPDATE notary_signatures SET sig = ? WHERE record_id = ?').run(Buffer.alloc(64), rows[0]!.id)), /immutable/);

    store.writeSignatures(b, 5000, sign(b, store.unsigned(b, 10)));
    const root = store.complete(b);
    assert.match(root, /^[0-9a-f]{64}$/);
    assert.equal(store.batch(b.batchId)!.root, root);
    assert.equal(store.status().signed, 3);

    const log = store.leaseLog();
    assert.deepEqual(log.map((r) => r.end_reason), ['expired', 'completed']);
    assert.ok(log[1]!.acquired_at >= log[0]!.ended_at!, 'the second holder began after the first lease expired');
  });

  it('retired keys take no new leases and cannot be retired twice', () => {
    const keys = store.keys();
    store.retireKey(keys[0]!.kid);
    assert.equal(code(() => store.retireKey(keys[0]!.kid)), 'key_retired');
    assert.equal(code(() => store.retireKey('00'.repeat(8))), 'key_not_found');
    assert.equal(store.acquire('worker-c', 1000), undefined, 'the only key is retired');
    assert.match(code(() => sql(sqlite.db, 'INSERT INTO notary_leases (key_id, batch_id, token, holder, expires_at) VALUES (?, 2, 999, ?, 0)').run(keys[0]!.id, 'x')), /key_retired/);
    const fresh = store.addKey(generateKey('ed25519'));
    const lease = store.acquire('worker-c', 1000)!;
    assert.equal(lease.kid, fresh.kid);
    store.release(lease);
  });

  it('stores identical content once: a resubmitted batch is the existing one (duplicate), raw SQL cannot insert it twice', () => {
    const records = ['{"dedupe":1}', '{"dedupe":2}', '{"dedupe":3}'];
    const first = store.submit(records, 'test', 2);
    assert.deepEqual(first.map((b) => b.duplicate), [false, false]);
    const again = store.submit(records, 'test', 2);
    assert.deepEqual(again, first.map((b) => ({ ...b, duplicate: true })));
    // Another slicing is other content: new batches.
    assert.deepEqual(store.submit(records, 'test', 3).map((b) => b.duplicate), [false]);
    const hashOf = sql(sqlite.db, 'SELECT content_hash FROM notary_batches WHERE id = ?').get(first[0]!.batch) as { content_hash: Buffer };
    assert.equal(code(() => sql(sqlite.db, "INSERT INTO notary_batches (first_record, record_count, source, content_hash, created_at) VALUES (1, 1, 'raw', ?, 0)").run(hashOf.content_hash)).startsWith('raw: UNIQUE'), true);
  });
});

describe('notary store: the last chunk completes its batch', () => {
  let dir: string;
  let sqlite: SqliteStore;
  let store: NotaryStore;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notary-unit-'));
    createDatabaseKey(path.join(dir, 'db.key'));
    sqlite = SqliteStore.open({ dbPath: path.join(dir, 'tally.db'), keyPath: path.join(dir, 'db.key'), create: true });
    sqlite.migrate('notary', notaryMigrations);
    store = new NotaryStore(sqlite.db);
    store.addKey(generateKey('ed25519'));
  });
  after(() => {
    sqlite.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const sign = (lease: Lease, rows: Array<{ id: number; record: string }>) =>
    rows.map((r) => ({ id: r.id, sig: signWith(lease.alg, crypto.createPrivateKey({ key: lease.privateDer, format: 'der', type: 'pkcs8' }), signedMessage(lease.batchId, r.id, r.record)) }));

  const sqlRows = (l: Lease) => store.signedRange(l.firstRecord, l.firstRecord + l.recordCount - 1).map((r) => ({ id: r.id, sig: r.sig, record: r.record }));

  it('writes and completes in one transaction, or does neither', async () => {
    store.submit(['{"c":1}', '{"c":2}', '{"c":3}', '{"c":4}'], 'test');
    const a = store.acquire('worker-a', 5000)!;
    const rows = store.unsigned(a, 10);
    assert.equal(store.writeSignatures(a, 5000, sign(a, rows.slice(0, 2))), undefined);
    const last = sign(a, rows.slice(2));
    // The leaf hashes the signing threads send (of all four records) give the root read back from the table.
    const written = [...sqlRows(a), ...last.map((s, i) => ({ ...s, record: rows[2 + i]!.record }))];
    const leafHashes = written.map((w) => recordLeafHash({ id: w.id, batch: a.batchId, kid: a.kid, alg: a.alg, sig: toB64u(w.sig), record: w.record }));
    const root = store.writeSignatures(a, 5000, last, { leafHashes })!;
    assert.match(root, /^[0-9a-f]{64}$/);
    assert.equal(store.batch(a.batchId)!.root, root);
    assert.equal(root, store.batchRoot(a.firstRecord, a.recordCount));
    assert.deepEqual(store.leaseLog().map((r) => r.end_reason), ['completed']);
    assert.deepEqual(store.status().leases, []);

    // A batch not whole: the write is undone with the completion, nothing stays.
    store.submit(['{"d":1}', '{"d":2}'], 'test');
    const b = store.acquire('worker-b', 5000)!;
    const bRows = store.unsigned(b, 10);
    // (leaf hashes for the whole batch do not make a batch whole: its signatures are counted)
    const bLeaves = bRows.map(() => new Uint8Array(32));
    assert.equal(code(() => store.writeSignatures(b, 5000, sign(b, bRows.slice(0, 1)), { leafHashes: bLeaves })), 'batch_incomplete');
    assert.equal(store.status().signed, 4);
    assert.equal(store.batch(b.batchId)!.signed_at, null);
    store.release(b);

    // A lost lease: nothing written, nothing completed.
    const c = store.acquire('worker-c', 100)!;
    await sleep(250);
    assert.equal(code(() => store.writeSignatures(c, 5000, sign(c, store.unsigned(c, 10)), {})), 'lease_lost');
    assert.equal(store.status().signed, 4);
    assert.equal(store.batch(c.batchId)!.signed_at, null);
  });
});

describe('notary keys and records', () => {
  it('imports PKCS#1 and PKCS#8 PEM and refuses corrupt, encrypted, odd-sized and unknown keys', () => {
    const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkcs1 = rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string;
    const pkcs8 = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    assert.match(pkcs1, /BEGIN RSA PRIVATE KEY/);
    const a = importPem(pkcs1);
    const b = importPem(pkcs8);
    assert.equal(a.type, 'rsa2048');
    assert.equal(a.kid, b.kid, 'one key, one id, whatever its encoding');
    const ed = importPem(crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    assert.equal(ed.alg, 'ed25519');

    assert.equal(code(() => importPem(pkcs8.replace(/[A-Za-z]{20}/, 'A'.repeat(20)))), 'pem_invalid');
    assert.equal(code(() => importPem('hello')), 'pem_invalid');
    assert.equal(code(() => importPem(rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string)), 'pem_invalid');
    const encrypted = rsa.privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'x' }) as string;
    assert.equal(code(() => importPem(encrypted)), 'pem_encrypted');
    const small = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    assert.equal(code(() => importPem(small)), 'unknown_key_type');
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    assert.equal(code(() => importPem(ec)), 'unknown_key_type');
    assert.equal(code(() => parseKeyType('dsa')), 'unknown_key_type');
  });

  it('signs RSA-PSS with SHA-256 and a 32-byte salt', () => {
    const k = generateKey('rsa2048');
    const key = crypto.createPrivateKey({ key: k.privateDer, format: 'der', type: 'pkcs8' });
    const msg = Buffer.from('record');
    const sig = signWith('rsa-pss-sha256', key, msg);
    const pub = crypto.createPublicKey(k.publicPem);
    const pss = (saltLength: number) => crypto.verify('sha256', msg, { key: pub, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength }, sig);
    assert.equal(pss(32), true, 'RSA-PSS with a 32-byte salt (the SHA-256 length)');
    assert.equal(pss(20), false);
  });

  it('refuses malformed record files whole, saying which line', () => {
    assert.deepEqual(parseJsonLines('{"b":1,"a":2}\n\n"x"\n'), ['{"a":2,"b":1}', '"x"']);
    const err = (() => {
      try {
        parseJsonLines('{"ok":1}\n{"broken":\n');
      } catch (e) {
        return e as TallyError;
      }
      return undefined;
    })();
    assert.equal(err?.code, 'record_invalid');
    assert.match(err!.message, /line 2/);
    assert.equal(code(() => parseJsonLines('null\n')), 'record_invalid');
    assert.equal(code(() => parseJsonLines('\n\n')), 'no_records');
    assert.equal(code(() => parseJsonLines(JSON.stringify('x'.repeat(9000)))), 'record_too_large');
  });
});
