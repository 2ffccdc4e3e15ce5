// The notary end to end on a real node: keys added and imported while the node runs,
// a batch submitted over HTTP is signed by the node's own signing threads and anchored on
// chain; a record's proof leads from its signature to a signed block. Then bad input over
// HTTP and the CLI: each refused with a stable code, nothing stored, nothing lost.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../src/core/canonical.js';
import { fromB64u } from '../src/core/encoding.js';
import { leafHash, rootFromProof } from '../src/core/merkle.js';
import { txId } from '../src/chain/envelope.js';
import { receiptLeafBytes } from '../src/chain/envelope.js';
import { verifyHeaderSignature } from '../src/chain/blocks.js';
import { verifyWith } from '../src/modules/notary/keys.js';
import { recordLeafHash, signedMessage } from '../src/modules/notary/records.js';
import { cleanup, cli, cliOk, getOk, httpGet, httpPost, sleep, startNode, tempDir, withTimeout, type NodeProcess } from './helpers.js';

describe('notary on a running node', { timeout: 120_000 }, () => {
  let node: NodeProcess;
  let home: string;
  const data = () => ['--data', node.dataDir, '--json'];

  before(async () => {
    node = await startNode();
    home = tempDir();
  });
  after(async () => {
    await node?.stop();
    await cleanup();
  });

  async function waitAnchored(batch: number): Promise<any> {
    return withTimeout((async () => {
      while (true) {
        const b = await getOk(`${node.http}/v1/notary/batches/${batch}`);
        if (b.state === 'anchored') return b;
        await sleep(100);
      }
    })(), 30_000, `batch ${batch} to be anchored`);
  }

  it('signs a batch submitted over HTTP with the node\'s threads and anchors its root on chain', async () => {
    const added = await cliOk(home, ['notary', 'keys', 'add', '--type', 'rsa2048', '--count', '1', ...data()]);
    assert.equal(added[0].alg, 'rsa-pss-sha256');
    const pemFile = path.join(home, 'ed.pem');
    fs.writeFileSync(pemFile, crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const imported = await cliOk(home, ['notary', 'keys', 'import', pemFile, ...data()]);
    assert.equal(imported.alg, 'ed25519');

    const records = [{ doc: 'contract-1', sha256: 'ab'.repeat(32) }, 'a plain string', [1, 2, 3], { nested: { z: 1, a: 2 } }];
    const posted = await httpPost(`${node.internal}/v1/notary/batches`, { records });
    assert.equal(posted.status, 202, posted.text);
    assert.equal(posted.body.state, 'pending');
    assert.equal(posted.body.records, 4);
    const batch = await waitAnchored(posted.body.batch);
    assert.equal(batch.signed, 4);

    // A user proves when record #2 was signed, from public data only.
    const keys = await getOk(`${node.http}/v1/notary/keys`);
    const p = await getOk(`${node.http}/v1/notary/records/${posted.body.first_record + 1}`);
    assert.deepEqual(p.record, records[1]);
    const key = keys.find((k: any) => k.kid === p.kid);
    assert.ok(verifyWith(p.alg, crypto.createPublicKey(key.public_pem), signedMessage(p.batch, p.id, canonicalJson(p.record)), fromB64u(p.sig, 'sig')), 'record signature');
    const leaf = recordLeafHash({ id: p.id, batch: p.batch, kid: p.kid, alg: p.alg, sig: p.sig, record: canonicalJson(p.record) });
    assert.equal(Buffer.from(leaf).toString('hex'), p.leaf);
    assert.equal(rootFromProof(leaf, p.proof), p.root, 'leaf -> batch root');
    const txProof = await getOk(`${node.http}/v1/txs/${p.anchor_tx}/proof`);
    const tx = await getOk(`${node.http}/v1/txs/${p.anchor_tx}`);
    assert.equal(txId(tx.envelope.tx), p.anchor_tx);
    assert.equal(tx.envelope.pub, node.nodeKey, 'anchored by the node key');
    assert.ok(tx.envelope.tx.body.batches.some((b: any) => b.batch === p.batch && b.root === p.root), 'the anchor carries the root');
    assert.equal(rootFromProof(leafHash(receiptLeafBytes(txProof.receipt)), txProof.proof), txProof.block.header.txRoot, 'receipt -> block');
    assert.equal(txProof.block.header.proposer, node.nodeKey);
    assert.ok(verifyHeaderSignature(txProof.block.header, txProof.sig ?? txProof.block.sig), 'block signed by the node');
    assert.ok(txProof.block.header.time >= Date.parse(p.signed_at), 'the block time bounds when it was signed');

    // The CLI sees the same, with the node up (shared database, no node lock taken).
    const st = await cliOk(home, ['notary', 'status', ...data()]);
    assert.equal(st.batches.anchored, 1);
    const verified = await cliOk(home, ['notary', 'export', '--out', path.join(home, 'x.jsonl'), ...data()]).then(() => cliOk(home, ['notary', 'verify', path.join(home, 'x.jsonl'), '--json']));
    assert.equal(verified.ok, true);
    assert.equal(verified.verified, 4);
    const chain = await cli(home, ['chain', 'verify', '--data', node.dataDir]);
    assert.equal(chain.code, 0, chain.stderr);
  });

  it('writes a proof bundle that verify-proof checks offline; each tampering fails with its code', async () => {
    const posted = await httpPost(`${node.internal}/v1/notary/batches`, { records: [{ doc: 'deed', n: 1 }, { doc: 'deed', n: 2 }, { doc: 'deed', n: 3 }] });
    const id = posted.body.first_record + 1;
    // Not anchored yet (or not even signed): refused, nothing written.
    const early = path.join(home, 'early.json');
    const tooSoon = await cli(home, ['notary', 'proof', String(id), '--out', early, ...data()]);
    if (tooSoon.code !== 0) assert.equal(tooSoon.json.error.code, 'record_not_anchored');
    await waitAnchored(posted.body.batch);
    const file = path.join(home, 'proof.json');
    const wrote = await cliOk(home, ['notary', 'proof', String(id), '--out', file, ...data()]);
    assert.equal(wrote.record, id);
    const verify = (f: string, key = node.nodeKey, extra: string[] = []) => cli(home, ['notary', 'verify-proof', f, '--node-key', key, ...extra, '--json']);
    const good = await verify(file);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.deepEqual([good.json.ok, good.json.record, good.json.batch, good.json.height], [true, id, posted.body.batch, wrote.height]);
    // With the pool's public keys pinned (exported separately), too.
    const keysFile = path.join(home, 'pinned-keys.json');
    await cliOk(home, ['notary', 'keys', 'export', '--out', keysFile, ...data()]);
    assert.equal((await verify(file, node.nodeKey, ['--keys', keysFile])).json.ok, true);
    const human = await cli(home, ['notary', 'verify-proof', file, '--node-key', node.nodeKey]);
    assert.match(human.stdout, /^OK: record \d+ .* signed no later than /);

    const original = JSON.parse(fs.readFileSync(file, 'utf8'));
    const tampered = async (name: string, change: (b: any) => void, code: string, key = node.nodeKey) => {
      const b = structuredClone(original);
      change(b);
      const f = path.join(home, `tampered-${name}.json`);
      fs.writeFileSync(f, JSON.stringify(b));
      const r = await verify(f, key);
      assert.equal(r.code, 1, `${name}: ${r.stdout}`);
      assert.deepEqual([r.json.ok, r.json.code], [false, code], `${name}: ${r.stdout}`);
    };
    const flip = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);
    await tampered('record', (b) => { b.record.record.n = 99; }, 'signature_invalid');
    await tampered('sig', (b) => { b.record.sig = original.record.sig.slice(0, -2) + (original.record.sig.endsWith('AA') ? 'BA' : 'AA'); }, 'signature_invalid');
    await tampered('batch', (b) => { b.record.batch += 1; }, 'signature_invalid');
    await tampered('leaf', (b) => { b.leaf = flip(b.leaf); }, 'leaf_mismatch');
    await tampered('path', (b) => { b.proof.siblings[0] = flip(b.proof.siblings[0]); }, 'root_mismatch');
    await tampered('root', (b) => { b.root = flip(b.root); }, 'root_mismatch');
    await tampered('key', (b) => { b.key.public_pem = crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }); }, 'key_mismatch');
    await tampered('anchor-body', (b) => { b.anchor.envelope.tx.body.batches[0].root = flip(b.anchor.envelope.tx.body.batches[0].root); }, 'anchor_signature_invalid');
    await tampered('receipt', (b) => { b.anchor.receipt.index += 1; }, 'receipt_proof_invalid');
    await tampered('block-time', (b) => { b.anchor.block.header.time += 1; }, 'block_hash_mismatch');
    await tampered('block-sig', (b) => { b.anchor.block.sig = original.anchor.block.sig.slice(0, -2) + (original.anchor.block.sig.endsWith('AA') ? 'BA' : 'AA'); }, 'block_signature_invalid');
    await tampered('format', (b) => { b.format = 'something-else'; }, 'proof_invalid');
    await tampered('shape', (b) => { delete b.anchor; }, 'proof_invalid');
    const otherNode = fromB64uToKey();
    await tampered('node-key', () => {}, 'anchor_not_by_node', otherNode);
    fs.writeFileSync(path.join(home, 'not-json.json'), '{"format":');
    assert.equal((await verify(path.join(home, 'not-json.json'))).json.code, 'proof_invalid');
    assert.equal((await cli(home, ['notary', 'verify-proof', file, '--json'])).json.error.code, 'bad_args', 'the node key is required');
    assert.equal((await cli(home, ['notary', 'proof', '999999', '--out', early, ...data()])).json.error.code, 'record_not_found');
  });

  it('recognises a resubmitted identical batch or file: the existing batches, duplicate: true, nothing signed twice', async () => {
    const records = [{ invoice: 7, total: '12.50' }, { invoice: 8, total: '3.00' }];
    const first = await httpPost(`${node.internal}/v1/notary/batches`, { records });
    assert.deepEqual([first.status, first.body.duplicate], [202, false]);
    const before = await cliOk(home, ['notary', 'status', ...data()]);
    // The same values with other key order and spacing are the same canonical records.
    const again = await httpPost(`${node.internal}/v1/notary/batches`, '{"records": [{"total": "12.50", "invoice": 7}, {"invoice":8,"total":"3.00"}]}', { raw: true });
    assert.deepEqual([again.status, again.body.duplicate, again.body.batch, again.body.first_record], [200, true, first.body.batch, first.body.first_record]);
    const other = await httpPost(`${node.internal}/v1/notary/batches`, { records: [records[1], records[0]] });
    assert.deepEqual([other.status, other.body.duplicate], [202, false], 'another order is another batch');
    assert.equal((await cliOk(home, ['notary', 'status', ...data()])).records, before.records + 2);

    // A file: sent twice, then grown by one batch; only the new slice is stored.
    const file = path.join(home, 'ledger-lines.jsonl');
    const lines = Array.from({ length: 5 }, (_, i) => JSON.stringify({ line: i, at: 'dedupe' }));
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const one = await cliOk(home, ['notary', 'submit', file, '--batch-size', '2', ...data()]);
    assert.deepEqual([one.batches, one.new_batches, one.duplicate], [3, 3, false]);
    const two = await cliOk(home, ['notary', 'submit', file, '--batch-size', '2', ...data()]);
    assert.deepEqual([two.batches, two.new_batches, two.duplicate_batches, two.duplicate, two.first_batch, two.last_batch], [3, 0, 3, true, one.first_batch, one.last_batch]);
    const human = await cli(home, ['notary', 'submit', file, '--batch-size', '2', '--data', node.dataDir]);
    assert.match(human.stdout, /already stored: all 5 records are batches/);
    fs.appendFileSync(file, JSON.stringify({ line: 5, at: 'dedupe' }) + '\n'); // the last slice [4, 5] is new
    const grown = await cliOk(home, ['notary', 'submit', file, '--batch-size', '2', ...data()]);
    assert.deepEqual([grown.batches, grown.new_batches, grown.duplicate_batches, grown.duplicate], [3, 1, 2, false]);
    await waitAnchored(grown.last_batch);
  });

  it('export and verify print their progress on lines of their own (stderr), none under --json', async () => {
    const out = path.join(home, 'progress.jsonl');
    const exported = await cli(home, ['notary', 'export', '--out', out, '--data', node.dataDir]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stderr, /^exported \d+ records$/m);
    assert.ok(!exported.stderr.includes('\r'), 'no carriage returns');
    const verified = await cli(home, ['notary', 'verify', out]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.ok(!verified.stderr.includes('\r'));
    const quiet = await cli(home, ['notary', 'export', '--out', out, ...data()]);
    assert.equal(quiet.stderr, '');
  });

  it('refuses bad HTTP input with a stable code and stores nothing', async () => {
    const before = await cliOk(home, ['notary', 'status', ...data()]);
    const url = `${node.internal}/v1/notary/batches`;
    // submitting is an operator action: not on the public listener
    assert.equal((await httpPost(`${node.http}/v1/notary/batches`, { records: [1] })).status, 404);
    const cases: Array<[unknown, boolean, number, string]> = [
      ['{"records": [1, 2', true, 400, 'bad_json'],
      [{ records: 'nope' }, false, 400, 'bad_request'],
      [{ records: [] }, false, 400, 'bad_request'],
      [{ records: [1], extra: true }, false, 400, 'bad_request'],
      [{ records: Array.from({ length: 1001 }, (_, i) => i) }, false, 413, 'batch_too_large'],
      [{ records: [1, null, 3] }, false, 400, 'record_invalid'],
      [{ records: ['x'.repeat(9000)] }, false, 400, 'record_too_large'],
    ];
    for (const [body, raw, status, code] of cases) {
      const r = await httpPost(url, body, { raw });
      assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 60)} -> ${r.text}`);
      assert.equal(r.body.error.code, code);
    }
    assert.equal((await httpGet(`${node.http}/v1/notary/batches/999999`)).body.error.code, 'batch_not_found');
    assert.equal((await httpGet(`${node.http}/v1/notary/batches/abc`)).status, 400);
    const afterStatus = await cliOk(home, ['notary', 'status', ...data()]);
    assert.equal(afterStatus.records, before.records);
  });

  it('refuses bad CLI input with a stable code and changes nothing', async () => {
    const before = await cliOk(home, ['notary', 'status', ...data()]);
    const bad = path.join(home, 'bad.jsonl');
    fs.writeFileSync(bad, '{"ok": 1}\n{"ok": 2}\n{"broken": \n');
    const fails = async (args: string[], code: string) => {
      const r = await cli(home, args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.equal(r.json?.error?.code, code, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      return r;
    };
    const r = await fails(['notary', 'submit', bad, ...data()], 'record_invalid');
    assert.match(r.json.error.message, /line 3/);
    await fails(['notary', 'keys', 'add', '--type', 'dsa', ...data()], 'unknown_key_type');
    const corrupt = path.join(home, 'corrupt.pem');
    fs.writeFileSync(corrupt, '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n');
    await fails(['notary', 'keys', 'import', corrupt, ...data()], 'pem_invalid');
    await fails(['notary', 'keys', 'retire', 'ffffffffffffffff', ...data()], 'key_not_found');
    await fails(['notary', 'verify', bad, '--json'], 'export_invalid');
    const afterStatus = await cliOk(home, ['notary', 'status', ...data()]);
    assert.equal(afterStatus.records, before.records);
    assert.deepEqual(afterStatus.keys, before.keys);
  });

  it('retires a key: no new leases, its old signatures still verify', async () => {
    const keys = await cliOk(home, ['notary', 'keys', 'list', ...data()]);
    const rsa = keys.find((k: any) => k.type === 'rsa2048');
    await cliOk(home, ['notary', 'keys', 'retire', rsa.kid, ...data()]);
    const again = await cli(home, ['notary', 'keys', 'retire', rsa.kid, ...data()]);
    assert.equal(again.json.error.code, 'key_retired');
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const posted = await httpPost(`${node.internal}/v1/notary/batches`, { records: [{ after: 'retire', i }] });
      ids.push(posted.body.first_record);
      await waitAnchored(posted.body.batch);
    }
    for (const id of ids) assert.notEqual((await getOk(`${node.http}/v1/notary/records/${id}`)).kid, rsa.kid);
    const out = path.join(home, 'all.jsonl');
    await cliOk(home, ['notary', 'export', '--out', out, ...data()]);
    const v = await cliOk(home, ['notary', 'verify', out, '--json']);
    assert.equal(v.ok, true);
    // At least the 7 of the tests before; the proof and dedupe tests add their own.
    assert.ok(v.records >= 7);
    assert.equal(v.verified, v.records);
  });

  it('/health: notary.signing fails while records wait and no key is active (the node stays ready); notary.anchoring is ok once anchored', async () => {
    for (const k of await cliOk(home, ['notary', 'keys', 'list', ...data()])) {
      if (k.status === 'active') await cliOk(home, ['notary', 'keys', 'retire', k.kid, ...data()]);
    }
    const posted = await httpPost(`${node.internal}/v1/notary/batches`, { records: [{ waits: 'for a key' }] });
    assert.equal(posted.status, 202, posted.text);
    const failing = await httpGet(`${node.internal}/health`);
    assert.equal(failing.status, 503, failing.text);
    assert.equal(failing.body.ready, true, 'a module service does not take the node out of rotation');
    assert.equal(failing.body.components['notary.signing'].ok, false);
    assert.match(failing.body.components['notary.signing'].reason, /no active key/);
    assert.deepEqual(failing.body.components['notary.anchoring'], { ok: true });
    assert.equal((await httpGet(`${node.internal}/health/ready`)).status, 200);

    await cliOk(home, ['notary', 'keys', 'add', '--type', 'ed25519', '--count', '1', ...data()]);
    await waitAnchored(posted.body.batch);
    const ok = await getOk(`${node.internal}/health`);
    assert.deepEqual(ok.components['notary.signing'], { ok: true });
    assert.deepEqual(ok.components['notary.anchoring'], { ok: true });
  });
});

/** Some other node's key (base64url Ed25519 public key). */
function fromB64uToKey(): string {
  const der = crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - 32)).toString('base64url');
}
