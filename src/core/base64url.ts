// base64url without padding, for code that also runs in a browser (no Buffer): the
// wallet's keys, signatures and key files. Decoding is strict, as in encoding.ts: one
// value has one spelling, and a refusal says what was wrong.
import { fail } from './errors.js';

/** base64url text without padding, any length (decoders check the byte length and the spelling). */
export const B64U_TEXT = /^[A-Za-z0-9_-]*$/;
/** An Ed25519 public key (32 bytes) in base64url without padding: 43 characters. */
export const ED25519_PUB_B64U = /^[A-Za-z0-9_-]{43}$/;
/** An Ed25519 signature (64 bytes) in base64url without padding: 86 characters. */
export const ED25519_SIG_B64U = /^[A-Za-z0-9_-]{86}$/;

export function encodeB64u(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodeB64u(text: unknown, what: string, byteLength?: number): Uint8Array {
  if (typeof text !== 'string') fail('bad_encoding', `${what} must be a base64url string`);
  if (!B64U_TEXT.test(text) || text.length % 4 === 1) fail('bad_encoding', `${what} must be base64url without padding`);
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  // Reject non-canonical encodings (stray bits in the last character).
  if (encodeB64u(bytes) !== text) fail('bad_encoding', `${what} is not canonical base64url`);
  if (byteLength !== undefined && bytes.length !== byteLength) fail('bad_encoding', `${what} must be ${byteLength} bytes, got ${bytes.length}`);
  return bytes;
}
