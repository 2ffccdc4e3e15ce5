// The transaction envelope: {tx, pub, sig}. The signature covers a domain tag plus the
// canonical JSON of `tx`, and the chain id is inside `tx`, so a signature never replays
// on another chain or as another kind of message.
import { canonicalJson } from '../core/canonical.js';
import { fail } from '../core/errors.js';
import { hash } from '../core/hash.js';
import { toHex, utf8 } from '../core/encoding.js';
import type { Signer } from '../core/keys.js';
import { ACCOUNT_ID } from '../core/keys.js';
import { limits } from '../core/limits.js';

export const TX_DOMAIN = 'tally/tx/v1\n';

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

export interface TxEvent {
  type: string;
  [field: string]: unknown;
}

export interface Receipt {
  id: string;
  height: number;
  index: number;
  status: 'ok' | 'failed';
  code?: string;
  events: TxEvent[];
}

const TYPE = /^[a-z][a-z0-9]*\.[a-z][a-z0-9_]*$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function exactKeys(obj: Record<string, unknown>, keys: string[], what: string): void {
  for (const k of Object.keys(obj)) {
    if (!keys.includes(k)) fail('bad_envelope', `${what} has an unknown field "${k}"`, { details: { field: k } });
  }
  for (const k of keys) {
    if (!(k in obj)) fail('bad_envelope', `${what} is missing the field "${k}"`, { details: { field: k } });
  }
}

/** Check the envelope's shape (not its signature); every refusal names the field. */
export function parseEnvelope(raw: unknown): Envelope {
  if (!isPlainObject(raw)) fail('bad_envelope', 'a transaction must be a JSON object {tx, pub, sig}');
  exactKeys(raw, ['tx', 'pub', 'sig'], 'envelope');
  const tx = raw.tx;
  if (!isPlainObject(tx)) fail('bad_envelope', 'envelope.tx must be an object');
  exactKeys(tx, ['chain', 'type', 'from', 'nonce', 'expires', 'body'], 'tx');
  if (typeof tx.chain !== 'string' || !limits.chainIdPattern.test(tx.chain)) fail('bad_envelope', 'tx.chain must be a chain id string');
  if (typeof tx.type !== 'string' || !TYPE.test(tx.type)) fail('bad_envelope', 'tx.type must look like "module.action"');
  if (typeof tx.from !== 'string' || !ACCOUNT_ID.test(tx.from)) fail('bad_envelope', 'tx.from must be an account id (40 lowercase hex digits)');
  if (typeof tx.nonce !== 'number' || !Number.isSafeInteger(tx.nonce) || tx.nonce < 0) fail('bad_nonce', 'tx.nonce must be a non-negative integer');
  if (typeof tx.expires !== 'number' || !Number.isSafeInteger(tx.expires) || tx.expires < 0) fail('bad_envelope', 'tx.expires must be a unix time in seconds');
  if (!isPlainObject(tx.body)) fail('bad_envelope', 'tx.body must be an object');
  if (typeof raw.pub !== 'string' || raw.pub.length !== 43) fail('bad_envelope', 'pub must be a base64url Ed25519 public key (43 characters)');
  if (typeof raw.sig !== 'string' || raw.sig.length !== 86) fail('bad_envelope', 'sig must be a base64url Ed25519 signature (86 characters)');
  return raw as unknown as Envelope;
}

export function signingText(tx: Tx): string {
  return TX_DOMAIN + canonicalJson(tx);
}

export function txIdOfSigningText(text: string): string {
  return toHex(hash(utf8.encode(text)));
}

export function txId(tx: Tx): string {
  return txIdOfSigningText(signingText(tx));
}

export function signTx(tx: Tx, signer: Signer): Envelope {
  return { tx, pub: signer.pub, sig: signer.sign(utf8.encode(signingText(tx))) };
}

export function receiptLeafBytes(receipt: Receipt): Uint8Array {
  return utf8.encode('tally/receipt/v1\n' + canonicalJson(receipt));
}
