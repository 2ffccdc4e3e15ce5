// Secret files (database key, node key) must be readable by their owner only.
// We refuse to start otherwise and say why, rather than run with a leaked key.
import fs from 'node:fs';
import crypto from 'node:crypto';
import { fail } from '../core/errors.js';

export function checkSecretFileMode(path: string, what: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(path);
  } catch {
    fail('key_file_missing', `${what} ${path} does not exist`, { status: 500, hint: 'run `tally init` or `tally node --dev` to create it' });
  }
  if (!stat.isFile()) fail('key_file_invalid', `${what} ${path} is not a regular file`, { status: 500 });
  const mode = stat.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    fail('key_file_permissions', `${what} ${path} has mode ${mode.toString(8).padStart(4, '0')}; it must be 0600 (owner only)`, {
      status: 500,
      hint: `chmod 600 ${path}`,
    });
  }
}

/** Write a new secret file with mode 0600 from the first byte on (no window where it is readable). */
export function writeSecretFile(path: string, contents: string | Buffer): void {
  const fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    fs.writeSync(fd, typeof contents === "string" ? Buffer.from(contents) : contents);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(path, 0o600); // umask may have cleared bits; never added any.
}

export function readDatabaseKey(path: string): string {
  checkSecretFileMode(path, 'database key file');
  const text = fs.readFileSync(path, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(text)) {
    fail('key_file_invalid', `database key file ${path} must hold 64 lowercase hex digits (a 256-bit key)`, { status: 500 });
  }
  return text;
}

export function createDatabaseKey(path: string): void {
  writeSecretFile(path, crypto.randomBytes(32).toString('hex') + '\n');
}
