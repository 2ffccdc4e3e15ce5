// Local keystore for the CLI: one passphrase-encrypted Ed25519 key per file under
// <home>/keys/. The file is safe to back up: the private key is only ever on disk
// encrypted with AES-256-GCM under a key stretched from the passphrase with scrypt.
import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { fail, TallyError } from '../core/errors.js';
import { accountIdFromPub, rawPublicKey, signerFromPrivateKey, type Signer } from '../core/keys.js';
import { checkSecretFileMode, writeSecretFile } from '../store/keyfile.js';
import {
  DEFAULT_SCRYPT_N, IV_BYTES, KEY_FILE_VERSION as FILE_VERSION, KEY_NAME, MAX_SCRYPT_N, MIN_SCRYPT_N, SALT_BYTES, SCRYPT_P, SCRYPT_R, TAG_BYTES,
  checkScryptN, keyFileText, keystoreAad, parseKeyFile, type KeyFile,
} from '../core/keystore-format.js';

export { KEY_NAME };

export interface KeyInfo {
  name: string;
  /**
   * The account id this key signs for: accountIdFromPub(pub), or, after `tally keys
   * rotate` moved an account to this key, that account's id.
   */
  id: string;
  /** base64url of the raw 32-byte public key */
  pub: string;
  /** path of the encrypted key file */
  path: string;
  /** ISO time the key was generated */
  created: string;
}

// ---------------------------------------------------------------------------
// Paths and names

export function defaultHome(): string {
  const env = process.env.TALLY_HOME;
  return env ? env : path.join(os.homedir(), '.tally');
}

function keysDir(home: string): string {
  return path.join(home, 'keys');
}

function keyPath(home: string, name: string): string {
  return path.join(keysDir(home), `${name}.json`);
}

// Names become file names, so the pattern also rules out path traversal.
function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !KEY_NAME.test(name)) {
    fail('key_name_invalid', `invalid key name ${JSON.stringify(name)}`, {
      hint: 'key names are 1-32 characters: lowercase letters, digits, "_" and "-", starting with a letter or digit',
    });
  }
}

function ensureKeysDir(home: string): string {
  const dir = keysDir(home);
  // mkdir's mode is only narrowed by the umask, never widened, so 0700 holds.
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function notFound(name: string, home: string): never {
  fail('key_not_found', `no key named ${name} in ${keysDir(home)}`, {
    status: 404,
    hint: `create it with \`tally keys new ${name}\`, or see the existing keys with \`tally keys list\``,
  });
}

/** Key names present in the keystore, sorted; files that are not ours are ignored. */
function keyNames(home: string): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(keysDir(home));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .filter((name) => KEY_NAME.test(name))
    .sort();
}

// ---------------------------------------------------------------------------
// Reading and validating key files

function invalid(where: string, why: string): never {
  fail('key_file_invalid', `key file ${where} is invalid: ${why}`, { status: 500 });
}

function readStored(home: string, name: string): { file: KeyFile; text: string; path: string } {
  checkName(name);
  const file = keyPath(home, name);
  if (!fs.existsSync(file)) notFound(name, home);
  checkSecretFileMode(file, 'key file');
  const text = fs.readFileSync(file, 'utf8');
  const parsed = parseKeyFile(text, file);
  // The name is authenticated, so a renamed file would not decrypt anyway; say why up front.
  if (parsed.name !== name) {
    fail('key_file_invalid', `key file ${file} holds key ${parsed.name}, not ${name}`, {
      status: 500,
      hint: `rename it back, or use \`tally keys import ${name}\` to store a copy under the new name`,
    });
  }
  return { file: parsed, text, path: file };
}

function infoOf(file: KeyFile, filePath: string): KeyInfo {
  return { name: file.name, id: file.account ?? file.id, pub: file.pub, path: filePath, created: file.created };
}

// ---------------------------------------------------------------------------
// Crypto

function scryptNFromEnv(): number {
  const env = process.env.TALLY_SCRYPT_N;
  if (env === undefined || env === '') return DEFAULT_SCRYPT_N;
  const n = /^\d+$/.test(env) ? Number(env) : NaN;
  if (!checkScryptN(n)) {
    fail('config_invalid', `TALLY_SCRYPT_N=${env} is not a power of two from ${MIN_SCRYPT_N} to ${MAX_SCRYPT_N}`, {
      hint: 'TALLY_SCRYPT_N exists to speed up tests; unset it for real keys',
    });
  }
  return n;
}

