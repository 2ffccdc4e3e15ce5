// Export and offline verification. The export is JSON lines: the public keys, then each
// signed batch followed by its records. `verify` needs nothing but that file (or public
// keys obtained separately): it checks every signature and recomputes every batch root.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import readline from 'node:readline';
import { fail } from '../../core/errors.js';
import { toB64u } from '../../core/encoding.js';
import { merkleRoot } from '../../core/merkle.js';
import { canonicalJson } from '../../core/canonical.js';
import type { Algorithm } from './keys.js';
import { recordLeafHash } from './records.js';
import type { VerifyItem, VerifyRequest } from './verify-thread.js';
import { publicKeyView } from './routes.js';
import type { NotaryBackend } from './backend.js';

export const EXPORT_FORMAT = 'tally-notary-export/v1';

/** From either backend (the node's SQLite file or PostgreSQL): the same file. */
export async function exportTo(store: Pick<NotaryBackend, 'keys' | 'signedBatches' | 'signedRange'>, outPath: string, onProgress?: (records: number) => void): Promise<{ records: number; batches: number; keys: number }> {
  const fd = fs.openSync(outPath, 'w', 0o644);
  let records = 0;
  let batches = 0;
  try {
    const lines: string[] = [];
    const flush = () => {
      if (lines.length) fs.writeSync(fd, lines.join(''));
      lines.length = 0;
    };
    lines.push(JSON.stringify({ kind: 'header', format: EXPORT_FORMAT, exported_at: new Date().toISOString() }) + '\n');
    const keys = await store.keys();
    for (const k of keys) lines.push(JSON.stringify({ kind: 'key', ...publicKeyView(k) }) + '\n');
    let after = 0;
    while (true) {
      const page = await store.signedBatches(after, 50);
      if (page.length === 0) break;
      for (const b of page) {
        after = b.id;
        batches++;
        lines.push(JSON.stringify({ kind: 'batch', batch: b.id, first: b.first_record, count: b.record_count, root: b.root, anchor_tx: b.anchor_tx, anchor_height: b.anchor_height }) + '\n');
        for (const r of await store.signedRange(b.first_record, b.first_record + b.record_count - 1)) {
          lines.push(`{"kind":"record","id":${r.id},"batch":${r.batch_id},"kid":"${r.kid}","alg":"${r.alg}","sig":"${toB64u(r.sig)}","signed_at":${r.signed_at},"record":${r.record}}\n`);
          records++;
        }
        flush();
        onProgress?.(records);
      }
    }
    flush();
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { records, batches, keys: (await store.keys()).length };
}

export interface VerifyReport {
  ok: boolean;
  records: number;
  verified: number;
  bad_signatures: Array<{ id: number; reason: string }>;
  batches: number;
  roots_ok: number;
  bad_roots: Array<{ batch: number; reason: string }>;
  keys: number;
  threads: number;
}

interface PublicKeyEntry {
  kid: string;
  alg: Algorithm;
  public_pem: string;
}

function checkKey(e: PublicKeyEntry): { kid: string; alg: Algorithm; pem: string } {
  if (typeof e.kid !== 'string' || typeof e.public_pem !== 'string' || (e.alg !== 'ed25519' && e.alg !== 'rsa-pss-sha256')) fail('export_invalid', 'a key entry needs kid, alg and public_pem');
  try {
    crypto.createPublicKey(e.public_pem);
  } catch {
    fail('pem_invalid', `public key ${e.kid} is not a valid PEM public key`);
  }
  return { kid: e.kid, alg: e.alg, pem: e.public_pem };
}

/** Signature checks spread over threads (one per core); leaves and roots stay in order here. */
class VerifyPool {
  private readonly workers: Worker[];
  private next = 0;
  private readonly inflight = new Set<Promise<void>>();
  readonly bad: Array<{ id: number; reason: string }> = [];
  verified = 0;

  constructor(threads: number) {
    this.workers = Array.from({ length: threads }, () => new Worker(new URL('./verify-thread.js', import.meta.url)));
  }

  get size(): number {
    return this.workers.length;
  }

  private call(w: Worker, req: VerifyRequest): Promise<Array<{ id: number; reason: string }>> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      w.once('error', onError);
      w.once('message', (m: Array<{ id: number; reason: string }>) => {
        w.off('error', onError);
        resolve(m);
      });
      w.postMessage(req);
    });
  }

  async setKeys(keys: Array<{ kid: string; alg: Algorithm; pem: string }>): Promise<void> {
    await Promise.all(this.workers.map((w) => this.call(w, { kind: 'keys', keys })));
  }

  /** Queue a group; waits while every thread already has work, so memory stays bounded. */
  async submit(items: VerifyItem[]): Promise<void> {
    // A thread answers in order, so one outstanding group per thread keeps calls simple.
    while (this.inflight.size >= this.workers.length) await Promise.race(this.inflight);
    const w = this.workers[this.next++ % this.workers.length]!;
    const busy = this.busy.get(w) ?? Promise.resolve();
    const p: Promise<void> = busy.then(() => this.call(w, { kind: 'verify', items })).then((bad) => {
      this.bad.push(...bad);
      this.verified += items.length - bad.length;
    }).finally(() => this.inflight.delete(p));
    this.busy.set(w, p.catch(() => undefined));
    this.inflight.add(p);
  }

  private readonly busy = new Map<Worker, Promise<void>>();

  async close(): Promise<void> {
    await Promise.all(this.inflight);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Verify an export offline. keysPath: public keys exported separately (else the file's own). */
export async function verifyExport(path: string, keysPath?: string, onProgress?: (records: number) => void, threads = os.availableParallelism()): Promise<VerifyReport> {
  const keys = new Map<string, { kid: string; alg: Algorithm; pem: string }>();
  if (keysPath) {
    let list: PublicKeyEntry[];
    try {
      list = JSON.parse(fs.readFileSync(keysPath, 'utf8')) as PublicKeyEntry[];
    } catch (err) {
      fail('export_invalid', `cannot read public keys from ${keysPath}: ${(err as Error).message}`);
    }
    if (!Array.isArray(list)) fail('export_invalid', `${keysPath} must hold a JSON array of keys (tally notary keys export)`);
    for (const e of list) keys.set(String(e.kid), checkKey(e));
  }
  let stream: fs.ReadStream;
  try {
    fs.accessSync(path, fs.constants.R_OK);
    stream = fs.createReadStream(path, 'utf8');
  } catch {
    fail('file_unreadable', `cannot read ${path}`);
  }
  const pool = new VerifyPool(Math.max(1, threads));
  const report: VerifyReport = { ok: false, records: 0, verified: 0, bad_signatures: [], batches: 0, roots_ok: 0, bad_roots: [], keys: 0, threads: pool.size };
  let keysSent = false;
  let current: { batch: number; count: number; root: string; leaves: Uint8Array[]; items: VerifyItem[] } | undefined;
  const closeBatch = async () => {
    if (!current) return;
    const c = current;
    current = undefined;
    if (c.leaves.length !== c.count) report.bad_roots.push({ batch: c.batch, reason: `has ${c.leaves.length} records, expected ${c.count}` });
    else if (merkleRoot(c.leaves) !== c.root) report.bad_roots.push({ batch: c.batch, reason: 'recomputed root differs' });
    else report.roots_ok++;
    if (c.items.length) await pool.submit(c.items);
  };
  try {
    let lineNo = 0;
    let sawHeader = false;
    for await (const line of readline.createInterface({ input: stream, crlfDelay: Infinity })) {
      lineNo++;
      if (line.trim() === '') continue;
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line) as Record<string, unknown>;
      } catch {
        fail('export_invalid', `line ${lineNo}: not JSON`);
      }
      if (o.kind === 'header') {
        if (o.format !== EXPORT_FORMAT) fail('export_invalid', `line ${lineNo}: unknown format ${String(o.format).slice(0, 64)}`);
        sawHeader = true;
      } else if (!sawHeader) {
        fail('export_invalid', 'not a notary export (no header line)');
      } else if (o.kind === 'key') {
        if (!keysPath) keys.set(String(o.kid), checkKey(o as unknown as PublicKeyEntry));
      } else if (o.kind === 'batch') {
        await closeBatch();
        report.batches++;
        current = { batch: Number(o.batch), count: Number(o.count), root: String(o.root), leaves: [], items: [] };
      } else if (o.kind === 'record') {
        if (!keysSent) {
          await pool.setKeys([...keys.values()]);
          keysSent = true;
        }
        report.records++;
        const item: VerifyItem = { id: Number(o.id), batch: Number(o.batch), kid: String(o.kid), alg: String(o.alg), sig: String(o.sig), record: '' };
        try {
          item.record = canonicalJson(o.record);
        } catch {
          report.bad_roots.push({ batch: item.batch, reason: `record ${item.id} cannot be canonicalized` });
          continue;
        }
        if (current && item.batch === current.batch) {
          current.leaves.push(recordLeafHash(item));
          current.items.push(item);
        } else {
          report.bad_roots.push({ batch: item.batch, reason: `record ${item.id} is outside its batch section` });
        }
        if (report.records % 10_000 === 0) onProgress?.(report.records);
      } else {
        fail('export_invalid', `line ${lineNo}: unknown kind ${String(o.kind).slice(0, 32)}`);
      }
    }
    await closeBatch();
  } finally {
    await pool.close();
  }
  report.keys = keys.size;
  report.verified = pool.verified;
  report.bad_signatures = pool.bad.sort((a, b) => a.id - b.id).slice(0, 100);
  report.bad_roots = report.bad_roots.slice(0, 100);
  report.ok = report.records > 0 && report.verified === report.records && report.bad_roots.length === 0;
  return report;
}
