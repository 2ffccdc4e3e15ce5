// An oracle operator's secrets on disk, under <home>/oracle/: the BIP340 key, encrypted
// like the CLI's Ed25519 keys (scrypt, then AES-256-GCM with the name and public key
// bound in as additional data; file mode 0600), and one file per announced event holding
// its nonce secrets, encrypted under a key derived from the oracle key. A nonce signs one
// outcome only: the event file records what was signed before the signature leaves this
// machine, and a different outcome for the same event is refused for ever (two outcomes
// under one nonce reveal the oracle's key).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../core/errors.js';
import { toHex } from '../../core/encoding.js';
import { checkSecretFileMode, writeSecretFile } from '../../store/keyfile.js';
import { taggedHash, xOnly } from './bip340.js';
import { EVENT_ID } from './state.js';

export const ORACLE_KEY_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const SCRYPT_N_DEFAULT = 131072;
const SCRYPT_N_MIN = 1024;
const SCRYPT_N_MAX = 1 << 20;
const FILE_BYTES_MAX = 64 * 1024;

interface Sealed { iv: string; tag: string; ciphertext: string }

interface OracleKeyFile {
  version: 1;
  kind: 'tally-oracle-key';
  name: string;
  /** x-only public key, hex */
  pubkey: string;
  created: string;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: { name: 'aes-256-gcm' } & Sealed;
}

export interface OracleKeyInfo { name: string; pubkey: string; path: string; created: string }

/** What an event file holds once decrypted. */
export interface EventSecrets {
  eventId: string;
  /** nonce secrets, hex, sign nonce first */
  nonces: string[];
  /** the outcome strings signed with them, once signed: never another */
  signed?: string[];
}

const dirOf = (home: string): string => path.join(home, 'oracle');
const keyPathOf = (home: string, name: string): string => path.join(dirOf(home), `${name}.json`);
const eventPathOf = (home: string, name: string, eventId: string): string => path.join(dirOf(home), `${name}.events`, `${eventId}.json`);

function checkName(name: string): void {
  if (!ORACLE_KEY_NAME.test(name)) fail('key_name_invalid', `invalid oracle key name ${JSON.stringify(name)}`, { hint: 'names are 1-32 of a-z 0-9 _ -, starting with a letter or digit' });
}

function scryptN(): number {
  const env = process.env.TALLY_SCRYPT_N;
  if (env === undefined || env === '') return SCRYPT_N_DEFAULT;
  const n = Number(env);
  if (!Number.isInteger(n) || n < SCRYPT_N_MIN || n > SCRYPT_N_MAX || (n & (n - 1)) !== 0) fail('config_invalid', `TALLY_SCRYPT_N=${env} is not a power of two from ${SCRYPT_N_MIN} to ${SCRYPT_N_MAX}`);
  return n;
}

function stretch(passphrase: string, salt: Buffer, N: number, r: number, p: number): Buffer {
  return crypto.scryptSync(passphrase.normalize('NFC'), salt, 32, { N, r, p, maxmem: 128 * r * (N + p + 2) + 16 * 1024 * 1024 });
}

function seal(key: Buffer, aad: string, plain: Buffer): Sealed {
  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad));
  const ciphertext = Buffer.concat([c.update(plain), c.final()]);
  return { iv: iv.toString('base64url'), tag: c.getAuthTag().toString('base64url'), ciphertext: ciphertext.toString('base64url') };
}

function open(key: Buffer, aad: string, s: Sealed): Buffer | undefined {
  try {
    const d = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(s.iv, 'base64url'));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(Buffer.from(s.tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(s.ciphertext, 'base64url')), d.final()]);
  } catch {
    return undefined;
  }
}

const keyAad = (name: string, pubkey: string): string => `tally/oracle-key/v1\n${name}\n${pubkey}\n`;

function readJson(file: string, what: string): unknown {
  checkSecretFileMode(file, what);
  const bytes = fs.readFileSync(file);
  if (bytes.length > FILE_BYTES_MAX) fail('key_file_invalid', `${what} ${file} is too large`, { status: 500 });
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    fail('key_file_invalid', `${what} ${file} is not JSON`, { status: 500 });
  }
}

function readKeyFile(home: string, name: string): { file: OracleKeyFile; path: string } {
  checkName(name);
  const p = keyPathOf(home, name);
  if (!fs.existsSync(p)) fail('key_not_found', `no oracle key named ${name} in ${dirOf(home)}`, { status: 404, hint: `create one with \`tally oracle keys new ${name}\`` });
  const f = readJson(p, 'oracle key file') as OracleKeyFile;
  const k = f?.kdf;
  if (f?.version !== 1 || f.kind !== 'tally-oracle-key' || f.name !== name || !/^[0-9a-f]{64}$/.test(f.pubkey ?? '') || k?.name !== 'scrypt'
    || !Number.isInteger(k.N) || k.N < SCRYPT_N_MIN || k.N > SCRYPT_N_MAX || k.r !== 8 || k.p !== 1) {
    fail('key_file_invalid', `oracle key file ${p} is not a valid tally oracle key`, { status: 500 });
  }
  return { file: f, path: p };
}

