// Passphrases for operators: `keys passwd` rewrites a key atomically and keeps it 0600,
// --passphrase-file comes before $TALLY_PASSPHRASE, a terminal user gets three tries and a
// script none, and a key that took over an account by rotation signs for that account.
process.env.TALLY_SCRYPT_N = '1024';
delete process.env.TALLY_PASSPHRASE;
delete process.env.TALLY_NEW_PASSPHRASE;

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { TallyError } from '../core/errors.js';
import { accountIdFromPub } from '../core/keys.js';
import {
  adoptAccount, changePassphrase, createKey, exportKeyFile, importKey, keyInfo, loadSigner, readPassphrase, readPassphraseFile,
  withPassphrase, type HiddenInput,
} from './keystore.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-passwd-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let n = 0;
const freshHome = (): string => path.join(tmpRoot, `home${n++}`);

function code(err: unknown): string {
  assert.ok(err instanceof TallyError, String(err));
  return err.code;
}

/** A terminal that answers each prompt with the next line, and records what was printed. */
function fakeTerminal(answers: string[]) {
  const input = Object.assign(new PassThrough(), { isRaw: false, setRawMode(mode: boolean) { input.isRaw = mode; return input; } }) as PassThrough & HiddenInput;
  let printed = '';
  let prompts = 0;
  const output = new PassThrough();
  output.on('data', (c: Buffer) => {
    const text = c.toString();
    printed += text;
    if (text.includes('assphrase') && text.endsWith(': ')) {
      prompts++;
      const next = answers.shift();
      setImmediate(() => input.write(next === undefined ? '\u0004' : `${next}\r`));
    }
  });
  return { terminal: { input, output }, printed: () => printed, prompts: () => prompts };
}

function secretFile(dir: string, text: string, mode = 0o600): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `pass${n++}`);
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
  return file;
}

describe('keys passwd', () => {
  it('rewrites the key under the new passphrase, same key, mode 0600, no temporary file left', async () => {
    const home = freshHome();
    const info = await createKey(home, 'alice', 'old');
    const before = exportKeyFile(home, 'alice');
    const changed = await changePassphrase(home, 'alice', 'old', 'new pass');
    assert.equal(changed.pub, info.pub);
    assert.equal(changed.id, info.id);
    assert.notEqual(exportKeyFile(home, 'alice'), before);
    assert.equal(fs.statSync(info.path).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(path.dirname(info.path)), ['alice.json']);
    assert.equal((await loadSigner(home, 'alice', 'new pass')).pub, info.pub);
    await assert.rejects(loadSigner(home, 'alice', 'old'), (e) => code(e) === 'wrong_passphrase');
    assert.equal(keyInfo(home, 'alice').created, info.created);
  });

  it('a wrong current passphrase changes nothing', async () => {
    const home = freshHome();
    await createKey(home, 'alice', 'old');
    const before = exportKeyFile(home, 'alice');
    await assert.rejects(changePassphrase(home, 'alice', 'nope', 'new'), (e) => code(e) === 'wrong_passphrase');
    assert.equal(exportKeyFile(home, 'alice'), before);
  });
});

describe('passphrase sources', () => {
  it('--passphrase-file comes before $TALLY_PASSPHRASE; one line, a trailing newline dropped', async () => {
    const dir = path.join(tmpRoot, `files${n++}`);
    process.env.TALLY_PASSPHRASE = 'from-env';
    try {
      assert.equal(await readPassphrase('p: ', { file: secretFile(dir, 'from-file\n') }), 'from-file');
      assert.equal(await readPassphrase('p: ', { file: secretFile(dir, 'crlf\r\n') }), 'crlf');
      assert.equal(await readPassphrase('p: ', {}), 'from-env');
    } finally {
      delete process.env.TALLY_PASSPHRASE;
    }
    assert.throws(() => readPassphraseFile(secretFile(dir, 'a\nb\n')), (e) => code(e) === 'passphrase_file_invalid');
    assert.throws(() => readPassphraseFile(secretFile(dir, 'x', 0o644)), (e) => code(e) === 'key_file_permissions');
    assert.throws(() => readPassphraseFile(path.join(dir, 'absent')), (e) => code(e) === 'key_file_missing');
  });

  it('a wrong passphrase from a file or the environment fails at once, without asking', async () => {
    const home = freshHome();
    await createKey(home, 'alice', 'right');
    const term = fakeTerminal(['right']);
    const file = secretFile(path.join(tmpRoot, `files${n++}`), 'wrong\n');
    await assert.rejects(withPassphrase('alice', (p) => loadSigner(home, 'alice', p), { file, terminal: term.terminal }), (e) => code(e) === 'wrong_passphrase');
    assert.equal(term.prompts(), 0);
  });

  it('at a terminal a wrong passphrase is asked again, three times in all, then wrong_passphrase', async () => {
    const home = freshHome();
    const info = await createKey(home, 'alice', 'right');
    const second = fakeTerminal(['oops', 'right']);
    const signer = await withPassphrase('alice', (p) => loadSigner(home, 'alice', p), { terminal: second.terminal });
    assert.equal(signer.pub, info.pub);
    assert.equal(second.prompts(), 2);
    assert.match(second.printed(), /wrong passphrase, try again \(1 of 3\)/);

    const never = fakeTerminal(['a', 'b', 'c', 'right']);
    await assert.rejects(withPassphrase('alice', (p) => loadSigner(home, 'alice', p), { terminal: never.terminal }),
      (e) => code(e) === 'wrong_passphrase' && /3 wrong passphrases/.test((e as Error).message));
    assert.equal(never.prompts(), 3);
  });

  it('without a terminal and without a file or $TALLY_PASSPHRASE, it fails at once with a hint', { skip: process.stdin.isTTY === true }, async () => {
    await assert.rejects(withPassphrase('alice', async () => 'never'), (e) => code(e) === 'passphrase_required' && /--passphrase-file/.test((e as TallyError).hint ?? ''));
  });
});

describe('a key that took over an account by rotation', () => {
  it('signs for that account; the account is authenticated in the file and survives passwd and import', async () => {
    const home = freshHome();
    const old = await createKey(home, 'old', 'pw');
    const next = await createKey(home, 'next', 'pw2');
    const adopted = await adoptAccount(home, 'next', 'pw2', old.id);
    assert.equal(adopted.id, old.id);
    assert.equal(keyInfo(home, 'next').id, old.id);
    assert.equal((await loadSigner(home, 'next', 'pw2')).id, old.id);
    assert.equal((await loadSigner(home, 'next', 'pw2')).pub, next.pub);
    assert.notEqual(accountIdFromPub(next.pub), old.id);

    await changePassphrase(home, 'next', 'pw2', 'pw3');
    assert.equal((await loadSigner(home, 'next', 'pw3')).id, old.id);
    const copy = await importKey(freshHome(), 'copy', exportKeyFile(home, 'next'), 'pw3');
    assert.equal(copy.id, old.id);

    // Editing the account in the file breaks decryption (it is in the associated data).
    const file = JSON.parse(exportKeyFile(home, 'next')) as Record<string, unknown>;
    file.account = 'ab'.repeat(20);
    fs.writeFileSync(adopted.path, JSON.stringify(file), { mode: 0o600 });
    await assert.rejects(loadSigner(home, 'next', 'pw3'), (e) => code(e) === 'wrong_passphrase');
  });
});
