// The keystore's file format, shared by the CLI (src/cli/keystore.ts) and the browser
// wallet, so a key made by one unlocks in the other. One Ed25519 key per JSON file:
//
//   {version: 1, name, id, pub, created, account?,
//    kdf: {name: "scrypt", N, r, p, salt}, cipher: {name: "aes-256-gcm", iv, tag}, ciphertext}
//
// ciphertext = AES-256-GCM(key = scrypt(NFC(passphrase), salt, N, r, p, 32 bytes), iv,
// plaintext = the key's PKCS#8 DER, associated data = keystoreAad(name, id, pub, account)).
// Nothing here is Node-only: scrypt from @noble/hashes, AES-GCM through WebCrypto
// (globalThis.crypto.subtle, in browsers and in Node). The CLI keeps node:crypto's native
// scrypt for speed and uses the parser and the associated data from here.
import { ed25519 } from '@noble/curves/ed25519.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { B64U_TEXT, decodeB64u, encodeB64u } from './base64url.js';
import { fail } from './errors.js';
import { accountIdPure } from './tx-signing.js';

export const KEY_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const KEY_FILE_VERSION = 1;
export const DEFAULT_SCRYPT_N = 131072; // 2^17: roughly 0.3 s (native) and 128 MiB per unlock, on purpose.
export const MIN_SCRYPT_N = 1024;
// Upper bound on what we accept from a file, so a hostile key file cannot make us
// allocate gigabytes before the passphrase is even checked.
export const MAX_SCRYPT_N = 1 << 20;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
export const SALT_BYTES = 16;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const MAX_CIPHERTEXT_BYTES = 4096; // an Ed25519 PKCS#8 DER is 48 bytes; anything huge is not ours.
/** A key file is well under this; a bigger text is refused before JSON.parse. */
export const KEY_FILE_BYTES_MAX = 16 * 1024;
const ACCOUNT_ID = /^[0-9a-f]{40}$/;

type Subtle = typeof globalThis.crypto.subtle;
type WebCryptoKey = Awaited<ReturnType<Subtle['importKey']>>;

/** The RFC 8410 PKCS#8 DER of an Ed25519 key is this prefix and the 32-byte seed. */
const ED25519_PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

export interface KeyFile {
  version: 1;
  name: string;
  id: string;
  pub: string;
  created: string;
  /** the account this key took over by rotation (absent: the key's own account, `id`) */
  account?: string;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: { name: 'aes-256-gcm'; iv: string; tag: string };
  ciphertext: string;
}

function invalid(where: string, why: string): never {
  fail('key_file_invalid', `key file ${where} is invalid: ${why}`, { status: 500 });
}