export function createOracleKey(home: string, name: string, passphrase: string): OracleKeyInfo {
  checkName(name);
  fs.mkdirSync(dirOf(home), { recursive: true, mode: 0o700 });
  const p = keyPathOf(home, name);
  if (fs.existsSync(p)) fail('key_exists', `an oracle key named ${name} already exists`, { status: 409, hint: 'choose another name; keys are never overwritten' });
  const secret = Buffer.from(crypto.randomBytes(32));
  const pubkey = toHex(xOnly(secret));
  const N = scryptN();
  const salt = crypto.randomBytes(16);
  const key = stretch(passphrase, salt, N, 8, 1);
  const created = new Date().toISOString();
  const file: OracleKeyFile = {
    version: 1, kind: 'tally-oracle-key', name, pubkey, created,
    kdf: { name: 'scrypt', N, r: 8, p: 1, salt: salt.toString('base64url') },
    cipher: { name: 'aes-256-gcm', ...seal(key, keyAad(name, pubkey), secret) },
  };
  key.fill(0);
  secret.fill(0);
  writeSecretFile(p, JSON.stringify(file, null, 2) + '\n');
  return { name, pubkey, path: p, created };
}

export function oracleKeyInfo(home: string, name: string): OracleKeyInfo {
  const { file, path: p } = readKeyFile(home, name);
  return { name, pubkey: file.pubkey, path: p, created: file.created };
}

/** The key's secret scalar (32 bytes); wrong_passphrase when it does not decrypt. */
export function unlockOracleKey(home: string, name: string, passphrase: string): { secret: Buffer; pubkey: string } {
  const { file } = readKeyFile(home, name);
  const key = stretch(passphrase, Buffer.from(file.kdf.salt, 'base64url'), file.kdf.N, 8, 1);
  const secret = open(key, keyAad(name, file.pubkey), file.cipher);
  key.fill(0);
  if (!secret || secret.length !== 32) fail('wrong_passphrase', `the passphrase does not decrypt oracle key ${name}`, { status: 401, hint: 'check the passphrase ($TALLY_ORACLE_PASSPHRASE or --oracle-passphrase-file)' });
  if (toHex(xOnly(secret)) !== file.pubkey) fail('key_file_invalid', `oracle key file ${name} does not match its public key`, { status: 500 });
  return { secret, pubkey: file.pubkey };
}

// ---------------------------------------------------------------------------------------
// Event files: nonce secrets, sealed under a key derived from the oracle key

const eventKeyOf = (secret: Uint8Array): Buffer => Buffer.from(taggedHash('Tally/oracle/event-file/v0', secret));
const eventAad = (pubkey: string, eventId: string): string => `tally/oracle-event/v1\n${pubkey}\n${eventId}\n`;

function checkEventId(eventId: string): void {
  if (!EVENT_ID.test(eventId)) fail('bad_flag', `invalid event id ${JSON.stringify(eventId)}: 1-64 of A-Z a-z 0-9 . _ : -`);
}

/** Whether an event file exists (its nonces were generated here). */
export function hasEventSecrets(home: string, name: string, eventId: string): boolean {
  checkEventId(eventId);
  return fs.existsSync(eventPathOf(home, name, eventId));
}

/** Write an event's secrets: `fresh` refuses to replace a file (new nonces are made once per event). */
export function saveEventSecrets(home: string, name: string, secret: Uint8Array, pubkey: string, e: EventSecrets, fresh: boolean): void {
  checkEventId(e.eventId);
  const p = eventPathOf(home, name, e.eventId);
  fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o700 });
  const sealed = JSON.stringify({ version: 1, kind: 'tally-oracle-event', eventId: e.eventId, ...seal(eventKeyOf(secret), eventAad(pubkey, e.eventId), Buffer.from(JSON.stringify(e))) }) + '\n';
  if (fresh) {
    if (fs.existsSync(p)) fail('event_exists', `nonces for event ${e.eventId} were already generated (${p}); nonces are made once`, { status: 409 });
    writeSecretFile(p, sealed);
    return;
  }
  // Replace atomically: a crash leaves the old record or the new one, never neither.
  const tmp = `${p}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  writeSecretFile(tmp, sealed);
  fs.renameSync(tmp, p);
}

export function loadEventSecrets(home: string, name: string, secret: Uint8Array, pubkey: string, eventId: string): EventSecrets {
  checkEventId(eventId);
  const p = eventPathOf(home, name, eventId);
  if (!fs.existsSync(p)) fail('unknown_event', `no nonces for event ${eventId} in ${path.dirname(p)}: only events announced from this keystore can be attested`, { status: 404 });
  const f = readJson(p, 'oracle event file') as Sealed & { eventId?: string };
  const plain = open(eventKeyOf(secret), eventAad(pubkey, eventId), f);
  if (!plain) fail('key_file_invalid', `oracle event file ${p} does not decrypt under oracle key ${name}`, { status: 500 });
  const e = JSON.parse(plain.toString('utf8')) as EventSecrets;
  if (e.eventId !== eventId) fail('key_file_invalid', `oracle event file ${p} holds event ${e.eventId}`, { status: 500 });
  return e;
}
