// `tally keys backup|restore`: a user's whole keystore (account keys under keys/, oracle
// keys and their events' nonce files under oracle/) as one encrypted file. The files are
// already encrypted one by one; the backup seals them again under its own passphrase
// (scrypt, then AES-256-GCM, with the header bound in as additional data) so that names
// and public keys do not show either. Restore checks everything before writing anything:
// a checksum of the file (corruption), then decryption (wrong passphrase or tampering),
// then every entry's path and size, then conflicts (an existing file that differs is only
// replaced with --force). Positions, balances and history are on chain, not here.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../core/errors.js';
import { writeSecretFile } from '../store/keyfile.js';

export const BACKUP_FORMAT = 'tally-keystore-backup/v1';
/** Files a backup may carry, relative to the keystore directory. */
const ENTRY_PATH = /^(?:keys\/[a-z0-9][a-z0-9_-]{0,31}\.json|oracle\/[a-z0-9][a-z0-9_-]{0,31}\.json|oracle\/[a-z0-9][a-z0-9_-]{0,31}\.events\/[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\.json)$/;
const ENTRY_BYTES_MAX = 64 * 1024;
const ENTRIES_MAX = 10_000;
export const BACKUP_BYTES_MAX = 64 * 1024 * 1024;
const SCRYPT = { N: 131072, r: 8, p: 1 };

interface BackupFile {
  format: typeof BACKUP_FORMAT;
  created: string;
  entries: number;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: { name: 'aes-256-gcm'; iv: string; tag: string };
  ciphertext: string;
  /** SHA-256 of everything above, in this order: tells a damaged file from a wrong passphrase */
  sha256: string;
}

interface Entry { path: string; data: string }

function scryptN(): number {
  const env = Number(process.env.TALLY_SCRYPT_N);
  return Number.isInteger(env) && env >= 1024 && env <= 1 << 20 && (env & (env - 1)) === 0 ? env : SCRYPT.N;
}

const stretch = (passphrase: string, salt: Buffer, N: number, r: number, p: number): Buffer =>
  crypto.scryptSync(passphrase.normalize('NFC'), salt, 32, { N, r, p, maxmem: 128 * r * (N + p + 2) + 16 * 1024 * 1024 });

const aadOf = (f: Pick<BackupFile, 'format' | 'created' | 'entries'>): Buffer => Buffer.from(`${f.format}\n${f.created}\n${f.entries}\n`);

function checksum(f: Omit<BackupFile, 'sha256'>): string {
  return crypto.createHash('sha256').update(JSON.stringify([f.format, f.created, f.entries, f.kdf, f.cipher, f.ciphertext])).digest('hex');
}

/** The keystore's files, in path order (bounded in number and size). */
function collect(home: string): Entry[] {
  const out: Entry[] = [];
  const walk = (rel: string) => {
    const abs = path.join(home, rel);
    let names: string[];
    try {
      names = fs.readdirSync(abs).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of names) {
      const child = rel ? `${rel}/${name}` : name;
      const stat = fs.lstatSync(path.join(home, child));
      if (stat.isDirectory() && (child === 'keys' || child === 'oracle' || /^oracle\/[^/]+\.events$/.test(child))) walk(child);
      else if (stat.isFile() && ENTRY_PATH.test(child)) {
        if (stat.size > ENTRY_BYTES_MAX) fail('backup_invalid', `${child} is larger than ${ENTRY_BYTES_MAX} bytes: not a key file`);
        out.push({ path: child, data: fs.readFileSync(path.join(home, child)).toString('base64') });
        if (out.length > ENTRIES_MAX) fail('backup_invalid', `the keystore holds more than ${ENTRIES_MAX} files`);
      }
    }
  };
  walk('keys');
  walk('oracle');
  return out;
}

export function backupKeystore(home: string, out: string, passphrase: string, force: boolean): { file: string; entries: string[] } {
  const entries = collect(home);
  if (entries.length === 0) fail('backup_empty', `no keys in ${home}: nothing to back up`, { status: 404 });
  const N = scryptN();
  const salt = crypto.randomBytes(16);
  const iv = crypto.randomBytes(12);
  const key = stretch(passphrase, salt, N, SCRYPT.r, SCRYPT.p);
  const header = { format: BACKUP_FORMAT, created: new Date().toISOString(), entries: entries.length } as const;
  const c = crypto.createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aadOf(header));
  const ciphertext = Buffer.concat([c.update(JSON.stringify(entries)), c.final()]);
  key.fill(0);
  const body: Omit<BackupFile, 'sha256'> = {
    ...header, kdf: { name: 'scrypt', N, r: SCRYPT.r, p: SCRYPT.p, salt: salt.toString('base64url') },
    cipher: { name: 'aes-256-gcm', iv: iv.toString('base64url'), tag: c.getAuthTag().toString('base64url') }, ciphertext: ciphertext.toString('base64url'),
  };
  const text = JSON.stringify({ ...body, sha256: checksum(body) }, null, 1) + '\n';
  if (fs.existsSync(out)) {
    if (!force) fail('file_exists', `${out} exists; nothing was written`, { status: 409, hint: 'choose another --out, or pass --force to replace it' });
    const tmp = `${out}.${process.pid}.tmp`;
    fs.rmSync(tmp, { force: true });
    writeSecretFile(tmp, text);
    fs.renameSync(tmp, out);
  } else writeSecretFile(out, text);
  return { file: out, entries: entries.map((e) => e.path) };
}

