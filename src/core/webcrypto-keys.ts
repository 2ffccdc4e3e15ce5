// Ed25519 keys held by WebCrypto: what the browser wallet signs with. A key made here is
// non-extractable unless the user asks otherwise, so no script on the page (ours included)
// can read its bytes: it can only ask the browser to sign. The WebCryptoKey object itself is
// stored in IndexedDB (structured clone keeps it opaque). Node has the same API
// (globalThis.crypto.subtle), which is how the tests check these signatures against the
// node's verifier.
import { decodeB64u, encodeB64u } from './base64url.js';
import { fail } from './errors.js';
import { publicKeyOfSeed, seedFromPkcs8 } from './keystore-format.js';
import type { AsyncSigner } from './tx-signing.js';

const ED25519 = { name: 'Ed25519' } as const;

// WebCrypto's types, taken from globalThis so this compiles against Node's types and the DOM's.
export type Subtle = typeof globalThis.crypto.subtle;
export type WebCryptoKey = Awaited<ReturnType<Subtle['importKey']>>;
interface WebCryptoKeyPair { privateKey: WebCryptoKey; publicKey: WebCryptoKey }

function subtle(): Subtle {
  const s = globalThis.crypto?.subtle;
  if (!s) fail('webcrypto_missing', 'this environment has no WebCrypto (crypto.subtle); a browser page needs a secure context (https or localhost)');
  return s;
}

export interface WebKey {
  privateKey: WebCryptoKey;
  /** base64url of the raw 32-byte public key */
  pub: string;
}

/** A new key pair; `extractable` false (the default) means the private key can never be exported. */
export async function generateWebKey(extractable = false): Promise<WebKey> {
  let pair: WebCryptoKeyPair;
  try {
    pair = (await subtle().generateKey(ED25519, extractable, ['sign', 'verify'])) as WebCryptoKeyPair;
  } catch {
    fail('ed25519_unsupported', 'this browser has no Ed25519 in WebCrypto', { hint: 'use a current Chromium, Firefox or Safari' });
  }
  const raw = new Uint8Array(await subtle().exportKey('raw', pair.publicKey));
  return { privateKey: pair.privateKey, pub: encodeB64u(raw) };
}

/**
 * Import an Ed25519 PKCS#8 DER (a decrypted key file) into WebCrypto. The public key is
 * computed from the seed, so the caller can check it against what the file claims.
 */
export async function importPkcs8(der: Uint8Array, extractable = false): Promise<WebKey> {
  const pub = publicKeyOfSeed(seedFromPkcs8(der));
  const privateKey = await subtle().importKey('pkcs8', der as Uint8Array<ArrayBuffer>, ED25519, extractable, ['sign']);
  return { privateKey, pub };
}

/** The PKCS#8 DER of an extractable key (for an encrypted export); the caller zeroes it. */
export async function exportPkcs8(privateKey: WebCryptoKey): Promise<Uint8Array> {
  if (!privateKey.extractable) {
    fail('key_not_extractable', 'this key was made non-extractable: the browser will sign with it but never give its bytes out', {
      hint: 'to have a key you can also use from the CLI, make one in the CLI and import its file here, or create a key with "allow export" ticked',
    });
  }
  return new Uint8Array(await subtle().exportKey('pkcs8', privateKey));
}

export function webSigner(key: WebKey): AsyncSigner {
  return {
    pub: key.pub,
    sign: async (message) => encodeB64u(new Uint8Array(await subtle().sign(ED25519, key.privateKey, message as Uint8Array<ArrayBuffer>))),
  };
}

/** Ed25519 verification through WebCrypto; false for malformed keys or signatures. */
export async function webVerify(pub: string, message: Uint8Array, sig: string): Promise<boolean> {
  try {
    const key = await subtle().importKey('raw', decodeB64u(pub, 'public key', 32) as Uint8Array<ArrayBuffer>, ED25519, false, ['verify']);
    return await subtle().verify(ED25519, key, decodeB64u(sig, 'signature', 64) as Uint8Array<ArrayBuffer>, message as Uint8Array<ArrayBuffer>);
  } catch {
    return false;
  }
}
