// The encrypted backup archive (`tally backup --with-keys`): a database snapshot and the
// node's key files in ONE file, sealed under a passphrase. Format v1 (see the README,
// "Backup archive format"):
//
//   header (51 bytes, plaintext, bound into every chunk as AAD):
//     "TALLYBAK" | version u8 = 1 | scrypt log2(N) u8 | r u8 | p u8 | salt (16) | nonce prefix (7)
//     | key check (16) = HMAC-SHA256(key, "tally/backup/v1 key check")[0..16]
//   then chunks of AES-256-GCM, 64 KiB of plaintext each (the last one shorter or equal):
//     ciphertext | tag (16); nonce = prefix (7) | chunk counter u32 BE | last flag u8
//   key = scrypt(passphrase NFC, salt, 32 bytes); the key check tells a wrong passphrase
//   from a damaged file (the first chunk's tag alone cannot)
//   plaintext = manifest length u32 BE | manifest JSON | each file's bytes, in manifest order
//
// Chunks (as in age's STREAM construction) mean every byte is authenticated before it is
// used, and the counter and last flag make a reordered, cut or extended file fail.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { assert, fail } from '../core/errors.js';

export const ARCHIVE_MAGIC = Buffer.from('TALLYBAK', 'latin1');
const VERSION = 1;
const HEADER_BYTES = 51;
const CHUNK_BYTES = 64 * 1024;
const TAG_BYTES = 16;
const MANIFEST_BYTES_MAX = 64 * 1024;
const SCRYPT_LOG2N_DEFAULT = 17; // 2^17: ~0.3 s and 128 MiB, as the keystore
const SCRYPT_LOG2N_MIN = 10;
const SCRYPT_LOG2N_MAX = 20; // a hostile header cannot make us allocate gigabytes
const SCRYPT_R = 8;
const SCRYPT_P = 1;

/** The files an archive may hold: names become paths, so only these (no traversal). */
export const ARCHIVE_FILES = ['tally.db', 'db.key', 'node.key', 'tickets.key', 'genesis.json', 'config.json'] as const;
export type ArchiveFileName = (typeof ARCHIVE_FILES)[number];

export interface ManifestFile {
  name: ArchiveFileName;
  mode: number;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: 'tally-backup';
  version: 1;
  created: string;
  chain: string;
  height: number;
  tipHash: string;
  files: ManifestFile[];
}

export interface ArchiveInput {
  name: ArchiveFileName;
  path: string;
  mode: number;
}

export type Progress = (doneBytes: number, totalBytes: number) => void;

/** TALLY_SCRYPT_N (a power of two) exists to make tests fast, as in the keystore. */
function scryptLog2N(): number {
  const env = process.env.TALLY_SCRYPT_N;
  if (env === undefined || env === '') return SCRYPT_LOG2N_DEFAULT;
  const log2 = Math.log2(Number(env));
  if (!/^\d+$/.test(env) || !Number.isInteger(log2) || log2 < SCRYPT_LOG2N_MIN || log2 > SCRYPT_LOG2N_MAX) {
    fail('config_invalid', `TALLY_SCRYPT_N=${env} is not a power of two from 2^${SCRYPT_LOG2N_MIN} to 2^${SCRYPT_LOG2N_MAX}`, {
      hint: 'TALLY_SCRYPT_N exists to speed up tests; unset it for real backups',
    });
  }
  return log2;
}

function deriveKey(passphrase: string, salt: Buffer, log2N: number, r: number, p: number): Buffer {
  const N = 2 ** log2N;
  return crypto.scryptSync(passphrase.normalize('NFC'), salt, 32, { N, r, p, maxmem: 128 * r * (N + p + 2) + 16 * 1024 * 1024 });
}

function keyCheck(key: Buffer): Buffer {
  return crypto.createHmac('sha256', key).update('tally/backup/v1 key check').digest().subarray(0, 16);
}

function nonce(prefix: Buffer, counter: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  prefix.copy(n, 0);
  n.writeUInt32BE(counter, 7);
  n[11] = last ? 1 : 0;
  return n;
}

