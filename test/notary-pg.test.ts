// The notary scaled out on PostgreSQL, end to end: a node whose config.json says
// "notary": {"store": "postgres"} (no KEK: it signs nothing itself) takes a batch over
// HTTP into PostgreSQL; a `tally notary worker --store postgres` process, given only the
// URL file and the KEK file as a worker on another machine would be, signs it; the node
// anchors the root on chain, and serves the batch, the record's proof and the keys from
// PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { cleanup, cli, cliOk, getOk, httpGet, httpPost, sleep, startNode, tempDir, withTimeout, type NodeProcess } from './helpers.js';
import { cleanupPg, freshPgSchema, pgMissing } from './pg.js';

const skip = await pgMissing();

describe('notary on PostgreSQL behind a running node', { skip, timeout: 120_000 }, () => {
  let node: NodeProcess;
  let home: string;
  let pgArgs: string[];

  before(async () => {
    home = tempDir();
    const schema = await freshPgSchema();
    const urlFile = path.join(home, 'pg.url');
    fs.writeFileSync(urlFile, schema.url + '\n', { mode: 0o600 });
    const kek = path.join(home, 'notary.kek');
    await cliOk(home, ['notary', 'kek', 'new', '--out', kek, '--json']);
    pgArgs = ['--store', 'postgres', '--pg-url-file', urlFile, '--kek-file', kek, '--json'];
    const config = path.join(home, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ notary: { store: 'postgres', urlFile } }));
    node = await startNode({ extraArgs: ['--config', config] });
  });
  after(async () => {
    await node?.stop();
    await cleanup();
    await cleanupPg();
  });

  it('takes a batch over HTTP, a worker process signs it, the node anchors it', async () => {
    assert.deepEqual(node.listening.services?.notary, { store: 'postgres' });
    const added = await cliOk(home, ['notary', 'keys', 'add', '--type', 'ed25519', '--count', '2', ...pgArgs]);
    assert.equal(added.length, 2);
    const records = [{ doc: 'deed', n: 1 }, { doc: 'deed', n: 2 }, 'three'];
    const posted = await httpPost(`${node.internal}/v1/notary/batches`, { records });
    assert.equal(posted.status, 202, posted.text);
    assert.equal(posted.body.state, 'pending');
    const again = await httpPost(`${node.internal}/v1/notary/batches`, { records });
    assert.equal(again.status, 200);
    assert.equal(again.body.duplicate, true);

    const worker = await cliOk(home, ['notary', 'worker', '--until-idle', '--concurrency', '1', ...pgArgs], 60_000);
    assert.equal(worker.signed, 3);
    const batch = await withTimeout((async () => {
      while (true) {
        const b = await getOk(`${node.http}/v1/notary/batches/${posted.body.batch}`);
        if (b.state === 'anchored') return b;
        await sleep(100);
      }
    })(), 30_000, 'the batch to be anchored by the node');
    assert.equal(batch.signed, 3);
    assert.match(batch.anchor_tx, /^[0-9a-f]{64}$/);
    const proof = await getOk(`${node.http}/v1/notary/records/${posted.body.first_record + 1}`);
    assert.equal(proof.root, batch.root);
    assert.equal(proof.anchor_tx, batch.anchor_tx);
    assert.deepEqual(proof.record, { doc: 'deed', n: 2 });
    const keys = await getOk(`${node.http}/v1/notary/keys`);
    assert.deepEqual(keys.map((k: any) => k.kid).sort(), added.map((k: any) => k.kid).sort());
    const st = await cliOk(home, ['notary', 'status', ...pgArgs]);
    assert.equal(st.batches.anchored, 1);
    // Export from PostgreSQL, verify offline: the same file format as from SQLite.
    const out = path.join(home, 'export.jsonl');
    const exported = await cliOk(home, ['notary', 'export', '--out', out, ...pgArgs]);
    assert.deepEqual([exported.records, exported.batches, exported.keys], [3, 1, 2]);
    const verified = await cliOk(home, ['notary', 'verify', out, '--json']);
    assert.equal(verified.ok, true);
    assert.equal(verified.verified, 3);
    assert.equal(verified.roots_ok, 1);
    // A proof bundle: the record from PostgreSQL, the anchor from the node's chain; checked offline.
    const bundle = path.join(home, 'proof.json');
    await cliOk(home, ['notary', 'proof', String(posted.body.first_record + 1), '--out', bundle, '--data', node.dataDir, ...pgArgs]);
    const checked = await cliOk(home, ['notary', 'verify-proof', bundle, '--node-key', node.nodeKey, '--json']);
    assert.equal(checked.ok, true, JSON.stringify(checked));
    assert.equal(checked.anchor_tx, batch.anchor_tx);
    // Metrics count the work in PostgreSQL (the worker's), not the node's empty SQLite tables.
    const metrics = await httpGet(`${node.internal}/metrics`);
    assert.match(metrics.text, /^tally_notary_records_signed_total 3$/m);
    assert.match(metrics.text, /^tally_notary_anchors_total 1$/m);
    assert.match(metrics.text, /^tally_notary_keys\{status="active"\} 2$/m);
    // The node's own SQLite notary tables stay empty: nothing went around PostgreSQL.
    const local = await cliOk(home, ['notary', 'status', '--data', node.dataDir, '--json']);
    assert.equal(local.records, 0);
  });
  it('refuses what it cannot work with, with a code', async () => {
    const urlFile = pgArgs[pgArgs.indexOf('--pg-url-file') + 1]!;
    const code = async (args: string[]) => (await cli(home, [...args, '--json'])).json?.error?.code;
    assert.equal(await code(['notary', 'worker', '--store', 'postgres', '--pg-url-file', urlFile]), 'kek_missing');
    assert.equal(await code(['notary', 'status', '--store', 'mysql']), 'bad_flag');
    assert.equal(await code(['notary', 'status', '--store', 'postgres', '--pg-url-file', path.join(home, 'none')]), 'pg_url_missing');
    const open = path.join(home, 'open.url');
    fs.writeFileSync(open, fs.readFileSync(urlFile));
    fs.chmodSync(open, 0o644);
    assert.equal(await code(['notary', 'status', '--store', 'postgres', '--pg-url-file', open]), 'key_file_permissions');
    const down = path.join(home, 'down.url');
    fs.writeFileSync(down, 'postgres://u:secret@127.0.0.1:1/none\n', { mode: 0o600 });
    const r = await cli(home, ['notary', 'status', '--store', 'postgres', '--pg-url-file', down, '--json'], 60_000);
    assert.equal(r.json?.error?.code, 'pg_unreachable');
    assert.ok(!r.stdout.includes('secret') && !r.stderr.includes('secret'), 'the password is never shown');
    const kek = path.join(home, 'notary.kek');
    assert.equal(await code(['notary', 'kek', 'new', '--out', kek]), 'file_exists');
  });
});

