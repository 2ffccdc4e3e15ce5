// The key-encryption key (KEK) for signing keys kept in PostgreSQL, which has no encryption
// at rest of its own (SQLite's file is SQLCipher-encrypted as a whole). Each private key is
// sealed with AES-256-GCM under the KEK, with its kid as associated data, so a row copied
// onto another key's kid does not open. Only the node and the workers hold the KEK file
// (32 random bytes, or 64 hex digits, mode 0600); a database dump alone signs nothing.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { fail } from '../../core/errors.js';
import { checkSecretFileMode, writeSecretFile } from '../../store/keyfile.js';

const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export function readKek(path: string): Buffer {
  if (!fs.existsSync(path)) {
    fail('kek_missing', `the notary key-encryption key file ${path} does not exist`, {
      status: 500,
      hint: 'create it once with `tally notary kek new --out FILE` and copy it (mode 0600) to the node and every worker',
    });
  }
  checkSecretFileMode(path, 'notary key-encryption key file');
  const raw = fs.readFileSync(path);
  const text = raw.toString('utf8').trim();
  if (raw.length === 32) return raw;
  if (/^[0-9a-f]{64}$/.test(text)) return Buffer.from(text, 'hex');
  return fail('kek_invalid', `the notary key-encryption key file ${path} must hold 32 bytes (or 64 hex digits)`, { status: 500 });
}

export function createKek(path: string): void {
  writeSecretFile(path, crypto.randomBytes(32).toString('hex') + '\n');
}

/** version(1) | nonce(12) | tag(16) | ciphertext */
export function sealPrivateKey(kek: Buffer, kid: string, der: Buffer): Buffer {
  const nonce = crypto.randomBytes(NONCE_BYTES);
  const c = crypto.createCipheriv('aes-256-gcm', kek, nonce);
  c.setAAD(Buffer.from(`tally-notary-key:${kid}`));
  const body = Buffer.concat([c.update(der), c.final()]);
  return Buffer.concat([Buffer.from([VERSION]), nonce, c.getAuthTag(), body]);
}

export function openPrivateKey(kek: Buffer, kid: string, sealed: Buffer): Buffer {
  if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES + 1 || sealed[0] !== VERSION) {
    fail('kek_wrong', `the stored private key of ${kid} is not sealed in a format this program knows`, { status: 500 });
  }
  const d = crypto.createDecipheriv('aes-256-gcm', kek, sealed.subarray(1, 1 + NONCE_BYTES));
  d.setAAD(Buffer.from(`tally-notary-key:${kid}`));
  d.setAuthTag(sealed.subarray(1 + NONCE_BYTES, 1 + NONCE_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([d.update(sealed.subarray(1 + NONCE_BYTES + TAG_BYTES)), d.final()]);
  } catch {
    return fail('kek_wrong', `the private key of ${kid} does not open with this key-encryption key`, {
      status: 500,
      hint: 'every worker and the node need the same KEK file as the process that added the keys',
    });
  }
}