function sha256File(file: string): string {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(CHUNK_BYTES);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** Seal `inputs` into `fd` (an open, empty file). Returns the manifest written. */
export function writeArchive(fd: number, inputs: ArchiveInput[], meta: { chain: string; height: number; tipHash: string }, passphrase: string, progress: Progress = () => {}): Manifest {
  const files: ManifestFile[] = inputs.map((f) => ({ name: f.name, mode: f.mode, size: fs.statSync(f.path).size, sha256: sha256File(f.path) }));
  const manifest: Manifest = { format: 'tally-backup', version: VERSION, created: new Date().toISOString(), ...meta, files };
  const manifestJson = Buffer.from(JSON.stringify(manifest));
  const log2N = scryptLog2N();
  const salt = crypto.randomBytes(16);
  const prefix = crypto.randomBytes(7);
  const key = deriveKey(passphrase, salt, log2N, SCRYPT_R, SCRYPT_P);
  const header = Buffer.concat([ARCHIVE_MAGIC, Buffer.from([VERSION, log2N, SCRYPT_R, SCRYPT_P]), salt, prefix, keyCheck(key)]);
  fs.writeSync(fd, header);

  let counter = 0;
  let pending: Buffer = Buffer.alloc(0);
  const seal = (plain: Buffer, last: boolean) => {
    const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce(prefix, counter++, last));
    cipher.setAAD(header);
    fs.writeSync(fd, Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]));
  };
  // Full chunks go out as soon as they fill; the remainder waits, so the last one is known.
  const push = (bytes: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, bytes]) : bytes;
    while (pending.length > CHUNK_BYTES) {
      seal(pending.subarray(0, CHUNK_BYTES), false);
      pending = pending.subarray(CHUNK_BYTES);
    }
  };
  const length = Buffer.alloc(4);
  length.writeUInt32BE(manifestJson.length);
  push(Buffer.concat([length, manifestJson]));
  const total = files.reduce((s, f) => s + f.size, 0);
  let done = 0;
  for (const input of inputs) {
    const src = fs.openSync(input.path, 'r');
    let read = 0;
    try {
      for (;;) {
        const buf = Buffer.alloc(CHUNK_BYTES);
        const n = fs.readSync(src, buf, 0, CHUNK_BYTES, null);
        if (n === 0) break;
        push(buf.subarray(0, n));
        read += n;
        done += n;
        progress(done, total);
      }
    } finally {
      fs.closeSync(src);
    }
    // Inputs are a finished snapshot and key files: one that changed is a caller's bug.
    assert(read === files.find((f) => f.name === input.name)!.size, `${input.path} changed while it was archived`);
  }
  seal(pending, true);
  fs.fsyncSync(fd);
  return manifest;
}

export interface ArchiveSink {
  /** The manifest, checked, before any file byte. */
  begin(manifest: Manifest): void;
  data(file: ManifestFile, bytes: Buffer): void;
  end(file: ManifestFile): void;
}

function invalid(file: string, why: string): never {
  fail('backup_invalid', `${file} is not a valid Tally backup archive: ${why}`, { hint: 'check that the file was copied whole; `tally backup --with-keys` writes archives' });
}

/** Is this file an archive (by its magic), rather than a bare database snapshot? */
export function isArchive(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(ARCHIVE_MAGIC.length);
    return fs.readSync(fd, head, 0, head.length, 0) === head.length && head.equals(ARCHIVE_MAGIC);
  } finally {
    fs.closeSync(fd);
  }
}

