// The tickets token key: a node secret, 32 bytes in <data>/tickets.key (mode 0600, made on
// first start). A PID's token is HMAC-SHA256(key, TOKEN_DOMAIN || PID bytes), so the node
// can hand the same token out again after a crash without ever storing it (the database
// keeps only its SHA-256). It lives apart from db.key on purpose: a copy of the database
// with its key still holds no usable token.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../core/errors.js';
import { checkSecretFileMode, writeSecretFile } from '../../store/keyfile.js';

export const TOKEN_KEY_FILE = 'tickets.key';
const TOKEN_DOMAIN = 'tally/tickets/token/v1\n';

/** Read <dataDir>/tickets.key, making it first if it does not exist. */
export function loadTokenKey(dataDir: string): Buffer {
  const file = path.join(dataDir, TOKEN_KEY_FILE);
  if (!fs.existsSync(file)) {
    // Written whole under another name, then linked in: a crash never leaves a short key,
    // and of two starters racing, the first link wins and both read it.
    const tmp = `${file}.${process.pid}.tmp`;
    fs.rmSync(tmp, { force: true });
    writeSecretFile(tmp, crypto.randomBytes(32).toString('hex') + '\n');
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  checkSecretFileMode(file, 'tickets token key file');
  const text = fs.readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(text)) fail('key_file_invalid', `tickets token key file ${file} must hold 64 lowercase hex digits`, { status: 500 });
  return Buffer.from(text, 'hex');
}

/** The token of a PID (the PID the payer holds, never its public memo tag). */
export function tokenFor(key: Buffer, pid: string): string {
  return crypto.createHmac('sha256', key).update(TOKEN_DOMAIN).update(Buffer.from(pid, 'hex')).digest('hex');
}

/** Read a copy of a node's tickets.key (`tally tickets serve`): never made here, since every serving process must hold the same key. */
export function readTokenKeyFile(file: string): Buffer {
  if (!fs.existsSync(file)) {
    fail('key_file_missing', `the tickets token key file ${file} does not exist`, {
      status: 500, hint: `copy the node's <data>/${TOKEN_KEY_FILE} (mode 0600): every process serving one store must derive the same tokens`,
    });
  }
  checkSecretFileMode(file, 'tickets token key file');
  const text = fs.readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(text)) fail('key_file_invalid', `tickets token key file ${file} must hold 64 lowercase hex digits`, { status: 500 });
  return Buffer.from(text, 'hex');
}
