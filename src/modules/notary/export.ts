// Export and offline verification. The export is JSON lines: the public keys, then each
// signed batch followed by its records. `verify` needs nothing but that file (or public
// keys obtained separately): it checks every signature and recomputes every batch root.
import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import readline from 'node:readline';
import { fail } from '../../core/errors.js';
import { fromB64u, toB64u } from '../../core/encoding.js';
import { merkleRoot } from '../../core/merkle.js';
import { canonicalJson } from '../../core/canonical.js';
import { verifyWith, type Algorithm } from './keys.js';
import { recordLeafHash, signedMessage } from './records.js';
import { publicKeyView } from './routes.js';
import type { NotaryStore } from './store.js';

export const EXPORT_FORMAT = 'tally-notary-export/v1';

export function exportTo(store: NotaryStore, outPath: string, onProgress?: (records: number) => void): { records: number; batches: number; keys: number } {
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
    const keys = store.keys();
    for (const k of keys) lines.push(JSON.stringify({ kind: 'key', ...publicKeyView(k) }) + '\n');
    let after = 0;
    while (true) {
      const page = store.signedBatches(after, 50);
      if (page.length === 0) break;
      for (const b of page) {
        after = b.id;
        batches++;
        lines.push(JSON.stringify({ kind: 'batch', batch: b.id, first: b.first_record, count: b.record_count, root: b.root, anchor_tx: b.anchor_tx, anchor_height: b.anchor_height }) + '\n');
        for (const r of store.signedRange(b.first_record, b.first_record + b.record_count - 1)) {
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
  return { records, batches, keys: store.keys().length };
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
}

interface PublicKeyEntry {
  kid: string;
  alg: Algorithm;
  public_pem: string;
}

function loadKeys(entries: PublicKeyEntry[], into: Map<string, { alg: Algorithm; key: KeyObject }>): void {
  for (const e of entries) {
    if (typeof e.kid !== 'string' || typeof e.public_pem !== 'string' || (e.alg !== 'ed25519' && e.alg !== 'rsa-pss-sha256')) fail('export_invalid', 'a key entry needs kid, alg and public_pem');
    let key: KeyObject;
    try {
      key = crypto.createPublicKey(e.public_pem);
    } catch {
      fail('pem_invalid', `public key ${e.kid} is not a valid PEM public key`);
    }
    into.set(e.kid, { alg: e.alg, key });
  }
}

/** Verify an export offline. keysPath: public keys exported separately (else the file's own). */
export async function verifyExport(path: string, keysPath?: string, onProgress?: (records: number) => void): Promise<VerifyReport> {
  const keys = new Map<string, { alg: Algorithm; key: KeyObject }>();
  if (keysPath) {
    let list: PublicKeyEntry[];
    try {
      list = JSON.parse(fs.readFileSync(keysPath, 'utf8')) as PublicKeyEntry[];
    } catch (err) {
      fail('export_invalid', `cannot read public keys from ${keysPath}: ${(err as Error).message}`);
    }
    if (!Array.isArray(list)) fail('export_invalid', `${keysPath} must hold a JSON array of keys (tally notary keys export)`);
    loadKeys(list, keys);
  }
  const report: VerifyReport = { ok: false, records: 0, verified: 0, bad_signatures: [], batches: 0, roots_ok: 0, bad_roots: [], keys: 0 };
  let current: { batch: number; first: number; count: number; root: string; leaves: Uint8Array[] } | undefined;
  const closeBatch = () => {
    if (!current) return;
    const c = current;
    current = undefined;
    if (c.leaves.length !== c.count) report.bad_roots.push({ batch: c.batch, reason: `has ${c.leaves.length} records, expected ${c.count}` });
    else if (merkleRoot(c.leaves) !== c.root) report.bad_roots.push({ batch: c.batch, reason: 'recomputed root differs' });
    else report.roots_ok++;
  };
  let stream: fs.ReadStream;
  try {
    fs.accessSync(path, fs.constants.R_OK);
    stream = fs.createReadStream(path, 'utf8');
  } catch {
    fail('file_unreadable', `cannot read ${path}`);
  }
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
      if (o.format !== EXPORT_FORMAT) fail('export_invalid', `line ${lineNo}: unknown format ${String(o.format)}`);
      sawHeader = true;
    } else if (!sawHeader) {
      fail('export_invalid', 'not a notary export (no header line)');
    } else if (o.kind === 'key') {
      if (!keysPath) loadKeys([o as unknown as PublicKeyEntry], keys);
    } else if (o.kind === 'batch') {
      closeBatch();
      report.batches++;
      current = { batch: Number(o.batch), first: Number(o.first), count: Number(o.count), root: String(o.root), leaves: [] };
    } else if (o.kind === 'record') {
      report.records++;
      const id = Number(o.id);
      const batch = Number(o.batch);
      const kid = String(o.kid);
      const alg = String(o.alg);
      const sig = String(o.sig);
      let recordJson: string;
      try {
        recordJson = canonicalJson(o.record);
      } catch {
        report.bad_signatures.push({ id, reason: 'record cannot be canonicalized' });
        continue;
      }
      const k = keys.get(kid);
      let ok = false;
      let reason = 'signature does not verify';
      if (!k) reason = `unknown key ${kid}`;
      else if (k.alg !== alg) reason = `key ${kid} is ${k.alg}, record says ${alg}`;
      else {
        try {
          ok = verifyWith(k.alg, k.key, signedMessage(batch, id, recordJson), fromB64u(sig, 'signature'));
        } catch {
          reason = 'signature is not base64url';
        }
      }
      if (ok) report.verified++;
      else report.bad_signatures.push({ id, reason });
      if (current && batch === current.batch) current.leaves.push(recordLeafHash({ id, batch, kid, alg, sig, record: recordJson }));
      else report.bad_roots.push({ batch, reason: `record ${id} is outside its batch section` });
      if (report.records % 10_000 === 0) onProgress?.(report.records);
    } else {
      fail('export_invalid', `line ${lineNo}: unknown kind ${String(o.kind).slice(0, 32)}`);
    }
  }
  closeBatch();
  report.keys = keys.size;
  report.bad_signatures = report.bad_signatures.slice(0, 100);
  report.bad_roots = report.bad_roots.slice(0, 100);
  report.ok = report.records > 0 && report.verified === report.records && report.bad_roots.length === 0;
  return report;
}
