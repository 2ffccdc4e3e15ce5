// The browser's src/core/encoding.ts: the same decoders and messages without Node's
// Buffer. build.mjs swaps it in for src/core/encoding.js when bundling the page.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { fail } from '../../../src/core/errors.js';
import { B64U_TEXT } from '../../../src/core/base64url.js';

const HEX = /^(?:[0-9a-f]{2})*$/;

export const utf8 = new TextEncoder();

export function toHex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

export function fromHex(text: unknown, what: string, byteLength?: number): Uint8Array {
  if (typeof text !== 'string') fail('bad_encoding', `${what} must be a hex string`);
  if (!HEX.test(text)) fail('bad_encoding', `${what} must be lowercase hex with an even number of digits`);
  if (byteLength !== undefined && text.length !== byteLength * 2) {
    fail('bad_encoding', `${what} must be ${byteLength} bytes (${byteLength * 2} hex digits), got ${text.length / 2}`);
  }
  return hexToBytes(text);
}

export function toB64u(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromB64u(text: unknown, what: string, byteLength?: number): Uint8Array {
  if (typeof text !== 'string') fail('bad_encoding', `${what} must be a base64url string`);
  if (!B64U_TEXT.test(text) || text.length % 4 === 1) fail('bad_encoding', `${what} must be base64url without padding`);
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  if (toB64u(bytes) !== text) fail('bad_encoding', `${what} is not canonical base64url`);
  if (byteLength !== undefined && bytes.length !== byteLength) fail('bad_encoding', `${what} must be ${byteLength} bytes, got ${bytes.length}`);
  return bytes;
}
