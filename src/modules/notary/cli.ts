// `tally notary ...`: the operator's commands. They open the node's encrypted database
// directly (--data; the key is read from <data>/db.key), so they work with the node up or
// down; SQLite WAL lets them, the node and worker processes share the file. They never
// take node.lock: that belongs to the one process that makes blocks.
import fs from 'node:fs';
import os from 'node:os';
import type { Command } from 'commander';
import type { CliContext } from '../../chain/app-module.js';
import { fail } from '../../core/errors.js';
import { intFlag } from '../../core/decode.js';
import { SqliteStore } from '../../store/sqlite.js';
import { dataPaths } from '../../chain/datadir.js';
import { NotaryEngine } from './engine.js';
import { exportTo, verifyExport } from './export.js';
import { generateKey, importPem, parseKeyType } from './keys.js';
import { notaryDefaults, notaryLimits } from './limits.js';
import { recordProof } from './proof.js';
import { bundleOf, buildProofBundle, verifyProofBundle, type ProofBundle } from './proof-bundle.js';
import { ChainReads } from '../../chain/reads.js';
import { parseJsonLines } from './records.js';
import { publicKeyView } from './routes.js';
import { notaryMigrations } from './schema.js';
import { NotaryStore } from './store.js';
import { SqliteNotaryBackend, type NotaryBackend } from './backend.js';
import { openPgNotary, type PgNotarySource } from './pg-open.js';
import { createKek } from './kek.js';
import type { PgNotaryStore } from './pg-store.js';

/** Records per write transaction of `notary submit` (~0.1 s of the write lock). */
const SUBMIT_TX_RECORDS = 10_000;
/** Worker leases: shorter thrashes the lease table, longer keeps a killed worker's keys idle. */
const LEASE_MS_MIN = 100;
const LEASE_MS_MAX = 600_000;

interface DataOptions {
  data?: string;
  json?: boolean;
  store?: string;
  pgUrlFile?: string;
  kekFile?: string;
}

/** --data, TALLY_DATA or the default data directory (the CLI context knows which). */
let dataDirOf: (o: DataOptions) => string = () => { throw new Error('notaryCli() not registered'); };

export function openNotary(dataDir: string): { store: NotaryStore; sqlite: SqliteStore } {
  const paths = dataPaths(dataDir);
  const sqlite = SqliteStore.open({ dbPath: paths.db, keyPath: paths.dbKey });
  sqlite.migrate('notary', notaryMigrations);
  return { store: new NotaryStore(sqlite.db), sqlite };
}

