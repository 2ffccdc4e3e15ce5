// The bytes an announcement signature covers: the dlcspecs `oracle_event` (Messaging.md)
// in the serialization of the dlcspecs published test vectors (test/test_vectors/*.json,
// produced by rust-dlc): u16 nonce count, the x-only nonces, u32 maturity, the
// digit_decomposition_event_descriptor as a TLV (type 55306, with a u16 base), and the
// event id as a bigsize-prefixed UTF-8 string. announcementMessage() hashes it per profile.
import { utf8 } from '../../core/encoding.js';

export interface EventFields {
  eventId: string;
  maturity: number;
  base: number;
  signed: boolean;
  digits: number;
  unit: string;
  precision: number;
  /** x-only nonces, hex, sign nonce first */
  nonces: readonly string[];
}

/** Lightning's BigSize: 1, 3, 5 or 9 bytes, big-endian. */
export function bigSize(n: number): Buffer {
  if (n < 0xfd) return Buffer.from([n]);
  if (n <= 0xffff) return Buffer.from([0xfd, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0xfe;
  b.writeUInt32BE(n, 1);
  return b;
}

const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const i32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const text = (s: string): Buffer => {
  const bytes = Buffer.from(utf8.encode(s.normalize('NFC')));
  return Buffer.concat([bigSize(bytes.length), bytes]);
};
const tlv = (type: number, value: Buffer): Buffer => Buffer.concat([bigSize(type), bigSize(value.length), value]);

export const DIGIT_DECOMPOSITION_TYPE = 55306;

export function serializeEvent(e: EventFields): Buffer {
  const descriptor = tlv(DIGIT_DECOMPOSITION_TYPE, Buffer.concat([u16(e.base), Buffer.from([e.signed ? 1 : 0]), text(e.unit), i32(e.precision), u16(e.digits)]));
  return Buffer.concat([u16(e.nonces.length), ...e.nonces.map((n) => Buffer.from(n, 'hex')), u32(e.maturity), descriptor, text(e.eventId)]);
}