function b64uField(value: unknown, where: string, field: string, byteLength?: number): Uint8Array {
  if (typeof value !== 'string' || !B64U_TEXT.test(value)) invalid(where, `${field} must be base64url`);
  let bytes: Uint8Array;
  try {
    bytes = decodeB64u(value, field);
  } catch {
    invalid(where, `${field} is not canonical base64url`);
  }
  if (byteLength !== undefined && bytes.length !== byteLength) invalid(where, `${field} must be ${byteLength} bytes, got ${bytes.length}`);
  return bytes;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function checkScryptN(n: number): boolean {
  return isPowerOfTwo(n) && n >= MIN_SCRYPT_N && n <= MAX_SCRYPT_N;
}

/** Parse and check every field, so decryption only ever sees well-formed input. */
export function parseKeyFile(text: string, where: string): KeyFile {
  if (typeof text !== 'string' || text.length > KEY_FILE_BYTES_MAX) invalid(where, `larger than ${KEY_FILE_BYTES_MAX} bytes`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    invalid(where, 'not valid JSON');
  }
  if (!isRecord(data)) invalid(where, 'not a JSON object');
  if (data.version !== KEY_FILE_VERSION) invalid(where, `unsupported version ${JSON.stringify(data.version)} (expected ${KEY_FILE_VERSION})`);
  if (typeof data.name !== 'string' || !KEY_NAME.test(data.name)) invalid(where, 'name is missing or not a valid key name');
  b64uField(data.pub, where, 'pub', 32);
  const pub = data.pub as string;
  if (data.id !== accountIdPure(pub)) invalid(where, 'id does not match pub');
  if (typeof data.created !== 'string' || Number.isNaN(Date.parse(data.created))) invalid(where, 'created is not an ISO time');
  if (data.account !== undefined && (typeof data.account !== 'string' || !ACCOUNT_ID.test(data.account) || data.account === data.id)) {
    invalid(where, 'account must be a 40-hex account id other than id');
  }

  const kdf = data.kdf;
  if (!isRecord(kdf) || kdf.name !== 'scrypt') invalid(where, 'kdf must be scrypt');
  const { N, r, p } = kdf;
  if (typeof N !== 'number' || !checkScryptN(N)) invalid(where, `kdf.N must be a power of two from ${MIN_SCRYPT_N} to ${MAX_SCRYPT_N}`);
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1 || r > 32) invalid(where, 'kdf.r must be an integer from 1 to 32');
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 16) invalid(where, 'kdf.p must be an integer from 1 to 16');
  b64uField(kdf.salt, where, 'kdf.salt', SALT_BYTES);

  const cipher = data.cipher;
  if (!isRecord(cipher) || cipher.name !== 'aes-256-gcm') invalid(where, 'cipher must be aes-256-gcm');
  b64uField(cipher.iv, where, 'cipher.iv', IV_BYTES);
  b64uField(cipher.tag, where, 'cipher.tag', TAG_BYTES);
  const ciphertext = b64uField(data.ciphertext, where, 'ciphertext');
  if (ciphertext.length === 0 || ciphertext.length > MAX_CIPHERTEXT_BYTES) invalid(where, 'ciphertext has an implausible length');

  return {
    version: KEY_FILE_VERSION,
    name: data.name,
    id: data.id as string,
    pub,
    created: data.created,
    ...(data.account !== undefined ? { account: data.account as string } : {}),
    kdf: { name: 'scrypt', N, r, p, salt: kdf.salt as string },
    cipher: { name: 'aes-256-gcm', iv: cipher.iv as string, tag: cipher.tag as string },
    ciphertext: data.ciphertext as string,
  };
}

// Binding name, id, pub (and the account a rotation moved to this key) into the tag means
// none of them can be edited or swapped between files without decryption failing. The
// fields cannot contain newlines.
export function keystoreAad(name: string, id: string, pub: string, account?: string): Uint8Array {
  return utf8ToBytes(`tally/keystore/v1\n${name}\n${id}\n${pub}\n${account !== undefined ? `${account}\n` : ''}`);
}

/** The file as the CLI writes it (2-space JSON and a newline), so exports are byte-compatible. */
export function keyFileText(file: KeyFile): string {
  return JSON.stringify(file, null, 2) + '\n';
}

// ---------------------------------------------------------------------------
// PKCS#8 for Ed25519

export function pkcs8FromSeed(seed: Uint8Array): Uint8Array {
  if (seed.length !== 32) fail('key_import_invalid', 'an Ed25519 seed is 32 bytes');
  return concatBytes(ED25519_PKCS8_PREFIX, seed);
}

/** The 32-byte seed inside an Ed25519 PKCS#8 DER, or a key_import_invalid error. */
export function seedFromPkcs8(der: Uint8Array): Uint8Array {
  const prefixOk = der.length === ED25519_PKCS8_PREFIX.length + 32 && ED25519_PKCS8_PREFIX.every((b, i) => der[i] === b);
  if (!prefixOk) fail('key_import_invalid', 'the key is not an Ed25519 PKCS#8 private key');
  return der.subarray(ED25519_PKCS8_PREFIX.length);
}

/** base64url of the raw public key of an Ed25519 seed (@noble/curves, RFC 8032). */
export function publicKeyOfSeed(seed: Uint8Array): string {
  return encodeB64u(ed25519.getPublicKey(seed));
}

// ---------------------------------------------------------------------------
// Encryption (WebCrypto AES-GCM, @noble/hashes scrypt)

function subtle(): Subtle {
  const s = globalThis.crypto?.subtle;
  if (!s) fail('webcrypto_missing', 'this environment has no WebCrypto (crypto.subtle); a browser page needs a secure context (https or localhost)');
  return s;
}

export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

