// Keep scrypt cheap in tests; the module reads this at call time.
process.env.TALLY_SCRYPT_N = '1024';
delete process.env.TALLY_PASSPHRASE;
delete process.env.TALLY_KEY;

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { TallyError } from '../core/errors.js';
import { accountIdFromPub } from '../core/keys.js';
import {
  createKey,
  defaultHome,
  exportKeyFile,
  exportPrivatePem,
  importKey,
  keyInfo,
  listKeys,
  loadSigner,
  readHiddenLine,
  readPassphrase,
  resolveKeyName,
} from './keystore.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-keystore-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let homeCounter = 0;
function freshHome(): string {
  return path.join(tmpRoot, `home${homeCounter++}`);
}

function hasCode(code: string, text?: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof TallyError, `expected a TallyError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (text !== undefined) assert.ok(`${err.message} ${err.hint ?? ''}`.includes(text), `"${err.message}" / "${err.hint}" lacks "${text}"`);
    return true;
  };
}

function verifyRaw(pub: string, message: Buffer, sig: string): boolean {
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(pub, 'base64url')]);
  const key = crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' });
  return crypto.verify(null, message, key, Buffer.from(sig, 'base64url'));
}

function editFile(file: string, edit: (data: Record<string, any>) => void): void {
  const data = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, any>;
  edit(data);
  fs.writeFileSync(file, JSON.stringify(data)); // existing file: mode stays 0600
}

function flip(b64u: string): string {
  const bytes = Buffer.from(b64u, 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 1;
  return bytes.toString('base64url');
}

describe('keystore', () => {
  it('creates, lists and shows keys', async () => {
    const home = freshHome();
    assert.deepEqual(listKeys(home), []);
    const bob = await createKey(home, 'bob', 'pw-b');
    const alice = await createKey(home, 'alice', 'pw-a');
    assert.equal(alice.name, 'alice');
    assert.equal(alice.id, accountIdFromPub(alice.pub));
    assert.equal(Buffer.from(alice.pub, 'base64url').length, 32);
    assert.equal(alice.path, path.join(home, 'keys', 'alice.json'));
    assert.ok(!Number.isNaN(Date.parse(alice.created)));
    assert.notEqual(alice.pub, bob.pub);
    assert.deepEqual(listKeys(home), [alice, bob]);
    assert.deepEqual(keyInfo(home, 'bob'), bob);

    const file = JSON.parse(fs.readFileSync(alice.path, 'utf8'));
    assert.equal(file.version, 1);
    assert.equal(file.name, 'alice');
    assert.equal(file.id, alice.id);
    assert.equal(file.pub, alice.pub);
    assert.deepEqual({ ...file.kdf, salt: undefined }, { name: 'scrypt', N: 1024, r: 8, p: 1, salt: undefined });
    assert.equal(Buffer.from(file.kdf.salt, 'base64url').length, 16);
    assert.equal(file.cipher.name, 'aes-256-gcm');
    assert.equal(Buffer.from(file.cipher.iv, 'base64url').length, 12);
    assert.equal(Buffer.from(file.cipher.tag, 'base64url').length, 16);
    assert.ok(!fs.readFileSync(alice.path, 'utf8').includes('PRIVATE'));

    // Files that are not key files are ignored by list.
    fs.writeFileSync(path.join(home, 'keys', 'notes.txt'), 'x');
    assert.deepEqual(listKeys(home).map((k) => k.name), ['alice', 'bob']);
  });

  it('creates the directory 0700 and key files 0600', async () => {
    const home = freshHome();
    const info = await createKey(home, 'k', 'pw');
    assert.equal(fs.statSync(path.join(home, 'keys')).mode & 0o777, 0o700);
    assert.equal(fs.statSync(info.path).mode & 0o777, 0o600);
  });

  it('loads a signer whose signatures verify', async () => {
    const home = freshHome();
    const info = await createKey(home, 'signer', 'correct horse');
    const signer = await loadSigner(home, 'signer', 'correct horse');
    assert.equal(signer.pub, info.pub);
    assert.equal(signer.id, info.id);
    assert.equal(signer.name, 'signer');
    const message = Buffer.from('transfer 10 to bob');
    const sig = signer.sign(message);
    assert.ok(verifyRaw(info.pub, message, sig));
    assert.ok(!verifyRaw(info.pub, Buffer.from('transfer 11 to bob'), sig));
  });

  it('rejects a wrong passphrase', async () => {
    const home = freshHome();
    await createKey(home, 'alice', 'right');
    await assert.rejects(loadSigner(home, 'alice', 'wrong'), hasCode('wrong_passphrase', 'does not decrypt key alice'));
    await assert.rejects(exportPrivatePem(home, 'alice', ''), hasCode('wrong_passphrase'));
  });

  it('detects tampered ciphertext, tag and swapped public keys', async () => {
    const home = freshHome();
    const a = await createKey(home, 'a', 'pw');
    const b = await createKey(home, 'b', 'pw');
    const original = fs.readFileSync(a.path, 'utf8');

    editFile(a.path, (d) => (d.ciphertext = flip(d.ciphertext)));
    await assert.rejects(loadSigner(home, 'a', 'pw'), hasCode('wrong_passphrase'));
    fs.writeFileSync(a.path, original);

    editFile(a.path, (d) => (d.cipher.tag = flip(d.cipher.tag)));
    await assert.rejects(loadSigner(home, 'a', 'pw'), hasCode('wrong_passphrase'));
    fs.writeFileSync(a.path, original);

    // Swapping pub and id together keeps the file consistent, but they are authenticated.
    editFile(a.path, (d) => {
      d.pub = b.pub;
      d.id = b.id;
    });
    await assert.rejects(loadSigner(home, 'a', 'pw'), hasCode('wrong_passphrase'));
    // Swapping only pub is caught before decrypting.
    editFile(a.path, (d) => {
      d.pub = b.pub;
      d.id = a.id;
    });
    assert.throws(() => keyInfo(home, 'a'), hasCode('key_file_invalid'));
    fs.writeFileSync(a.path, original);

    // A file renamed to another key's name is refused (the name is authenticated too).
    fs.rmSync(b.path);
    fs.copyFileSync(a.path, b.path);
    assert.throws(() => keyInfo(home, 'b'), hasCode('key_file_invalid', 'holds key a'));
    editFile(b.path, (d) => (d.name = 'b'));
    await assert.rejects(loadSigner(home, 'b', 'pw'), hasCode('wrong_passphrase'));

    assert.equal((await loadSigner(home, 'a', 'pw')).pub, a.pub);
  });

  it('round-trips the encrypted JSON file through export and import', async () => {
    const home = freshHome();
    const other = freshHome();
    const orig = await createKey(home, 'main', 'pw1');
    const text = exportKeyFile(home, 'main');
    assert.equal(text, fs.readFileSync(orig.path, 'utf8'));

    await assert.rejects(importKey(other, 'copy', text, 'nope'), hasCode('wrong_passphrase'));
    assert.deepEqual(listKeys(other), []);
    const copy = await importKey(other, 'copy', text, 'pw1');
    assert.equal(copy.name, 'copy');
    assert.equal(copy.pub, orig.pub);
    assert.equal(copy.id, orig.id);
    assert.equal(copy.created, orig.created);
    assert.equal(fs.statSync(copy.path).mode & 0o777, 0o600);
    const signer = await loadSigner(other, 'copy', 'pw1');
    assert.ok(verifyRaw(orig.pub, Buffer.from('m'), signer.sign(Buffer.from('m'))));
  });

  it('round-trips a PKCS#8 PEM through export and import', async () => {
    const home = freshHome();
    const orig = await createKey(home, 'main', 'pw1');
    const pem = await exportPrivatePem(home, 'main', 'pw1');
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
    const imported = await importKey(home, 'frompem', pem, 'new-pass');
    assert.equal(imported.pub, orig.pub);
    await assert.rejects(loadSigner(home, 'frompem', 'pw1'), hasCode('wrong_passphrase'));
    assert.equal((await loadSigner(home, 'frompem', 'new-pass')).pub, orig.pub);

    // A key generated elsewhere, with CRLF line endings.
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    const foreign = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString().replace(/\n/g, '\r\n');
    const info = await importKey(home, 'foreign', foreign, 'pw');
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    assert.equal(info.pub, spki.subarray(spki.length - 32).toString('base64url'));
  });

  it('rejects non-Ed25519 and corrupt imports', async () => {
    const home = freshHome();
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await assert.rejects(importKey(home, 'x', ec, 'pw'), hasCode('key_import_invalid', 'not Ed25519'));
    const corrupt = '-----BEGIN PRIVATE KEY-----\nAAAAbm90IGEga2V5\n-----END PRIVATE KEY-----\n';
    await assert.rejects(importKey(home, 'x', corrupt, 'pw'), hasCode('key_import_invalid'));
    await assert.rejects(importKey(home, 'x', 'hello', 'pw'), hasCode('key_import_invalid'));
    await assert.rejects(importKey(home, 'x', '{"version":1}', 'pw'), hasCode('key_import_invalid'));
    const pub = crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString();
    await assert.rejects(importKey(home, 'x', pub, 'pw'), hasCode('key_import_invalid'));
    assert.deepEqual(listKeys(home), []);
  });

  it('refuses duplicate names on create and import', async () => {
    const home = freshHome();
    const first = await createKey(home, 'dup', 'pw');
    const before = fs.readFileSync(first.path, 'utf8');
    await assert.rejects(createKey(home, 'dup', 'pw'), hasCode('key_exists'));
    await assert.rejects(importKey(home, 'dup', exportKeyFile(home, 'dup'), 'pw'), hasCode('key_exists'));
    assert.equal(fs.readFileSync(first.path, 'utf8'), before);
  });

  it('refuses invalid names', async () => {
    const home = freshHome();
    for (const name of ['', 'Alice', '-x', '_x', '../x', 'a/b', 'a.b', 'a b', 'a'.repeat(33)]) {
      await assert.rejects(createKey(home, name, 'pw'), hasCode('key_name_invalid'), name);
      assert.throws(() => keyInfo(home, name), hasCode('key_name_invalid'), name);
      assert.throws(() => resolveKeyName(home, name), hasCode('key_name_invalid'), name);
    }
    await createKey(home, 'a'.repeat(32), 'pw');
    await createKey(home, '0_ok-name', 'pw');
  });

  it('refuses a key file readable by others', async () => {
    const home = freshHome();
    const info = await createKey(home, 'open', 'pw');
    fs.chmodSync(info.path, 0o644);
    assert.throws(() => keyInfo(home, 'open'), hasCode('key_file_permissions', 'chmod 600'));
    await assert.rejects(loadSigner(home, 'open', 'pw'), hasCode('key_file_permissions'));
    assert.throws(() => exportKeyFile(home, 'open'), hasCode('key_file_permissions'));
    fs.chmodSync(info.path, 0o600);
    assert.equal(keyInfo(home, 'open').pub, info.pub);
  });

  it('reports missing and corrupt key files', async () => {
    const home = freshHome();
    assert.throws(() => keyInfo(home, 'ghost'), hasCode('key_not_found', 'tally keys new ghost'));
    await assert.rejects(loadSigner(home, 'ghost', 'pw'), hasCode('key_not_found', 'tally keys list'));
    const info = await createKey(home, 'broken', 'pw');
    fs.writeFileSync(info.path, '{"version":1,');
    assert.throws(() => keyInfo(home, 'broken'), hasCode('key_file_invalid'));
    editFileRaw(info.path, JSON.stringify({ version: 2 }));
    assert.throws(() => keyInfo(home, 'broken'), hasCode('key_file_invalid', 'version'));
  });

  it('resolves which key to use', async () => {
    const home = freshHome();
    assert.throws(() => resolveKeyName(home), hasCode('key_not_found', '--key NAME'));
    assert.equal(resolveKeyName(home, 'explicit'), 'explicit');
    await createKey(home, 'only', 'pw');
    assert.equal(resolveKeyName(home), 'only');
    await createKey(home, 'second', 'pw');
    assert.throws(() => resolveKeyName(home), hasCode('key_ambiguous', '--key NAME'));
    await createKey(home, 'default', 'pw');
    assert.equal(resolveKeyName(home), 'default');
    assert.equal(resolveKeyName(home, 'second'), 'second');
    process.env.TALLY_KEY = 'fromenv';
    try {
      assert.equal(resolveKeyName(home), 'fromenv');
      assert.equal(resolveKeyName(home, 'second'), 'second');
      process.env.TALLY_KEY = 'Bad/Name';
      assert.throws(() => resolveKeyName(home), hasCode('key_name_invalid'));
    } finally {
      delete process.env.TALLY_KEY;
    }
  });

  it('honours TALLY_HOME and validates TALLY_SCRYPT_N', async () => {
    const saved = process.env.TALLY_HOME;
    try {
      process.env.TALLY_HOME = '/somewhere/else';
      assert.equal(defaultHome(), '/somewhere/else');
      delete process.env.TALLY_HOME;
      assert.equal(defaultHome(), path.join(os.homedir(), '.tally'));
    } finally {
      if (saved === undefined) delete process.env.TALLY_HOME;
      else process.env.TALLY_HOME = saved;
    }
    const home = freshHome();
    for (const bad of ['1000', '512', 'abc', String(1 << 21)]) {
      process.env.TALLY_SCRYPT_N = bad;
      await assert.rejects(createKey(home, 'n', 'pw'), hasCode('config_invalid'), bad);
    }
    process.env.TALLY_SCRYPT_N = '2048';
    const info = await createKey(home, 'n', 'pw');
    process.env.TALLY_SCRYPT_N = '1024';
    assert.equal(JSON.parse(fs.readFileSync(info.path, 'utf8')).kdf.N, 2048);
    assert.equal((await loadSigner(home, 'n', 'pw')).pub, info.pub); // N is read from the file
  });

  it('reads the passphrase from TALLY_PASSPHRASE, even when empty', async () => {
    try {
      process.env.TALLY_PASSPHRASE = 's3cret';
      assert.equal(await readPassphrase('Passphrase: ', { confirm: true }), 's3cret');
      process.env.TALLY_PASSPHRASE = '';
      assert.equal(await readPassphrase('Passphrase: ', {}), '');
    } finally {
      delete process.env.TALLY_PASSPHRASE;
    }
  });

  it('requires TALLY_PASSPHRASE without a terminal', { skip: process.stdin.isTTY === true }, async () => {
    await assert.rejects(readPassphrase('Passphrase: ', {}), hasCode('passphrase_required', 'TALLY_PASSPHRASE'));
  });

  it('reads a hidden line from a raw terminal', async () => {
    const fakeTty = () => {
      const input = Object.assign(new PassThrough(), {
        isRaw: false,
        modes: [] as boolean[],
        setRawMode(mode: boolean) {
          input.isRaw = mode;
          input.modes.push(mode);
          return input;
        },
      });
      const output = new PassThrough();
      const written: string[] = [];
      output.on('data', (c: Buffer) => written.push(c.toString()));
      return { input, output, written };
    };

    const t1 = fakeTty();
    const line = readHiddenLine(t1.input, t1.output, 'Passphrase: ');
    t1.input.write('hunxy\u007f\u007fter\u001b[D');
    t1.input.write(Buffer.from('2é\r', 'utf8'));
    assert.equal(await line, 'hunter2é');
    assert.deepEqual(t1.input.modes, [true, false]);
    await new Promise((r) => setImmediate(r));
    assert.equal(t1.written.join(''), 'Passphrase: \n'); // nothing echoed

    const t2 = fakeTty();
    const cancelled = readHiddenLine(t2.input, t2.output, '> ');
    t2.input.write('abc\u0003');
    await assert.rejects(cancelled, hasCode('cancelled'));
    assert.equal(t2.input.isRaw, false);
  });
});

function editFileRaw(file: string, text: string): void {
  fs.writeFileSync(file, text);
}
