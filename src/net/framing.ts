// One length-prefixed frame each way on a request-response stream. The length is an
// unsigned LEB128 varint (the multiformats unsigned-varint: 7 bits a byte, low group
// first, minimal encoding), then that many payload bytes, then the writer closes its
// side. The reader checks the length against its limit as soon as the prefix is read, so
// an oversized frame is refused without buffering it, and refuses anything after the
// frame: exactly one frame per direction. The response payload starts with a status
// byte: 0x00 then the handler's bytes, or 0x01 then the error code the handler threw.

/** A frame longer than 2^28 - 1 bytes needs a 5-byte prefix; no Tally limit comes near. */
export const FRAME_BYTES_MAX = 2 ** 28 - 1;
const PREFIX_BYTES_MAX = 4;

export const RESPONSE_OK = 0x00;
export const RESPONSE_ERROR = 0x01;
const ERROR_CODE = /^[a-z0-9_]{1,64}$/;

/** Why a frame was refused: the peer sent too much, or bytes that are not one frame. */
export type FrameFault = 'oversized' | 'garbage';

export class FrameRefused extends Error {
  override readonly name = 'FrameRefused';
  /**
   * @param truncated the stream ended before the frame did: a peer whose process died or
   * whose connection broke mid-request looks like this, so the server tells it apart
   */
  constructor(readonly fault: FrameFault, message: string, readonly truncated = false) {
    super(message);
  }
}

export function encodeVarint(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > FRAME_BYTES_MAX) throw new RangeError(`frame length ${n} out of range`);
  const out: number[] = [];
  do {
    const low = n & 0x7f;
    n >>>= 7;
    out.push(n > 0 ? low | 0x80 : low);
  } while (n > 0);
  return Uint8Array.from(out);
}

export function encodeFrame(payload: Uint8Array): Uint8Array {
  const prefix = encodeVarint(payload.length);
  const out = new Uint8Array(prefix.length + payload.length);
  out.set(prefix, 0);
  out.set(payload, prefix.length);
  return out;
}

/** What a libp2p stream yields: Uint8Array or a Uint8ArrayList (which has subarray()). */
export type Chunk = Uint8Array | { subarray(): Uint8Array };

/**
 * Read exactly one frame of at most `maxBytes` payload bytes, then the end of the source.
 * Throws FrameRefused('oversized') on a length over the limit (before reading the
 * payload) and FrameRefused('garbage') on a bad prefix, a short frame or trailing bytes.
 */
export async function readOneFrame(source: AsyncIterable<Chunk>, maxBytes: number): Promise<Uint8Array> {
  if (!(Number.isInteger(maxBytes) && maxBytes >= 0 && maxBytes <= FRAME_BYTES_MAX)) throw new RangeError(`frame limit ${maxBytes} out of range`);
  let length = -1; // -1 while the prefix is incomplete
  let prefixValue = 0;
  let prefixBytes = 0;
  let payload: Uint8Array | undefined;
  let filled = 0;
  for await (const chunk of source) {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray();
    let i = 0;
    while (length < 0 && i < bytes.length) {
      const b = bytes[i++] as number;
      if (prefixBytes > 0 && b === 0) throw new FrameRefused('garbage', 'frame length prefix is not minimally encoded');
      prefixValue += (b & 0x7f) * 2 ** (7 * prefixBytes);
      prefixBytes++;
      // The value only grows with more prefix bytes, so refuse as soon as it passes the limit.
      if (prefixValue > maxBytes) throw new FrameRefused('oversized', `frame longer than the limit of ${maxBytes} bytes`);
      if ((b & 0x80) === 0) {
        length = prefixValue;
        payload = new Uint8Array(length);
      } else if (prefixBytes >= PREFIX_BYTES_MAX) {
        throw new FrameRefused('garbage', `frame length prefix longer than ${PREFIX_BYTES_MAX} bytes`);
      }
    }
    if (length < 0 || i === bytes.length) continue;
    const take = Math.min(length - filled, bytes.length - i);
    (payload as Uint8Array).set(bytes.subarray(i, i + take), filled);
    filled += take;
    if (i + take < bytes.length) throw new FrameRefused('garbage', 'bytes after the frame; one frame per direction');
  }
  if (length < 0) throw new FrameRefused('garbage', prefixBytes === 0 ? 'stream ended before a frame' : 'stream ended inside the frame length prefix', true);
  if (filled < length) throw new FrameRefused('garbage', `stream ended after ${filled} of ${length} frame bytes`, true);
  return payload as Uint8Array;
}

export function encodeOkResponse(body: Uint8Array): Uint8Array {
  const payload = new Uint8Array(1 + body.length);
  payload[0] = RESPONSE_OK;
  payload.set(body, 1);
  return payload;
}

/** An error response carries only the stable code: never a message (it may hold secrets). */
export function encodeErrorResponse(code: string): Uint8Array {
  const safe = ERROR_CODE.test(code) ? code : 'internal';
  const payload = new Uint8Array(1 + safe.length);
  payload[0] = RESPONSE_ERROR;
  payload.set(new TextEncoder().encode(safe), 1);
  return payload;
}

export type Response = { ok: true; body: Uint8Array } | { ok: false; code: string };

export function decodeResponse(payload: Uint8Array): Response {
  if (payload.length === 0) throw new FrameRefused('garbage', 'response frame without a status byte');
  if (payload[0] === RESPONSE_OK) return { ok: true, body: payload.subarray(1) };
  if (payload[0] !== RESPONSE_ERROR) throw new FrameRefused('garbage', `unknown response status byte ${payload[0]}`);
  const code = new TextDecoder('utf-8', { fatal: false }).decode(payload.subarray(1));
  if (!ERROR_CODE.test(code)) throw new FrameRefused('garbage', 'error response code is not [a-z0-9_]{1,64}');
  return { ok: false, code };
}
