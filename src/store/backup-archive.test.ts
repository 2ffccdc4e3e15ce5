// The backup archive format: round trips at chunk boundaries, and every way of damaging a
// sealed file (reordered or dropped chunks, trailing bytes, another version, a path in the
// manifest) is refused before a byte of it is handed on.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readArchive, writeArchive, type ArchiveFileName, type ArchiveInput } from './backup-archive.js';

const CHUNK = 64 * 1024;
const RECORD = CHUNK + 16;
const HEADER = 51;
const META = { chain: 'tally-test', height: 7, tipHash: 'ab'.repeat(32) };

describe('backup archive', () => {
  let dir: string;
  const savedN = process.env.TALLY_SCRYPT_N;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-arch-'));
    process.env.TALLY_SCRYPT_N = '1024';
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (savedN === undefined) delete process.env.TALLY_SCRYPT_N;
    else process.env.TALLY_SCRYPT_N = savedN;
  });

  function input(name: string, bytes: Buffer): ArchiveInput {
    const file = path.join(dir, `in-${name.replace(/\W/g, '_')}`);
    fs.writeFileSync(file, bytes);
    return { name: name as ArchiveFileName, path: file, mode: 0o600 };
  }

  function seal(inputs: ArchiveInput[], passphrase = 'pw'): string {
    const out = path.join(dir, 'a.bak');
    const fd = fs.openSync(out, 'wx', 0o600);
    try {
      writeArchive(fd, inputs, META, passphrase);
    } finally {
      fs.closeSync(fd);
    }
    return out;
  }

  function open(file: string, passphrase = 'pw'): Map<string, Buffer> {
    const got = new Map<string, Buffer[]>();
    readArchive(file, passphrase, {
      begin: () => undefined,
      data: (f, bytes) => got.set(f.name, [...(got.get(f.name) ?? []), Buffer.from(bytes)]),
      end: (f) => { if (!got.has(f.name)) got.set(f.name, []); },
    });
    return new Map([...got].map(([k, v]) => [k, Buffer.concat(v)]));
  }

  function expectInvalid(file: string, pattern: RegExp): void {
    assert.throws(() => open(file), (err: { code?: string; message?: string }) => err.code === 'backup_invalid' && pattern.test(err.message ?? ''));
  }

  it('round-trips files of any size, a chunk boundary included', () => {
    for (const size of [0, 1, CHUNK - 200, CHUNK * 2, CHUNK * 3 + 5]) {
      const db = crypto.randomBytes(size);
      const key = Buffer.from('ab'.repeat(32) + '\n');
      const file = seal([input('tally.db', db), input('db.key', key)]);
      const got = open(file);
      assert.ok(got.get('tally.db')!.equals(db), `size ${size}`);
      assert.ok(got.get('db.key')!.equals(key));
      fs.rmSync(file);
    }
  });

  it('tells a wrong passphrase', () => {
    const file = seal([input('tally.db', Buffer.from('x')), input('db.key', Buffer.from('k'))]);
    assert.throws(() => open(file, 'other'), { code: 'wrong_passphrase' });
  });

  it('refuses swapped chunks, a dropped chunk, trailing bytes and another version', () => {
    const file = seal([input('tally.db', crypto.randomBytes(CHUNK * 3)), input('db.key', Buffer.from('k'))]);
    const bytes = fs.readFileSync(file);
    const chunk = (i: number) => bytes.subarray(HEADER + i * RECORD, HEADER + (i + 1) * RECORD);
    const write = (b: Buffer) => { fs.writeFileSync(file, b); return file; };
    expectInvalid(write(Buffer.concat([bytes.subarray(0, HEADER), chunk(1), chunk(0), bytes.subarray(HEADER + 2 * RECORD)])), /chunk 0 does not authenticate/);
    expectInvalid(write(Buffer.concat([bytes.subarray(0, HEADER), chunk(0), bytes.subarray(HEADER + 2 * RECORD)])), /does not authenticate/);
    // Cut exactly after a whole chunk: only the last flag tells.
    expectInvalid(write(bytes.subarray(0, HEADER + 2 * RECORD)), /cut short or extended/);
    expectInvalid(write(Buffer.concat([bytes, Buffer.alloc(100)])), /does not authenticate|cut short or extended/);
    const v2 = Buffer.from(bytes);
    v2[8] = 2;
    expectInvalid(write(v2), /format version 2/);
    expectInvalid(write(Buffer.from('not an archive at all, longer than a header')), /no TALLYBAK header/);
  });

  it('refuses a manifest naming a file outside the allowed set', () => {
    const file = seal([input('tally.db', Buffer.from('x')), input('../escape', Buffer.from('k')), input('db.key', Buffer.from('k'))]);
    expectInvalid(file, /unexpected file "..\/escape"/);
  });
});
