// Notary signing keys: RSA-2048/3072 (RSA-PSS, SHA-256, salt = 32 bytes, the hash length)
// and Ed25519, all through OpenSSL (node:crypto). Keys are generated here or imported from
// PEM (PKCS#1 "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY"), and stored as PKCS#8 DER.
import crypto, { type KeyObject } from 'node:crypto';
import { fail } from '../../core/errors.js';
import { toHex } from '../../core/encoding.js';
import { hash } from '../../core/hash.js';

export const KEY_TYPES = ['rsa2048', 'rsa3072', 'ed25519'] as const;
export type KeyType = (typeof KEY_TYPES)[number];
export type Algorithm = 'rsa-pss-sha256' | 'ed25519';

/** RSA-PSS salt length: the SHA-256 output length (RFC 8017 recommends sLen = hLen). */
export const PSS_SALT_BYTES = 32;

export interface KeyMaterial {
  type: KeyType;
  alg: Algorithm;
  /** key id: hex of the first 8 bytes of BLAKE3(SubjectPublicKeyInfo DER) */
  kid: string;
  publicPem: string;
  privateDer: Buffer;
}

export function algorithmOf(type: KeyType): Algorithm {
  return type === 'ed25519' ? 'ed25519' : 'rsa-pss-sha256';
}

export function parseKeyType(text: unknown): KeyType {
  if (typeof text !== 'string' || !(KEY_TYPES as readonly string[]).includes(text)) {
    fail('unknown_key_type', `unknown key type "${String(text).slice(0, 32)}"`, { hint: `use one of: ${KEY_TYPES.join(', ')}` });
  }
  return text as KeyType;
}

export function kidOf(publicKey: KeyObject): string {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return toHex(hash(der).subarray(0, 8));
}

function material(privateKey: KeyObject): KeyMaterial {
  const type = keyTypeOf(privateKey);
  const publicKey = crypto.createPublicKey(privateKey);
  return {
    type,
    alg: algorithmOf(type),
    kid: kidOf(publicKey),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }) as string,
    privateDer: privateKey.export({ format: 'der', type: 'pkcs8' }),
  };
}

function keyTypeOf(key: KeyObject): KeyType {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if (bits === 2048) return 'rsa2048';
    if (bits === 3072) return 'rsa3072';
    fail('unknown_key_type', `RSA keys must be 2048 or 3072 bits, this one has ${bits}`);
  }
  fail('unknown_key_type', `keys must be RSA (2048 or 3072 bits) or Ed25519, not ${key.asymmetricKeyType ?? 'unknown'}`);
}

export function generateKey(type: KeyType): KeyMaterial {
  const pair = type === 'ed25519'
    ? crypto.generateKeyPairSync('ed25519')
    : crypto.generateKeyPairSync('rsa', { modulusLength: type === 'rsa2048' ? 2048 : 3072, publicExponent: 0x10001 });
  return material(pair.privateKey);
}

const PEM_MAX_BYTES = 16 * 1024;

/** Import a private key from PEM: PKCS#1 or PKCS#8, unencrypted. */
export function importPem(pem: string): KeyMaterial {
  if (pem.length > PEM_MAX_BYTES) fail('pem_invalid', `a PEM key file may be at most ${PEM_MAX_BYTES} bytes`);
  const m = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem);
  if (!m) fail('pem_invalid', 'no PEM block found (expected "-----BEGIN PRIVATE KEY-----" or "-----BEGIN RSA PRIVATE KEY-----")');
  const label = m[1]!;
  if (label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type: 4,ENCRYPTED/.test(pem)) {
    fail('pem_encrypted', 'the PEM key is encrypted; decrypt it first (openssl pkey -in KEY -out PLAIN)');
  }
  if (label !== 'PRIVATE KEY' && label !== 'RSA PRIVATE KEY') {
    fail('pem_invalid', `PEM block "${label}" is not a private key; give PKCS#8 (PRIVATE KEY) or PKCS#1 (RSA PRIVATE KEY)`);
  }
  let key: KeyObject;
  try {
    key = crypto.createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    fail('pem_invalid', `the PEM key cannot be decoded: ${(err as Error).message}`, { cause: err });
  }
  return material(key);
}

export function privateKeyFromDer(der: Buffer): KeyObject {
  return crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

export function signWith(alg: Algorithm, key: KeyObject, message: Uint8Array): Buffer {
  if (alg === 'ed25519') return crypto.sign(null, message, key);
  return crypto.sign('sha256', message, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_BYTES });
}

export function verifyWith(alg: Algorithm, key: KeyObject, message: Uint8Array, sig: Uint8Array): boolean {
  if (alg === 'ed25519') return crypto.verify(null, message, key, sig);
  return crypto.verify('sha256', message, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_BYTES }, sig);
}
