// base64url without padding, for code that also runs in a browser (no Buffer): the
// wallet's keys, signatures and key files. Decoding is strict, as in encoding.ts: one
// value has one spelling, and a refusal says what was wrong.
import { fail } from './errors.js';

const B64URL = /^[A-Za-z0-9_-]*$/;

export function encodeB64u(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodeB64u(text: unknown, what: string, byteLength?: number): Uint8Array {
  if (typeof text !== 'string') fail('bad_encoding', `${what} must be a base64url string`);
  if (!B64URL.test(text) || text.length % 4 === 1) fail('bad_encoding', `${what} must be base64url without padding`);
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  // Reject non-canonical encodings (stray bits in the last character).
  if (encodeB64u(bytes) !== text) fail('bad_encoding', `${what} is not canonical base64url`);
  if (byteLength !== undefined && bytes.length !== byteLength) fail('bad_encoding', `${what} must be ${byteLength} bytes, got ${bytes.length}`);
  return bytes;
}
