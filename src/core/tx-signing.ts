// What a transaction's signature covers and how its id and the sender's account id are
// derived, written once for the node, the CLI and the browser wallet. Nothing Node-only:
// BLAKE3 from @noble/hashes (the node's hot paths use hash-wasm in core/hash.ts; tests
// check both agree), JCS from canonicalize, and signing behind an async interface so a
// WebCrypto key (which signs asynchronously) and a node:crypto key both fit.
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { decodeB64u } from './base64url.js';
import { canonicalJson } from './canonical.js';

export const TX_DOMAIN = 'tally/tx/v1\n';
export const ACCOUNT_DOMAIN = 'tally/account/v1\n';
/** "tally/message/v1\n" + message: a detached signature (`tally sign --detached`). */
export const MESSAGE_DOMAIN = 'tally/message/v1\n';

export interface Tx {
  chain: string;
  type: string;
  from: string;
  nonce: number;
  expires: number;
  body: Record<string, unknown>;
}

export interface Envelope {
  tx: Tx;
  pub: string;
  sig: string;
}

/** A key that signs asynchronously: a WebCrypto CryptoKey in the browser, or any Signer. */
export interface AsyncSigner {
  /** base64url of the raw 32-byte public key */
  readonly pub: string;
  sign(message: Uint8Array): Promise<string>;
}

export function signingText(tx: Tx): string {
  return TX_DOMAIN + canonicalJson(tx);
}

/** The transaction id: BLAKE3 of the signing text, hex. */
export function txIdPure(tx: Tx): string {
  return bytesToHex(blake3(utf8ToBytes(signingText(tx))));
}

/** The account a key opens: the first 20 bytes of BLAKE3("tally/account/v1\n" ‖ raw key), hex. */
export function accountIdPure(pubB64u: string): string {
  const raw = decodeB64u(pubB64u, 'public key', 32);
  return bytesToHex(blake3(concatBytes(utf8ToBytes(ACCOUNT_DOMAIN), raw)).subarray(0, 20));
}

export async function signTxAsync(tx: Tx, signer: AsyncSigner): Promise<Envelope> {
  return { tx, pub: signer.pub, sig: await signer.sign(utf8ToBytes(signingText(tx))) };
}

/** The bytes a detached statement signature covers. */
export function messageBytes(message: string): Uint8Array {
  return utf8ToBytes(MESSAGE_DOMAIN + message);
}