function corrupt(file: string, why: string): never {
  fail('backup_corrupt', `${file} is not an intact keystore backup: ${why}; nothing was restored`, { status: 422 });
}

function readBackup(file: string): BackupFile {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    fail('file_unreadable', `cannot read ${file}`, { status: 404 });
  }
  if (!stat.isFile() || stat.size > BACKUP_BYTES_MAX) corrupt(file, `not a regular file of at most ${BACKUP_BYTES_MAX} bytes`);
  let f: BackupFile;
  try {
    f = JSON.parse(fs.readFileSync(file, 'utf8')) as BackupFile;
  } catch {
    corrupt(file, 'not JSON');
  }
  if (f?.format !== BACKUP_FORMAT) corrupt(file, `the format is not ${BACKUP_FORMAT}`);
  const k = f.kdf;
  if (k?.name !== 'scrypt' || !Number.isInteger(k.N) || k.N < 1024 || k.N > 1 << 20 || k.r !== SCRYPT.r || k.p !== SCRYPT.p || typeof k.salt !== 'string'
    || f.cipher?.name !== 'aes-256-gcm' || typeof f.cipher.iv !== 'string' || typeof f.cipher.tag !== 'string' || typeof f.ciphertext !== 'string'
    || !Number.isInteger(f.entries) || typeof f.created !== 'string') corrupt(file, 'a header field is missing or malformed');
  const { sha256, ...body } = f;
  if (sha256 !== checksum(body)) corrupt(file, 'its checksum does not match (damaged or edited)');
  return f;
}

/** What a backup would restore, and what it restored: new, identical (skipped), replaced. */
export interface RestoreReport { file: string; restored: string[]; unchanged: string[]; replaced: string[] }

export function restoreKeystore(home: string, file: string, passphrase: string, force: boolean): RestoreReport {
  const f = readBackup(file);
  const key = stretch(passphrase, Buffer.from(f.kdf.salt, 'base64url'), f.kdf.N, f.kdf.r, f.kdf.p);
  let plain: Buffer;
  try {
    const d = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(f.cipher.iv, 'base64url'));
    d.setAAD(aadOf(f));
    d.setAuthTag(Buffer.from(f.cipher.tag, 'base64url'));
    plain = Buffer.concat([d.update(Buffer.from(f.ciphertext, 'base64url')), d.final()]);
  } catch {
    fail('wrong_passphrase', `the passphrase does not decrypt ${file}; nothing was restored`, { status: 401, hint: 'use the passphrase given to `tally keys backup`' });
  } finally {
    key.fill(0);
  }
  const entries = JSON.parse(plain.toString('utf8')) as Entry[];
  if (!Array.isArray(entries) || entries.length !== f.entries || entries.length > ENTRIES_MAX) corrupt(file, 'the entry count does not match');
  const report: RestoreReport = { file, restored: [], unchanged: [], replaced: [] };
  const planned: Array<{ abs: string; bytes: Buffer; exists: boolean }> = [];
  const conflicts: string[] = [];
  for (const e of entries) {
    if (typeof e?.path !== 'string' || !ENTRY_PATH.test(e.path) || typeof e.data !== 'string') corrupt(file, 'an entry has an unexpected path');
    const bytes = Buffer.from(e.data, 'base64');
    if (bytes.length > ENTRY_BYTES_MAX) corrupt(file, `${e.path} is too large`);
    const abs = path.join(home, e.path);
    const exists = fs.existsSync(abs);
    if (exists && fs.readFileSync(abs).equals(bytes)) {
      report.unchanged.push(e.path);
      continue;
    }
    if (exists) conflicts.push(e.path);
    planned.push({ abs, bytes, exists });
    (exists ? report.replaced : report.restored).push(e.path);
  }
  if (conflicts.length > 0 && !force) {
    fail('backup_conflict', `${conflicts.length} file(s) in ${home} differ from the backup (${conflicts.slice(0, 5).join(', ')}${conflicts.length > 5 ? ', ...' : ''}); nothing was restored`, {
      status: 409, details: { conflicts }, hint: 'restore into another --home, or pass --force to replace them',
    });
  }
  for (const p of planned) {
    fs.mkdirSync(path.dirname(p.abs), { recursive: true, mode: 0o700 });
    if (!p.exists) {
      writeSecretFile(p.abs, p.bytes);
      continue;
    }
    const tmp = `${p.abs}.${process.pid}.tmp`;
    fs.rmSync(tmp, { force: true });
    writeSecretFile(tmp, p.bytes);
    fs.renameSync(tmp, p.abs);
  }
  return report;
}