describe('a node with the KEK signs from PostgreSQL in its own threads', { skip, timeout: 120_000 }, () => {
  let node: NodeProcess;
  after(async () => {
    await node?.stop();
    await cleanup();
    await cleanupPg();
  });

  it('signs and anchors with no worker process', async () => {
    const home = tempDir();
    const schema = await freshPgSchema();
    // Relative paths in the notary section are under the data directory.
    const dataDir = path.join(home, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'pg.url'), schema.url + '\n', { mode: 0o600 });
    await cliOk(home, ['notary', 'kek', 'new', '--out', path.join(dataDir, 'notary.kek'), '--json']);
    const config = path.join(home, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ notary: { store: 'postgres', urlFile: 'pg.url', kekFile: 'notary.kek' } }));
    node = await startNode({ dataDir, extraArgs: ['--config', config] });
    await cliOk(home, ['notary', 'keys', 'add', '--type', 'rsa2048', '--store', 'postgres', '--pg-url-file', path.join(dataDir, 'pg.url'), '--kek-file', path.join(dataDir, 'notary.kek'), '--json']);
    const posted = await httpPost(`${node.internal}/v1/notary/batches`, { records: ['one', 'two'] });
    assert.equal(posted.status, 202, posted.text);
    const batch = await withTimeout((async () => {
      while (true) {
        const b = await getOk(`${node.http}/v1/notary/batches/${posted.body.batch}`);
        if (b.state === 'anchored') return b;
        await sleep(100);
      }
    })(), 30_000, 'the node to sign and anchor the batch');
    assert.equal(batch.signed, 2);
  });
});

describe('a node whose PostgreSQL does not answer', { timeout: 120_000 }, () => {
  let node: NodeProcess;
  after(async () => {
    await node?.stop();
    await cleanup();
  });

  it('runs the chain, answers the notary routes with pg_unreachable, and warns on /health', async () => {
    const home = tempDir();
    const urlFile = path.join(home, 'pg.url');
    fs.writeFileSync(urlFile, 'postgres://tally:secret@127.0.0.1:1/none\n', { mode: 0o600 });
    const config = path.join(home, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ notary: { store: 'postgres', urlFile } }));
    node = await startNode({ extraArgs: ['--config', config] });
    const posted = await httpPost(`${node.internal}/v1/notary/batches`, { records: ['x'] });
    assert.equal(posted.status, 503);
    assert.equal(posted.body.error.code, 'pg_unreachable');
    const health = await withTimeout((async () => {
      while (true) {
        const h = await httpGet(`${node.internal}/health`);
        if (h.body.warnings?.length) return h;
        await sleep(200);
      }
    })(), 30_000, '/health to warn about the notary store');
    assert.equal(health.status, 200, 'the node stays healthy: only the notary waits');
    assert.ok(!health.text.includes('secret'), 'the password is not shown');
    assert.equal((await getOk(`${node.http}/v1/node`)).chain !== undefined, true);
    assert.equal((await httpGet(`${node.internal}/metrics`)).status, 200, 'a scrape still answers');
  });
});
