// The key-encryption key: its file (0600, 32 bytes or 64 hex digits) and the sealing of
// private keys (AES-256-GCM with the kid as associated data).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TallyError } from '../../core/errors.js';
import { createKek, openPrivateKey, readKek, sealPrivateKey } from './kek.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-kek-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TallyError, String(err));
    return err.code;
  }
  return 'no error';
}

describe('notary KEK', () => {
  it('reads a 0600 file of 64 hex digits or 32 raw bytes, and refuses anything else', () => {
    const made = path.join(dir, 'made');
    createKek(made);
    assert.equal(fs.statSync(made).mode & 0o777, 0o600);
    assert.equal(readKek(made).length, 32);
    const raw = path.join(dir, 'raw');
    fs.writeFileSync(raw, crypto.randomBytes(32), { mode: 0o600 });
    assert.equal(readKek(raw).length, 32);
    const short = path.join(dir, 'short');
    fs.writeFileSync(short, 'abcd\n', { mode: 0o600 });
    assert.equal(code(() => readKek(short)), 'kek_invalid');
    fs.chmodSync(made, 0o640);
    assert.equal(code(() => readKek(made)), 'key_file_permissions');
    assert.equal(code(() => readKek(path.join(dir, 'none'))), 'kek_missing');
  });

  it('opens only with the same KEK, for the same kid, unmodified', () => {
    const kek = crypto.randomBytes(32);
    const der = crypto.randomBytes(48);
    const sealed = sealPrivateKey(kek, 'aa11', der);
    assert.equal(sealed.indexOf(der), -1);
    assert.deepEqual(openPrivateKey(kek, 'aa11', sealed), der);
    assert.equal(code(() => openPrivateKey(crypto.randomBytes(32), 'aa11', sealed)), 'kek_wrong');
    assert.equal(code(() => openPrivateKey(kek, 'bb22', sealed)), 'kek_wrong', 'a sealed key moved to another kid does not open');
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1]! ^= 1;
    assert.equal(code(() => openPrivateKey(kek, 'aa11', flipped)), 'kek_wrong');
    assert.equal(code(() => openPrivateKey(kek, 'aa11', Buffer.from([9, 1, 2]))), 'kek_wrong');
  });
});
