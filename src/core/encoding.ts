// Binary values in JSON: ids and hashes are lowercase hex, keys and signatures base64url
// (no padding). Decoders say exactly what was wrong with what they refused.
import { fail } from './errors.js';
import { B64U_TEXT } from './base64url.js';

const HEX = /^(?:[0-9a-f]{2})*$/;

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(text: unknown, what: string, byteLength?: number): Buffer {
  if (typeof text !== 'string') fail('bad_encoding', `${what} must be a hex string`);
  if (!HEX.test(text)) fail('bad_encoding', `${what} must be lowercase hex with an even number of digits`);
  if (byteLength !== undefined && text.length !== byteLength * 2) {
    fail('bad_encoding', `${what} must be ${byteLength} bytes (${byteLength * 2} hex digits), got ${text.length / 2}`);
  }
  return Buffer.from(text, 'hex');
}

export function toB64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

export function fromB64u(text: unknown, what: string, byteLength?: number): Buffer {
  if (typeof text !== 'string') fail('bad_encoding', `${what} must be a base64url string`);
  if (!B64U_TEXT.test(text) || text.length % 4 === 1) fail('bad_encoding', `${what} must be base64url without padding`);
  const bytes = Buffer.from(text, 'base64url');
  // Reject non-canonical encodings (trailing bits set), so one value has one spelling.
  if (bytes.toString('base64url') !== text) fail('bad_encoding', `${what} is not canonical base64url`);
  if (byteLength !== undefined && bytes.length !== byteLength) {
    fail('bad_encoding', `${what} must be ${byteLength} bytes, got ${bytes.length}`);
  }
  return bytes;
}

export const utf8 = new TextEncoder();