async function aesKey(passphrase: string, salt: Uint8Array, N: number, r: number, p: number, onProgress?: (done: number) => void): Promise<WebCryptoKey> {
  const raw = await scryptAsync(passphrase.normalize('NFC'), salt, {
    N, r, p, dkLen: 32, maxmem: 128 * r * (N + p + 2) + 16 * 1024 * 1024, ...(onProgress ? { onProgress } : {}),
  });
  try {
    return await subtle().importKey('raw', raw as Uint8Array<ArrayBuffer>, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  } finally {
    raw.fill(0);
  }
}

export interface SealOptions {
  name: string;
  /** the Ed25519 PKCS#8 DER (the caller zeroes it afterwards) */
  pkcs8: Uint8Array;
  passphrase: string;
  /** ISO time; default now */
  created?: string;
  account?: string;
  /** scrypt N; default DEFAULT_SCRYPT_N */
  scryptN?: number;
  onProgress?: (done: number) => void;
}

/** Encrypt a key into the keystore format; the public key and id are computed from the key. */
export async function sealKeyFile(options: SealOptions): Promise<KeyFile> {
  const { name, passphrase, account } = options;
  if (!KEY_NAME.test(name)) fail('key_name_invalid', `invalid key name ${JSON.stringify(name)}`, { hint: 'key names are 1-32 characters: lowercase letters, digits, "_" and "-", starting with a letter or digit' });
  const N = options.scryptN ?? DEFAULT_SCRYPT_N;
  if (!checkScryptN(N)) fail('config_invalid', `scrypt N ${N} is not a power of two from ${MIN_SCRYPT_N} to ${MAX_SCRYPT_N}`);
  const pub = publicKeyOfSeed(seedFromPkcs8(options.pkcs8));
  const id = accountIdPure(pub);
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const key = await aesKey(passphrase, salt, N, SCRYPT_R, SCRYPT_P, options.onProgress);
  const sealed = new Uint8Array(await subtle().encrypt(
    { name: 'AES-GCM', iv: iv as Uint8Array<ArrayBuffer>, additionalData: keystoreAad(name, id, pub, account) as Uint8Array<ArrayBuffer>, tagLength: TAG_BYTES * 8 },
    key, options.pkcs8 as Uint8Array<ArrayBuffer>,
  ));
  // WebCrypto appends the tag to the ciphertext; the file keeps them apart, as node:crypto does.
  return {
    version: KEY_FILE_VERSION,
    name,
    id,
    pub,
    created: options.created ?? new Date().toISOString(),
    ...(account !== undefined ? { account } : {}),
    kdf: { name: 'scrypt', N, r: SCRYPT_R, p: SCRYPT_P, salt: encodeB64u(salt) },
    cipher: { name: 'aes-256-gcm', iv: encodeB64u(iv), tag: encodeB64u(sealed.subarray(sealed.length - TAG_BYTES)) },
    ciphertext: encodeB64u(sealed.subarray(0, sealed.length - TAG_BYTES)),
  };
}

/**
 * Decrypt a parsed key file: the PKCS#8 DER, checked to be an Ed25519 key whose public key
 * is the file's `pub`. The caller zeroes the result once it has imported it.
 */
export async function openKeyFile(file: KeyFile, passphrase: string, where: string, onProgress?: (done: number) => void): Promise<Uint8Array> {
  const { N, r, p } = file.kdf;
  const key = await aesKey(passphrase, decodeB64u(file.kdf.salt, 'kdf.salt'), N, r, p, onProgress);
  let der: Uint8Array;
  try {
    const sealed = concatBytes(decodeB64u(file.ciphertext, 'ciphertext'), decodeB64u(file.cipher.tag, 'cipher.tag'));
    der = new Uint8Array(await subtle().decrypt(
      { name: 'AES-GCM', iv: decodeB64u(file.cipher.iv, 'cipher.iv') as Uint8Array<ArrayBuffer>, additionalData: keystoreAad(file.name, file.id, file.pub, file.account) as Uint8Array<ArrayBuffer>, tagLength: TAG_BYTES * 8 },
      key, sealed as Uint8Array<ArrayBuffer>,
    ));
  } catch {
    // GCM cannot tell a wrong passphrase from an edited file; the passphrase is far likelier.
    fail('wrong_passphrase', `the passphrase does not decrypt key ${file.name}`, {
      status: 401,
      hint: 'check the passphrase; if it is right, the key file was modified',
    });
  }
  let seed: Uint8Array;
  try {
    seed = seedFromPkcs8(der);
  } catch {
    der.fill(0);
    invalid(where, 'the decrypted key is not an Ed25519 PKCS#8 private key');
  }
  if (publicKeyOfSeed(seed) !== file.pub) {
    der.fill(0);
    invalid(where, 'the decrypted key does not match pub');
  }
  return der;
}
