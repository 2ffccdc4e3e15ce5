// The transaction envelope: {tx, pub, sig}. The signature covers a domain tag plus the
// canonical JSON of `tx`, and the chain id is inside `tx`, so a signature never replays
// on another chain or as another kind of message.
import { B64U_TEXT } from '../core/base64url.js';
import { canonicalJson } from '../core/canonical.js';
import { decode, int, isPlainObject, map, object, refuse, string, unknownValue, withCode } from '../core/decode.js';
import { hash } from '../core/hash.js';
import { toHex, utf8 } from '../core/encoding.js';
import type { Signer } from '../core/keys.js';
import { ACCOUNT_ID } from '../core/keys.js';
import { limits } from '../core/limits.js';
import { signingText, type Envelope, type Tx } from '../core/tx-signing.js';

// The signed bytes and the shapes are defined once, browser-safe, in core/tx-signing.ts
// (the web wallet signs with them); this file adds the node's parser and fast hashing.
export { TX_DOMAIN, signingText, type Envelope, type Tx } from '../core/tx-signing.js';

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

// The envelope's schema: exact keys at both levels; every refusal is `bad_envelope` naming
// the field, except a bad nonce (`bad_nonce`, which clients switch on).
const envelopeSchema = object({
  tx: object({
    chain: string({ pattern: limits.chainIdPattern, maxLength: 64, what: 'a chain id string' }),
    type: string({ pattern: TYPE, maxLength: 64, what: 'a type like "module.action"' }),
    from: string({ pattern: ACCOUNT_ID, maxLength: 40, what: 'an account id (40 lowercase hex digits)' }),
    nonce: withCode('bad_nonce', int({ min: 0, what: 'a non-negative integer' })),
    expires: int({ min: 0, what: 'a unix time in seconds' }),
    body: map(unknownValue, (v, at) => (isPlainObject(v) ? v : refuse(at, 'must be an object'))),
  }),
  pub: string({ pattern: B64U_TEXT, maxLength: 43, what: 'a base64url Ed25519 public key (43 characters)' }),
  sig: string({ pattern: B64U_TEXT, maxLength: 86, what: 'a base64url Ed25519 signature (86 characters)' }),
}, { what: 'a JSON object {tx, pub, sig}' });

/** Check the envelope's shape (not its signature); every refusal names the field. */
export function parseEnvelope(raw: unknown): Envelope {
  const env = decode(envelopeSchema, raw, 'bad_envelope', 'envelope');
  if (env.pub.length !== 43) refuse({ path: 'envelope.pub', code: 'bad_envelope' }, 'must be a base64url Ed25519 public key (43 characters)');
  if (env.sig.length !== 86) refuse({ path: 'envelope.sig', code: 'bad_envelope' }, 'must be a base64url Ed25519 signature (86 characters)');
  // The checked object, not a copy: its key order is the one that was signed.
  return raw as Envelope;
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