function writeFileOrFail(file: string, text: string): void {
  try {
    fs.writeFileSync(file, text);
  } catch (err) {
    fail('file_unwritable', `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function readJsonOrFail(file: string, code: string, lenient = false): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    fail('file_unreadable', `cannot read ${file}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    if (lenient) return undefined;
    fail(code, `${file} is not JSON`);
  }
}

/** Progress lines every this many milliseconds at most, plus the first. */
const PROGRESS_INTERVAL_MS = 1000;

/**
 * Progress of a long command on stderr, one line each time (no carriage returns: the
 * lines stay readable in logs and journald), at most once a second; none under --json.
 */
function progressLines(o: { json?: boolean }, verb: string, unit: string): (done: number, total?: number) => void {
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (o.json || now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    process.stderr.write(`${verb} ${done}${total === undefined ? '' : ` of ${total}`} ${unit}\n`);
  };
}

async function withStore<T>(o: DataOptions, fn: (store: NotaryStore) => T | Promise<T>): Promise<T> {
  const { store, sqlite } = openNotary(dataDirOf(o));
  try {
    return await fn(store);
  } finally {
    sqlite.close();
  }
}

const dataOpt = (c: Command) => c.option('--data <dir>', 'node data directory (default: $TALLY_DATA or ~/.tally/node)').option('--json', 'print JSON for scripts');

/** The commands that work on either backend: the node's SQLite file, or PostgreSQL. */
const storeOpt = (c: Command) => dataOpt(c)
  .option('--store <backend>', 'sqlite (the node database under --data) | postgres (URL from --pg-url-file or $TALLY_PG_URL)', 'sqlite')
  .option('--pg-url-file <file>', 'with --store postgres: a file (mode 0600) holding the postgres:// URL (default: $TALLY_PG_URL)')
  .option('--kek-file <file>', 'with --store postgres: the key-encryption key file (mode 0600; default: $TALLY_NOTARY_KEK_FILE); needed to add keys and to sign');

function pgSource(o: DataOptions): PgNotarySource {
  const kekFile = o.kekFile ?? process.env.TALLY_NOTARY_KEK_FILE;
  return { ...(o.pgUrlFile ? { urlFile: o.pgUrlFile } : {}), ...(kekFile ? { kekFile } : {}) };
}

async function openBackend(o: DataOptions, log?: (line: string) => void): Promise<NotaryBackend> {
  if (o.store === undefined || o.store === 'sqlite') {
    const { store, sqlite } = openNotary(dataDirOf(o));
    return new SqliteNotaryBackend(store, () => sqlite.close());
  }
  if (o.store !== 'postgres') fail('bad_flag', `--store must be sqlite or postgres, not "${o.store.slice(0, 32)}"`);
  return openPgNotary(pgSource(o), { ...(log ? { log } : {}) });
}

async function withBackend<T>(o: DataOptions, fn: (store: NotaryBackend) => Promise<T>): Promise<T> {
  const b = await openBackend(o);
  try {
    return await fn(b);
  } finally {
    await b.close();
  }
}

function keyLine(k: ReturnType<typeof publicKeyView>): string {
  return `${k.kid}  ${k.type.padEnd(7)}  ${k.status.padEnd(7)}  created ${k.created_at}${k.retired_at ? `  retired ${k.retired_at}` : ''}`;
}

export function notaryCli(program: Command, cli: CliContext): void {
  dataDirOf = (o) => cli.dataDir(o as Record<string, unknown>);
  const show = (o: { json?: boolean }, value: unknown, human: () => string) => cli.output(o as Record<string, unknown>, value, human);
  const notary = program.command('notary').description('exactly-once batch signing with a pool of keys (RSA-PSS, Ed25519), anchored on chain');
  const keys = notary.command('keys').description('the signing key pool');

  storeOpt(keys.command('add').description('generate signing keys into the pool')
    .requiredOption('--type <type>', 'rsa2048 | rsa3072 | ed25519')
    .option('--count <n>', `how many (1 to ${notaryLimits.keysAddMax})`, intFlag('--count', 1, notaryLimits.keysAddMax), 1))
    .action(async (o: DataOptions & { type: string; count: number }) => {
      const type = parseKeyType(o.type);
      const count = o.count;
      const added = await withBackend(o, async (s) => {
        const out = [];
        for (let i = 0; i < count; i++) out.push(publicKeyView(await s.addKey(generateKey(type))));
        return out;
      });
      show(o, added, () => added.map(keyLine).join('\n'));
    });

  storeOpt(keys.command('import').description('import a private key from PEM (PKCS#1 "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY", unencrypted)')
    .argument('<file>', 'PEM file'))
    .action(async (file: string, o: DataOptions) => {
      let pem: string;
      try {
        pem = fs.readFileSync(file, 'utf8');
      } catch {
        fail('file_unreadable', `cannot read ${file}`);
      }
      const material = importPem(pem);
      const k = await withBackend(o, async (s) => publicKeyView(await s.addKey(material)));
      show(o, k, () => `imported ${keyLine(k)}`);
    });

  storeOpt(keys.command('list').description('the keys of the pool with their status'))
    .action(async (o: DataOptions) => {
      const list = await withBackend(o, async (s) => (await s.keys()).map(publicKeyView).map(({ public_pem: _pem, ...rest }) => rest));
      show(o, list, () => (list.length ? list.map((k) => keyLine({ ...k, public_pem: '' })).join('\n') : 'no keys; add some with `tally notary keys add --type ed25519 --count 4`'));
    });

  storeOpt(keys.command('export').description('public keys (JSON array with PEM), for offline verification')
    .option('--out <file>', 'write to this file instead of stdout'))
    .action(async (o: DataOptions & { out?: string }) => {
      const list = await withBackend(o, async (s) => (await s.keys()).map(publicKeyView));
      const text = JSON.stringify(list, null, 2) + '\n';
      if (o.out) {
        fs.writeFileSync(o.out, text);
        show(o, { out: o.out, keys: list.length }, () => `wrote ${list.length} public keys to ${o.out}`);
      } else {
        process.stdout.write(text);
      }
    });

  storeOpt(keys.command('retire').description('retire a key: no new leases; its signatures stay verifiable').argument('<kid>', 'key id'))
    .action(async (kid: string, o: DataOptions) => {
      const k = await withBackend(o, async (s) => publicKeyView(await s.retireKey(kid)));
      show(o, k, () => `retired ${keyLine(k)}`);
    });

  storeOpt(notary.command('submit').description('submit records from a JSON-lines file (one JSON value per line); durable when this returns')
    .argument('<file>', "file, or '-' for stdin")
    .option('--batch-size <n>', `records per batch (each batch is signed and anchored as a unit, 1 to ${notaryLimits.batchRecordsMax})`, intFlag('--batch-size', 1, notaryLimits.batchRecordsMax), notaryLimits.batchRecordsMax))
    .action(async (file: string, o: DataOptions & { batchSize: number }) => {
      const size = o.batchSize;
      let text: string;
      try {
        text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
      } catch {
        fail('file_unreadable', `cannot read ${file}`);
      }
      const records = parseJsonLines(text);
      // Every line is checked before anything is written. Then the file is stored in
      // transactions of at most SUBMIT_TX_RECORDS records, so the node's own commits never
      // wait long for the write lock; each batch is durable as its transaction commits.
      const step = Math.max(size, Math.floor(SUBMIT_TX_RECORDS / size) * size);
      const batches = await withBackend(o, async (s) => {
        const out: ReturnType<NotaryStore['submit']> = [];
        const progress = progressLines(o, 'stored', 'records');
        for (let i = 0; i < records.length; i += step) {
          out.push(...await s.submit(records.slice(i, i + step), 'cli', size));
          if (records.length > step) progress(Math.min(i + step, records.length), records.length);
        }
        return out;
      });
      const fresh = batches.filter((b) => !b.duplicate);
      const duplicates = batches.length - fresh.length;
      const result = {
        records: records.length, batches: batches.length, new_batches: fresh.length, duplicate_batches: duplicates, duplicate: fresh.length === 0,
        first_batch: batches[0]!.batch, last_batch: batches.at(-1)!.batch, first_record: batches[0]!.first, last_record: batches.at(-1)!.first + batches.at(-1)!.count - 1,
      };
      show(o, result, () => (result.duplicate
        ? `already stored: all ${result.records} records are batches ${result.first_batch}..${result.last_batch} (duplicate; nothing new stored, nothing will be signed twice)`
        : `stored ${fresh.reduce((n, b) => n + b.count, 0)} records as ${fresh.length} new batches (${fresh[0]!.batch}..${fresh.at(-1)!.batch})` +
          (duplicates ? `; ${duplicates} batches were already stored (duplicate)` : '') + `, record ids ${result.first_record}..${result.last_record}`));
    });

  storeOpt(notary.command('status').description('records signed, batches pending/signed/anchored, keys, live leases')
    .option('--batch <id>', 'one batch instead', intFlag('--batch', 1, Number.MAX_SAFE_INTEGER)))
    .action(async (o: DataOptions & { batch?: number }) => {
      if (o.batch !== undefined) {
        const batch = o.batch;
        const b = await withBackend(o, (s) => s.batchStatus(batch));
        return show(o, b, () => Object.entries(b).map(([k, v]) => `${k.padEnd(13)}  ${v ?? '-'}`).join('\n'));
      }
      const st = await withBackend(o, (s) => s.status());
      show(o, st, () => [
        `records   ${st.signed} of ${st.records} signed`,
        `batches   ${st.batches.pending} pending, ${st.batches.signed} signed (awaiting anchor), ${st.batches.anchored} anchored`,
        `keys      ${st.keys.active} active, ${st.keys.retired} retired`,
        `leases    ${st.leases.length ? st.leases.map((l) => `${l.kid}->batch ${l.batch} (${l.holder}, token ${l.token})`).join(', ') : 'none'}`,
      ].join('\n'));
    });

  storeOpt(notary.command('export').description('write every signed batch and its records (record, signature, key id, algorithm) as JSON lines')
    .requiredOption('--out <file>', 'output file'))
    .action(async (o: DataOptions & { out: string }) => {
      const r = await withBackend(o, (s) => {
        const progress = progressLines(o, 'exported', 'records');
        return exportTo(s, o.out, (n) => progress(n));
      });
      show(o, { out: o.out, ...r }, () => `wrote ${r.records} records in ${r.batches} batches and ${r.keys} public keys to ${o.out}`);
    });

  notary.command('verify').description('verify an export offline: every signature, every batch root')
    .argument('<file>', 'a file written by `tally notary export`')
    .option('--keys <file>', 'public keys from `tally notary keys export` (default: the keys inside the export)')
    .option('--json', 'print JSON for scripts')
    .action(async (file: string, o: { keys?: string; json?: boolean }) => {
      const progress = progressLines(o, 'verified', 'records');
      const r = await verifyExport(file, o.keys, (n) => progress(n));
      show(o, r, () => `${r.ok ? 'OK' : 'FAILED'}: ${r.verified} of ${r.records} signatures verify, ${r.roots_ok} of ${r.batches} batch roots match` +
        (r.bad_signatures.length ? `\nbad signatures: ${r.bad_signatures.slice(0, 10).map((b) => `${b.id} (${b.reason})`).join(', ')}` : '') +
        (r.bad_roots.length ? `\nbad roots: ${r.bad_roots.slice(0, 10).map((b) => `${b.batch} (${b.reason})`).join(', ')}` : ''));
      if (!r.ok) process.exitCode = 1;
    });

  storeOpt(notary.command('proof').description('a record with its signature and the Merkle path to its anchored batch root; --out writes a self-contained proof bundle')
    .argument('<id>', 'record id', intFlag('record id', 1, Number.MAX_SAFE_INTEGER))
    .option('--out <file>', 'write the proof bundle (record, signature, key, Merkle path, anchor transaction, receipt proof, signed block) for `tally notary verify-proof`'))
    .action(async (id: number, o: DataOptions & { out?: string }) => {
      if (o.out) {
        const out = o.out;
        // On PostgreSQL the record comes from there; the anchor and its block from the node's chain (--data).
        const fromPg = o.store === 'postgres'
          ? await withBackend(o, async (s) => ({ found: await (s as PgNotaryStore).recordProof(id), keys: await s.keys() }))
          : undefined;
        const { store, sqlite } = openNotary(dataDirOf(o));
        let bundle: ProofBundle;
        try {
          bundle = fromPg ? bundleOf(fromPg.found, fromPg.keys, new ChainReads(sqlite), id) : buildProofBundle(store, new ChainReads(sqlite), id);
        } finally {
          sqlite.close();
        }
        writeFileOrFail(out, JSON.stringify(bundle, null, 2) + '\n');
        const r = { out, record: id, batch: bundle.record.batch, anchor_tx: bundle.anchor.receipt.id, height: bundle.anchor.block.header.height };
        return show(o, r, () => `wrote the proof of record ${id} (batch ${r.batch}, anchored in block ${r.height}) to ${out}\ncheck it offline: tally notary verify-proof ${out} --node-key ${bundle.anchor.block.header.proposer}`);
      }
      const p = o.store === 'postgres'
        ? await withBackend(o, async (s) => (await (s as PgNotaryStore).recordProof(id)) ?? fail('record_not_found', `no record ${id}`, { status: 404 }))
        : await withStore(o, (s) => recordProof(s, id) ?? fail('record_not_found', `no record ${id}`, { status: 404 }));
      show(o, p, () => JSON.stringify(p, null, 2));
    });

  notary.command('verify-proof').description('check a proof bundle offline (no node, no database): signature, Merkle path, anchor, block signed by the node key')
    .argument('<file>', 'a bundle written by `tally notary proof ID --out FILE`')
    .option('--node-key <key>', 'the node key you trust (base64url, as `tally status` shows it; default: $TALLY_NODE_KEY)')
    .option('--keys <file>', 'notary public keys from `tally notary keys export` (default: the key inside the bundle, bound to its id by hash)')
    .option('--json', 'print JSON for scripts')
    .action((file: string, o: { nodeKey?: string; keys?: string; json?: boolean }) => {
      const nodeKey = o.nodeKey ?? process.env.TALLY_NODE_KEY;
      if (!nodeKey) fail('bad_args', 'give the node key you trust: --node-key KEY (or $TALLY_NODE_KEY)', { hint: 'the node key is in `tally status` and in the node\'s listening line' });
      // Not JSON is answered like any other bad bundle: {ok: false, code: proof_invalid}.
      const bundle = readJsonOrFail(file, 'proof_invalid', true);
      const keys = o.keys ? readJsonOrFail(o.keys, 'export_invalid') : undefined;
      if (keys !== undefined && !Array.isArray(keys)) fail('export_invalid', `${o.keys} must hold a JSON array of keys (tally notary keys export)`);
      const r = verifyProofBundle(bundle, nodeKey, keys as Array<{ kid: string; public_pem: string }> | undefined);
      show(o, r, () => (r.ok
        ? `OK: record ${r.record} (batch ${r.batch}, key ${r.kid}) was signed no later than ${r.block_time}: block ${r.height}, signed by the node key, anchors its root (transaction ${r.anchor_tx})`
        : `FAILED (${r.code}): ${r.message}`));
      if (!r.ok) process.exitCode = 1;
    });

  notary.command('kek').description('the key-encryption key that seals private keys kept in PostgreSQL')
    .command('new').description('write a new random 32-byte KEK (hex) to a new file of mode 0600; copy it to the node and every worker')
    .requiredOption('--out <file>', 'the new file (never overwritten)')
    .option('--json', 'print JSON for scripts')
    .action((o: { out: string; json?: boolean }) => {
      if (fs.existsSync(o.out)) fail('file_exists', `${o.out} exists; a KEK is never overwritten (keys sealed with it would be lost)`, { status: 409 });
      createKek(o.out);
      show(o, { out: o.out }, () => `wrote a new key-encryption key to ${o.out} (mode 0600)`);
    });

  storeOpt(notary.command('worker').description('a signing worker process: against the node database (this machine), or with --store postgres from any machine (needs the URL and the KEK)')
    .option('--concurrency <n>', `keys this process holds at once, over one signing thread each but at most one per core (1 to ${notaryLimits.concurrencyMax}; default: one per core)`, intFlag('--concurrency', 1, notaryLimits.concurrencyMax), Math.min(os.availableParallelism(), notaryLimits.concurrencyMax))
    .option('--lease-ms <ms>', `lease duration; a killed worker's keys return to the pool after this (${LEASE_MS_MIN} to ${LEASE_MS_MAX})`, intFlag('--lease-ms', LEASE_MS_MIN, LEASE_MS_MAX), notaryDefaults.leaseMs)
    .option('--until-idle', 'exit when no batch is left unsigned'))
    .action(async (o: DataOptions & { concurrency: number; leaseMs: number; untilIdle?: boolean }) => {
      const { concurrency, leaseMs } = o;
      const log = (line: string) => process.stderr.write(line + '\n');
      // A worker signs: on PostgreSQL it cannot without the KEK, so it refuses to start rather than poll in vain.
      if (o.store === 'postgres' && !pgSource(o).kekFile) {
        fail('kek_missing', 'a worker on PostgreSQL needs the key-encryption key', { hint: 'give --kek-file FILE (or $TALLY_NOTARY_KEK_FILE), the same file the keys were added with' });
      }
      const backend = await openBackend(o, log);
      const engine = new NotaryEngine(backend, { concurrency, leaseMs, holder: `worker:${process.pid}`, untilIdle: o.untilIdle ?? false, log }).start();
      // Handlers before the first line: a SIGTERM sent on reading it must stop cleanly.
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        void engine.stop();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      if (!o.json) log(`notary worker ${process.pid}: ${concurrency} leases at once on ${Math.min(concurrency, os.availableParallelism())} signing threads, lease ${leaseMs} ms, store ${backend.kind}`);
      const started = Date.now();
      const progress = setInterval(() => { if (!o.json) log(`notary worker ${process.pid}: ${engine.signed} signed, ${engine.batches} batches completed`); }, 5000);
      progress.unref();
      await engine.done();
      await engine.stop();
      clearInterval(progress);
      await backend.close();
      const r = { signed: engine.signed, batches: engine.batches, leases_lost: engine.leasesLost, seconds: (Date.now() - started) / 1000 };
      show(o, r, () => `notary worker ${process.pid}: signed ${r.signed} records, completed ${r.batches} batches in ${r.seconds.toFixed(1)} s`);
    });
}
