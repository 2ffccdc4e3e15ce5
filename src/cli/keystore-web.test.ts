// The CLI keystore and the browser wallet share one file format: a key file the CLI made
// unlocks with the browser code (WebCrypto AES-GCM, @noble/hashes scrypt), and one the
// browser code made unlocks in the CLI (node:crypto). Node has WebCrypto as
// globalThis.crypto.subtle, the same API the page uses.
process.env.TALLY_SCRYPT_N = '1024';
delete process.env.TALLY_PASSPHRASE;
delete process.env.TALLY_KEY;

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TallyError } from '../core/errors.js';
import { verifySignature } from '../core/keys.js';
import { keyFileText, openKeyFile, parseKeyFile, sealKeyFile } from '../core/keystore-format.js';
import { exportPkcs8, generateWebKey, importPkcs8, webSigner } from '../core/webcrypto-keys.js';
import { createKey, exportKeyFile, exportPrivatePem, importKey, loadSigner } from './keystore.js';
import { writeSecretFile } from '../store/keyfile.js';
import { fileURLToPath } from 'node:url';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-keystore-web-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let homeCounter = 0;
const freshHome = (): string => path.join(tmpRoot, `home${homeCounter++}`);

function hasCode(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof TallyError, `expected a TallyError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

const message = new TextEncoder().encode('tally/tx/v1\n{"a":1}');

describe('key files between the CLI and the browser code', () => {
  it('a CLI key file decrypts with the browser code and signs as the CLI key does', async () => {
    const home = freshHome();
    const info = await createKey(home, 'alice', 'correct horse');
    const text = exportKeyFile(home, 'alice');
    const file = parseKeyFile(text, 'alice.json');
    assert.equal(file.id, info.id);
    const der = await openKeyFile(file, 'correct horse', 'alice.json');
    const key = await importPkcs8(der);
    der.fill(0);
    assert.equal(key.pub, info.pub);
    assert.equal(key.privateKey.extractable, false, 'an imported key is non-extractable unless asked');
    const sig = await webSigner(key).sign(message);
    assert.ok(verifySignature(info.pub, message, sig));
    // Ed25519 is deterministic: the same key signs the same bytes the same way in both.
    const cli = await loadSigner(home, 'alice', 'correct horse');
    assert.equal(sig, cli.sign(message));
  });

  it('a key file made by the browser code unlocks in the CLI', async () => {
    const web = await generateWebKey(true);
    const der = await exportPkcs8(web.privateKey);
    const file = await sealKeyFile({ name: 'bob', pkcs8: der, passphrase: 'pässwörd', scryptN: 1024 });
    der.fill(0);
    assert.equal(file.pub, web.pub);
    const home = freshHome();
    fs.mkdirSync(path.join(home, 'keys'), { recursive: true, mode: 0o700 });
    writeSecretFile(path.join(home, 'keys', 'bob.json'), keyFileText(file));
    // Passphrases are NFC-normalized on both sides: the decomposed spelling unlocks too.
    const cli = await loadSigner(home, 'bob', 'pa\u0308sswo\u0308rd');
    assert.equal(cli.pub, web.pub);
    assert.equal(cli.id, file.id);
    assert.equal(cli.sign(message), await webSigner(web).sign(message));
    // And `tally keys import` takes the exported text.
    const home2 = freshHome();
    const imported = await importKey(home2, 'bob2', keyFileText(file), 'pässwörd');
    assert.equal(imported.pub, web.pub);
  });

  it('a rotated key file (with account) round-trips, the account authenticated', async () => {
    const web = await generateWebKey(true);
    const der = await exportPkcs8(web.privateKey);
    const account = 'ab'.repeat(20);
    const file = await sealKeyFile({ name: 'carol', pkcs8: der, passphrase: 'x', scryptN: 1024, account });
    const back = parseKeyFile(keyFileText(file), 'carol.json');
    assert.equal(back.account, account);
    assert.ok((await openKeyFile(back, 'x', 'carol.json')).length === 48);
    const moved = parseKeyFile(keyFileText({ ...file, account: 'cd'.repeat(20) }), 'carol.json');
    await assert.rejects(openKeyFile(moved, 'x', 'carol.json'), hasCode('wrong_passphrase'));
  });

  it('a wrong passphrase or an edited file is refused, and a non-extractable key is never exported', async () => {
    const home = freshHome();
    await createKey(home, 'dave', 'right');
    const file = parseKeyFile(exportKeyFile(home, 'dave'), 'dave.json');
    await assert.rejects(openKeyFile(file, 'wrong', 'dave.json'), hasCode('wrong_passphrase'));
    const renamed = { ...file, name: 'eve' };
    await assert.rejects(openKeyFile(renamed, 'right', 'dave.json'), hasCode('wrong_passphrase'));
    const flipped = { ...file, ciphertext: (file.ciphertext[0] === 'A' ? 'B' : 'A') + file.ciphertext.slice(1) };
    await assert.rejects(openKeyFile(flipped, 'right', 'dave.json'), hasCode('wrong_passphrase'));
    assert.throws(() => parseKeyFile(JSON.stringify({ ...file, kdf: { ...file.kdf, N: 1 << 22 } }), 'f'), hasCode('key_file_invalid'));
    assert.throws(() => parseKeyFile('x'.repeat(20_000), 'f'), hasCode('key_file_invalid'));
    const locked = await generateWebKey();
    assert.equal(locked.privateKey.extractable, false);
    await assert.rejects(exportPkcs8(locked.privateKey), hasCode('key_not_extractable'));
  });

  it('the README test vector decrypts, with the browser code and with the CLI', async () => {
    const readme = fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'README.md'), 'utf8');
    const m = /<!-- keystore-vector -->\n```json\n(.+)\n```/.exec(readme);
    assert.ok(m, 'the README has the keystore vector');
    const text = m[1]!;
    const seed = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1));
    const der = await openKeyFile(parseKeyFile(text, 'README'), 'tally test vector', 'README');
    assert.equal(Buffer.from(der.subarray(16)).toString('hex'), seed.toString('hex'));
    const home = freshHome();
    fs.mkdirSync(path.join(home, 'keys'), { recursive: true, mode: 0o700 });
    writeSecretFile(path.join(home, 'keys', 'vector.json'), text);
    const pem = await exportPrivatePem(home, 'vector', 'tally test vector');
    assert.ok(crypto.createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' }).subarray(16).equals(seed));
  });
});