function scrypt(passphrase: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  // Node's default maxmem (32 MiB) is below the 128*N*r bytes that N=2^17 needs.
  const maxmem = 128 * r * (N + p + 2) + 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    crypto.scrypt(passphrase.normalize('NFC'), salt, 32, { N, r, p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

// The associated data binds name, id, pub (and account) to the ciphertext: core/keystore-format.ts.
function additionalData(name: string, id: string, pub: string, account?: string): Buffer {
  return Buffer.from(keystoreAad(name, id, pub, account));
}

async function encryptKey(name: string, privateKey: KeyObject, passphrase: string, created: string, account?: string): Promise<KeyFile> {
  const pub = rawPublicKey(crypto.createPublicKey(privateKey));
  const id = accountIdFromPub(pub);
  const N = scryptNFromEnv();
  const salt = crypto.randomBytes(SALT_BYTES);
  const iv = crypto.randomBytes(IV_BYTES);
  const key = await scrypt(passphrase, salt, N, SCRYPT_R, SCRYPT_P);
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  try {
    const cipher = crypto.createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(name, id, pub, account));
    const ciphertext = Buffer.concat([cipher.update(der), cipher.final()]);
    return {
      version: FILE_VERSION,
      name,
      id,
      pub,
      created,
      ...(account !== undefined ? { account } : {}),
      kdf: { name: 'scrypt', N, r: SCRYPT_R, p: SCRYPT_P, salt: salt.toString('base64url') },
      cipher: { name: 'aes-256-gcm', iv: iv.toString('base64url'), tag: cipher.getAuthTag().toString('base64url') },
      ciphertext: ciphertext.toString('base64url'),
    };
  } finally {
    key.fill(0);
    der.fill(0);
  }
}

async function decryptKey(file: KeyFile, passphrase: string, where: string): Promise<KeyObject> {
  const { N, r, p } = file.kdf;
  const key = await scrypt(passphrase, Buffer.from(file.kdf.salt, 'base64url'), N, r, p);
  let der: Buffer;
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(file.cipher.iv, 'base64url'), { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(file.name, file.id, file.pub, file.account));
    decipher.setAuthTag(Buffer.from(file.cipher.tag, 'base64url'));
    der = Buffer.concat([decipher.update(Buffer.from(file.ciphertext, 'base64url')), decipher.final()]);
  } catch {
    // GCM cannot tell a wrong passphrase from an edited file; the passphrase is far likelier.
    fail('wrong_passphrase', `the passphrase does not decrypt key ${file.name}`, {
      status: 401,
      hint: 'check the passphrase (and TALLY_PASSPHRASE if set); if it is right, the key file was modified',
    });
  } finally {
    key.fill(0);
  }
  try {
    let privateKey: KeyObject;
    try {
      privateKey = crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } catch {
      invalid(where, 'the decrypted key is not a PKCS#8 private key');
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') invalid(where, 'the decrypted key is not an Ed25519 key');
    if (rawPublicKey(crypto.createPublicKey(privateKey)) !== file.pub) invalid(where, 'the decrypted key does not match pub');
    return privateKey;
  } finally {
    der.fill(0);
  }
}

/** Write a brand-new key file; never overwrites (O_EXCL), so a racing create loses cleanly. */
function saveNew(home: string, file: KeyFile): KeyInfo {
  ensureKeysDir(home);
  const target = keyPath(home, file.name);
  try {
    writeSecretFile(target, keyFileText(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') keyExists(file.name, home);
    // Anything else failed after the file was created: do not leave a torn key file behind.
    fs.rmSync(target, { force: true });
    throw err;
  }
  return infoOf(file, target);
}

function keyExists(name: string, home: string): never {
  fail('key_exists', `a key named ${name} already exists in ${keysDir(home)}`, {
    status: 409,
    hint: 'choose another name; existing keys are never overwritten',
  });
}

function checkFree(home: string, name: string): void {
  checkName(name);
  // Checked before the slow scrypt so the user is not kept waiting for a refusal.
  if (fs.existsSync(keyPath(home, name))) keyExists(name, home);
}

// ---------------------------------------------------------------------------
// Public API

export async function createKey(home: string, name: string, passphrase: string): Promise<KeyInfo> {
  checkFree(home, name);
  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  return saveNew(home, await encryptKey(name, privateKey, passphrase, new Date().toISOString()));
}

export function listKeys(home: string): KeyInfo[] {
  return keyNames(home).map((name) => keyInfo(home, name));
}

export function keyInfo(home: string, name: string): KeyInfo {
  const { file, path: filePath } = readStored(home, name);
  return infoOf(file, filePath);
}

export async function loadSigner(home: string, name: string, passphrase: string): Promise<Signer & { id: string; name: string }> {
  const { file, path: filePath } = readStored(home, name);
  const privateKey = await decryptKey(file, passphrase, filePath);
  return { ...signerFromPrivateKey(privateKey), id: file.account ?? file.id, name: file.name };
}

/** The encrypted key file as stored: safe to back up, useless without the passphrase. */
export function exportKeyFile(home: string, name: string): string {
  return readStored(home, name).text;
}

/** The private key in the clear (PKCS#8 PEM). Callers must treat the result as a secret. */
export async function exportPrivatePem(home: string, name: string, passphrase: string): Promise<string> {
  const { file, path: filePath } = readStored(home, name);
  const privateKey = await decryptKey(file, passphrase, filePath);
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export async function importKey(home: string, name: string, text: string, passphrase: string): Promise<KeyInfo> {
  checkFree(home, name);
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let file: KeyFile;
    try {
      file = parseKeyFile(trimmed, 'being imported');
    } catch (err) {
      // Bad input from the user, not a broken keystore: report it as an import problem.
      if (err instanceof TallyError && err.code === 'key_file_invalid') fail('key_import_invalid', err.message);
      throw err;
    }
    const privateKey = await decryptKey(file, passphrase, 'being imported');
    // Re-encrypted (fresh salt and iv) because the name is part of the authenticated data.
    return saveNew(home, await encryptKey(name, privateKey, passphrase, file.created, file.account));
  }
  return saveNew(home, await encryptKey(name, parsePrivatePem(trimmed), passphrase, new Date().toISOString()));
}

/**
 * Replace a key file atomically, mode 0600 throughout: the new text goes to a temporary
 * file in the same directory (created 0600, fsynced), which is renamed over the old one,
 * and the directory is fsynced. A crash leaves the old file or the new one, never half.
 */
function replaceKeyFile(home: string, file: KeyFile): KeyInfo {
  const target = keyPath(home, file.name);
  const temp = path.join(keysDir(home), `.${file.name}.json.${process.pid}.tmp`);
  fs.rmSync(temp, { force: true });
  try {
    writeSecretFile(temp, keyFileText(file));
    fs.renameSync(temp, target);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
  const dir = fs.openSync(keysDir(home), 'r');
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
  return infoOf(file, target);
}

/** `tally keys passwd`: the same key under a new passphrase (fresh salt and iv). */
export async function changePassphrase(home: string, name: string, oldPassphrase: string, newPassphrase: string): Promise<KeyInfo> {
  const { file, path: filePath } = readStored(home, name);
  const privateKey = await decryptKey(file, oldPassphrase, filePath);
  return replaceKeyFile(home, await encryptKey(name, privateKey, newPassphrase, file.created, file.account));
}

/** After `auth.rotate` committed: the key `name` now signs for `account` (authenticated in the file). */
export async function adoptAccount(home: string, name: string, passphrase: string, account: string): Promise<KeyInfo> {
  const { file, path: filePath } = readStored(home, name);
  const privateKey = await decryptKey(file, passphrase, filePath);
  return replaceKeyFile(home, await encryptKey(name, privateKey, passphrase, file.created, account === file.id ? undefined : account));
}

function parsePrivatePem(text: string): KeyObject {
  const hint = 'expected a tally key file (JSON) or an unencrypted Ed25519 PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----")';
  if (!/^-----BEGIN PRIVATE KEY-----\r?\n[\s\S]*\n-----END PRIVATE KEY-----$/.test(text)) {
    fail('key_import_invalid', 'the text to import is neither a tally key file nor a PKCS#8 private key PEM', { hint });
  }
  let privateKey: KeyObject;
  try {
    privateKey = crypto.createPrivateKey({ key: text, format: 'pem' });
  } catch {
    fail('key_import_invalid', 'the PEM to import is corrupt', { hint });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    fail('key_import_invalid', `the PEM to import holds a ${privateKey.asymmetricKeyType ?? 'unknown'} key, not Ed25519`, { hint });
  }
  return privateKey;
}

export function resolveKeyName(home: string, explicit?: string): string {
  if (explicit !== undefined) {
    checkName(explicit);
    return explicit;
  }
  const env = process.env.TALLY_KEY;
  if (env) {
    checkName(env);
    return env;
  }
  const names = keyNames(home);
  if (names.length === 1) return names[0] as string;
  if (names.includes('default')) return 'default';
  if (names.length === 0) {
    fail('key_not_found', `there are no keys in ${keysDir(home)}`, {
      status: 404,
      hint: 'create one with `tally keys new NAME`, then pass `--key NAME` (or set TALLY_KEY)',
    });
  }
  fail('key_ambiguous', `there are ${names.length} keys (${names.join(', ')}) and none is named default`, {
    hint: 'pass `--key NAME` or set TALLY_KEY to choose one',
  });
}

// ---------------------------------------------------------------------------
// Passphrase input

/** Where a passphrase comes from: a file (`--passphrase-file`), else the environment, else the terminal. */
export interface PassphraseOptions {
  /** --passphrase-file: the first line of this file (mode 0600 or 0400) */
  file?: string;
  /** the environment variable to read (default TALLY_PASSPHRASE); set-but-empty counts */
  envVar?: string;
  /** ask twice (a new passphrase typed at a terminal) */
  confirm?: boolean;
  /** the terminal; default: process.stdin/stderr when stdin is a TTY (tests pass their own) */
  terminal?: { input: HiddenInput; output: NodeJS.WritableStream };
}

/** How many times a terminal user may type a wrong passphrase before the command fails. */
export const PASSPHRASE_TRIES_MAX = 3;
const PASSPHRASE_FILE_BYTES_MAX = 1024;

/** The passphrase in a file: its first line (without the newline), from a file only its owner can read. */
export function readPassphraseFile(file: string): string {
  checkSecretFileMode(file, 'passphrase file');
  const bytes = fs.readFileSync(file);
  if (bytes.length > PASSPHRASE_FILE_BYTES_MAX) fail('passphrase_file_invalid', `passphrase file ${file} is over ${PASSPHRASE_FILE_BYTES_MAX} bytes`, { hint: 'it holds one line: the passphrase' });
  const text = bytes.toString('utf8');
  const eol = text.search(/\r?\n/);
  if (eol >= 0 && text.slice(eol).trim() !== '') fail('passphrase_file_invalid', `passphrase file ${file} has more than one line`, { hint: 'it holds one line: the passphrase' });
  return eol >= 0 ? text.slice(0, eol) : text;
}

function terminalOf(options: PassphraseOptions): PassphraseOptions['terminal'] {
  if (options.terminal) return options.terminal;
  return process.stdin.isTTY ? { input: process.stdin, output: process.stderr } : undefined;
}

/** A passphrase: --passphrase-file, else $TALLY_PASSPHRASE, else the terminal. */
export async function readPassphrase(prompt: string, options: PassphraseOptions = {}): Promise<string> {
  if (options.file !== undefined) return readPassphraseFile(options.file);
  // Set-but-empty counts: scripts may legitimately use an empty passphrase.
  const env = process.env[options.envVar ?? 'TALLY_PASSPHRASE'];
  if (env !== undefined) return env;
  const terminal = terminalOf(options);
  if (!terminal) {
    fail('passphrase_required', 'a passphrase is needed and there is no terminal to ask for it', {
      hint: `pass --passphrase-file FILE, or set ${options.envVar ?? 'TALLY_PASSPHRASE'} in the environment, when running non-interactively`,
    });
  }
  const first = await readHiddenLine(terminal.input, terminal.output, prompt);
  if (options.confirm) {
    const second = await readHiddenLine(terminal.input, terminal.output, 'Repeat to confirm: ');
    if (first !== second) fail('passphrase_mismatch', 'the two passphrases do not match', { hint: 'try again' });
  }
  return first;
}

/**
 * Run `use` with the passphrase of key `name`. From a file or the environment it is tried
 * once (a script must not loop); at a terminal a wrong one is asked again, up to
 * PASSPHRASE_TRIES_MAX times, then the command fails with wrong_passphrase.
 */
export async function withPassphrase<T>(name: string, use: (passphrase: string) => Promise<T>, options: PassphraseOptions = {}): Promise<T> {
  const prompt = `Passphrase for key "${name}": `;
  const interactive = options.file === undefined && process.env[options.envVar ?? 'TALLY_PASSPHRASE'] === undefined;
  const terminal = interactive ? terminalOf(options) : undefined;
  for (let attempt = 1; ; attempt++) {
    const passphrase = await readPassphrase(prompt, options);
    try {
      return await use(passphrase);
    } catch (err) {
      if (!terminal || !(err instanceof TallyError) || err.code !== 'wrong_passphrase') throw err;
      if (attempt >= PASSPHRASE_TRIES_MAX) {
        fail('wrong_passphrase', `${PASSPHRASE_TRIES_MAX} wrong passphrases for key ${name}`, {
          status: 401, hint: 'nothing was changed; if you lost the passphrase, the key cannot be recovered (restore a backup of the key file whose passphrase you know)',
        });
      }
      terminal.output.write(`wrong passphrase, try again (${attempt} of ${PASSPHRASE_TRIES_MAX})\n`);
    }
  }
}

/** The warning `keys new|passwd|import` print for an empty passphrase (the file alone then unlocks the key). */
export function emptyPassphraseWarning(name: string): string {
  return `warning: key "${name}" has an empty passphrase: anyone who copies its file can sign with it. ` +
    `Fine for a development chain only; set one with \`tally keys passwd ${name}\`.`;
}

/** What readHiddenLine needs from its input; process.stdin when it is a TTY. */
export interface HiddenInput extends NodeJS.ReadableStream {
  isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/**
 * Read one line with echo off. Exported for tests; use readPassphrase.
 * Raw mode means we see every key: Enter ends, Backspace edits, Ctrl-C cancels
 * (raw mode suppresses SIGINT, so we must turn it into an error ourselves).
 */
export function readHiddenLine(input: HiddenInput, output: NodeJS.WritableStream, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const wasRaw = input.isRaw === true;
    const decoder = new StringDecoder('utf8');
    let chars: string[] = [];
    let escape: 'none' | 'start' | 'sequence' = 'none';

    const finish = (err: TallyError | null): void => {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.removeListener('error', onError);
      input.setRawMode?.(wasRaw);
      input.pause();
      output.write('\n');
      const line = chars.join('');
      chars = [];
      if (err) reject(err);
      else resolve(line);
    };
    const cancelled = (): TallyError => new TallyError('cancelled', 'cancelled', { hint: 'nothing was changed' });
    const onEnd = (): void => finish(cancelled());
    const onError = (): void => finish(new TallyError('passphrase_required', 'could not read the passphrase from the terminal'));
    const onData = (chunk: Buffer | string): void => {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      for (const ch of text) {
        // Skip terminal escape sequences (arrow keys and the like) instead of taking them as text.
        if (escape === 'start') {
          escape = ch === '[' || ch === 'O' ? 'sequence' : 'none';
          continue;
        }
        if (escape === 'sequence') {
          if (ch >= '@' && ch <= '~') escape = 'none';
          continue;
        }
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003') return finish(cancelled());
        if (ch === '\u0004') {
          if (chars.length === 0) return finish(cancelled());
          return finish(null);
        }
        if (ch === '\u007f' || ch === '\b') chars.pop();
        else if (ch === '\u0015') chars = []; // Ctrl-U: clear the line
        else if (ch === '\u001b') escape = 'start';
        else if (ch >= ' ') chars.push(ch);
      }
    };

    output.write(prompt);
    input.setRawMode?.(true);
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onError);
    input.resume();
  });
}