/** Decrypt `file`, authenticating each chunk before its bytes reach `sink`. */
export function readArchive(file: string, passphrase: string, sink: ArchiveSink, progress: Progress = () => {}): Manifest {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const header = Buffer.alloc(HEADER_BYTES);
    if (fs.readSync(fd, header, 0, HEADER_BYTES, 0) < HEADER_BYTES || !header.subarray(0, 8).equals(ARCHIVE_MAGIC)) invalid(file, 'no TALLYBAK header');
    if (header[8] !== VERSION) invalid(file, `format version ${header[8]} (this tally reads version ${VERSION})`);
    const [log2N, r, p] = [header[9]!, header[10]!, header[11]!];
    if (log2N < SCRYPT_LOG2N_MIN || log2N > SCRYPT_LOG2N_MAX || r !== SCRYPT_R || p !== SCRYPT_P) invalid(file, `unsupported scrypt parameters (2^${log2N}, ${r}, ${p})`);
    const key = deriveKey(passphrase, header.subarray(12, 28), log2N, r, p);
    if (!crypto.timingSafeEqual(keyCheck(key), header.subarray(35, 51))) {
      fail('wrong_passphrase', `cannot open ${file}: the passphrase is wrong`, {
        hint: 'use the passphrase given to `tally backup --with-keys` ($TALLY_PASSPHRASE or --passphrase-file)',
      });
    }
    const prefix = header.subarray(28, 35);
    const record = CHUNK_BYTES + TAG_BYTES;
    const body = size - HEADER_BYTES;
    if (body < TAG_BYTES) invalid(file, 'it is cut short');
    const chunks = Math.ceil(body / record);

    let counter = 0;
    let offset = HEADER_BYTES;
    const nextChunk = (): Buffer | undefined => {
      if (counter === chunks) return undefined;
      const last = counter === chunks - 1;
      const length = last ? body - counter * record : record;
      if (length < TAG_BYTES) invalid(file, 'it is cut short');
      const sealed = Buffer.alloc(length);
      fs.readSync(fd, sealed, 0, length, offset);
      const open = (flag: boolean): Buffer | undefined => {
        const d = crypto.createDecipheriv('aes-256-gcm', key, nonce(prefix, counter, flag));
        d.setAAD(header);
        d.setAuthTag(sealed.subarray(length - TAG_BYTES));
        try {
          return Buffer.concat([d.update(sealed.subarray(0, length - TAG_BYTES)), d.final()]);
        } catch {
          return undefined;
        }
      };
      const plain = open(last);
      if (plain) {
        offset += length;
        counter++;
        return plain;
      }
      // The same chunk under the other last flag: then the key is right and the file was cut (or extended).
      if (open(!last)) invalid(file, `it ends ${last ? 'after' : 'before'} chunk ${counter}, which says otherwise: it was cut short or extended`);
      invalid(file, `chunk ${counter} does not authenticate: the file was cut, damaged or modified`);
    };

    // A byte reader over the chunk stream.
    let buf: Buffer = Buffer.alloc(0);
    const take = (n: number, what: string): Buffer => {
      while (buf.length < n) {
        const more = nextChunk();
        if (!more) invalid(file, `it ends inside ${what}`);
        buf = buf.length ? Buffer.concat([buf, more]) : more;
      }
      const out = buf.subarray(0, n);
      buf = buf.subarray(n);
      return out;
    };
    const manifestLength = take(4, 'the manifest').readUInt32BE(0);
    if (manifestLength > MANIFEST_BYTES_MAX) invalid(file, `a manifest of ${manifestLength} bytes`);
    const manifest = parseManifest(file, take(manifestLength, 'the manifest'));
    sink.begin(manifest);
    const total = manifest.files.reduce((s, f) => s + f.size, 0);
    let done = 0;
    for (const f of manifest.files) {
      const hash = crypto.createHash('sha256');
      let left = f.size;
      while (left > 0) {
        const part = take(Math.min(left, CHUNK_BYTES), f.name);
        hash.update(part);
        sink.data(f, part);
        left -= part.length;
        done += part.length;
        progress(done, total);
      }
      if (hash.digest('hex') !== f.sha256) invalid(file, `${f.name} does not match its SHA-256 in the manifest`);
      sink.end(f);
    }
    if (buf.length > 0 || nextChunk() !== undefined) invalid(file, 'bytes after the last file');
    return manifest;
  } finally {
    fs.closeSync(fd);
  }
}

function parseManifest(file: string, bytes: Buffer): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(bytes.toString('utf8')) as Manifest;
  } catch {
    invalid(file, 'the manifest is not JSON');
  }
  if (m?.format !== 'tally-backup' || m.version !== VERSION || !Array.isArray(m.files)) invalid(file, 'the manifest is not a tally-backup v1 manifest');
  if (typeof m.chain !== 'string' || !Number.isSafeInteger(m.height) || typeof m.tipHash !== 'string') invalid(file, 'the manifest lacks chain, height or tipHash');
  const seen = new Set<string>();
  for (const f of m.files) {
    if (!(ARCHIVE_FILES as readonly string[]).includes(f?.name) || seen.has(f.name)) invalid(file, `unexpected file ${JSON.stringify(f?.name)} in the manifest`);
    if (!Number.isSafeInteger(f.size) || f.size < 0 || !Number.isInteger(f.mode) || typeof f.sha256 !== 'string') invalid(file, `bad manifest entry for ${f.name}`);
    seen.add(f.name);
  }
  if (!seen.has('tally.db') || !seen.has('db.key')) invalid(file, 'it lacks tally.db or db.key');
  return m;
}
