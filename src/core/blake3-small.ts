// BLAKE3-256 of one chunk (at most 1,024 bytes) in plain JS, with no allocation but the
// 32-byte result: the state tree hashes millions of 82-byte node and leaf inputs, where a
// WebAssembly hasher costs more in call overhead (init, copy in, digest, copy out) than
// the two compressions themselves. Same output as any BLAKE3 (the tests cross-check it
// against @noble/hashes and hash-wasm); longer inputs belong to a full implementation.
// Imports nothing: the browser runs it too.

/** The longest input hashed here: one BLAKE3 chunk. */
export const BLAKE3_SMALL_MAX = 1024;

const IV = Uint32Array.of(0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19);
const CHUNK_START = 1;
const CHUNK_END = 2;
const ROOT = 8;

// Between rounds the message words are permuted: m[i] = m[PERMUTATION[i]], with
// PERMUTATION = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8] (unrolled below).

const cv = new Uint32Array(8);
const m = new Uint32Array(16);

/** cv = the first half of compress(cv, m, counter 0, blockLen, flags) XOR its second half. */
function compress(blockLen: number, flags: number): void {
  let v0 = cv[0]!, v1 = cv[1]!, v2 = cv[2]!, v3 = cv[3]!, v4 = cv[4]!, v5 = cv[5]!, v6 = cv[6]!, v7 = cv[7]!;
  let v8 = IV[0]!, v9 = IV[1]!, v10 = IV[2]!, v11 = IV[3]!, v12 = 0, v13 = 0, v14 = blockLen, v15 = flags;
  let m0 = m[0]!, m1 = m[1]!, m2 = m[2]!, m3 = m[3]!, m4 = m[4]!, m5 = m[5]!, m6 = m[6]!, m7 = m[7]!, m8 = m[8]!, m9 = m[9]!, m10 = m[10]!, m11 = m[11]!, m12 = m[12]!, m13 = m[13]!, m14 = m[14]!, m15 = m[15]!;
  // 7 rounds of G over the 4 columns (v0, v4, v8, v12 ...), then the 4 diagonals (v0, v5, v10, v15 ...)
  for (let r = 0; r < 7; r++) {
    v0 = (v0 + v4 + m0) | 0; v12 ^= v0; v12 = (v12 >>> 16) | (v12 << 16);
    v8 = (v8 + v12) | 0; v4 ^= v8; v4 = (v4 >>> 12) | (v4 << 20);
    v0 = (v0 + v4 + m1) | 0; v12 ^= v0; v12 = (v12 >>> 8) | (v12 << 24);
    v8 = (v8 + v12) | 0; v4 ^= v8; v4 = (v4 >>> 7) | (v4 << 25);
    v1 = (v1 + v5 + m2) | 0; v13 ^= v1; v13 = (v13 >>> 16) | (v13 << 16);
    v9 = (v9 + v13) | 0; v5 ^= v9; v5 = (v5 >>> 12) | (v5 << 20);
    v1 = (v1 + v5 + m3) | 0; v13 ^= v1; v13 = (v13 >>> 8) | (v13 << 24);
    v9 = (v9 + v13) | 0; v5 ^= v9; v5 = (v5 >>> 7) | (v5 << 25);
    v2 = (v2 + v6 + m4) | 0; v14 ^= v2; v14 = (v14 >>> 16) | (v14 << 16);
    v10 = (v10 + v14) | 0; v6 ^= v10; v6 = (v6 >>> 12) | (v6 << 20);
    v2 = (v2 + v6 + m5) | 0; v14 ^= v2; v14 = (v14 >>> 8) | (v14 << 24);
    v10 = (v10 + v14) | 0; v6 ^= v10; v6 = (v6 >>> 7) | (v6 << 25);
    v3 = (v3 + v7 + m6) | 0; v15 ^= v3; v15 = (v15 >>> 16) | (v15 << 16);
    v11 = (v11 + v15) | 0; v7 ^= v11; v7 = (v7 >>> 12) | (v7 << 20);
    v3 = (v3 + v7 + m7) | 0; v15 ^= v3; v15 = (v15 >>> 8) | (v15 << 24);
    v11 = (v11 + v15) | 0; v7 ^= v11; v7 = (v7 >>> 7) | (v7 << 25);
    v0 = (v0 + v5 + m8) | 0; v15 ^= v0; v15 = (v15 >>> 16) | (v15 << 16);
    v10 = (v10 + v15) | 0; v5 ^= v10; v5 = (v5 >>> 12) | (v5 << 20);
    v0 = (v0 + v5 + m9) | 0; v15 ^= v0; v15 = (v15 >>> 8) | (v15 << 24);
    v10 = (v10 + v15) | 0; v5 ^= v10; v5 = (v5 >>> 7) | (v5 << 25);
    v1 = (v1 + v6 + m10) | 0; v12 ^= v1; v12 = (v12 >>> 16) | (v12 << 16);
    v11 = (v11 + v12) | 0; v6 ^= v11; v6 = (v6 >>> 12) | (v6 << 20);
    v1 = (v1 + v6 + m11) | 0; v12 ^= v1; v12 = (v12 >>> 8) | (v12 << 24);
    v11 = (v11 + v12) | 0; v6 ^= v11; v6 = (v6 >>> 7) | (v6 << 25);
    v2 = (v2 + v7 + m12) | 0; v13 ^= v2; v13 = (v13 >>> 16) | (v13 << 16);
    v8 = (v8 + v13) | 0; v7 ^= v8; v7 = (v7 >>> 12) | (v7 << 20);
    v2 = (v2 + v7 + m13) | 0; v13 ^= v2; v13 = (v13 >>> 8) | (v13 << 24);
    v8 = (v8 + v13) | 0; v7 ^= v8; v7 = (v7 >>> 7) | (v7 << 25);
    v3 = (v3 + v4 + m14) | 0; v14 ^= v3; v14 = (v14 >>> 16) | (v14 << 16);
    v9 = (v9 + v14) | 0; v4 ^= v9; v4 = (v4 >>> 12) | (v4 << 20);
    v3 = (v3 + v4 + m15) | 0; v14 ^= v3; v14 = (v14 >>> 8) | (v14 << 24);
    v9 = (v9 + v14) | 0; v4 ^= v9; v4 = (v4 >>> 7) | (v4 << 25);
    // the next round's message order: m[i] = m[PERMUTATION[i]]
    const t0 = m2, t1 = m6, t2 = m3, t3 = m10, t4 = m7, t5 = m0, t6 = m4, t7 = m13, t8 = m1, t9 = m11, t10 = m12, t11 = m5, t12 = m9, t13 = m14, t14 = m15, t15 = m8;
    m0 = t0; m1 = t1; m2 = t2; m3 = t3; m4 = t4; m5 = t5; m6 = t6; m7 = t7; m8 = t8; m9 = t9; m10 = t10; m11 = t11; m12 = t12; m13 = t13; m14 = t14; m15 = t15;
  }
  cv[0] = v0 ^ v8; cv[1] = v1 ^ v9; cv[2] = v2 ^ v10; cv[3] = v3 ^ v11;
  cv[4] = v4 ^ v12; cv[5] = v5 ^ v13; cv[6] = v6 ^ v14; cv[7] = v7 ^ v15;
}

/**
 * BLAKE3-256 of input[0, length) (length <= 1,024), written to out[at, at + 32).
 * Reads bytes one at a time (little-endian words on any platform).
 */
export function blake3SmallInto(input: Uint8Array, length: number, out: Uint8Array, at: number): void {
  if (!(length >= 0 && length <= BLAKE3_SMALL_MAX && length <= input.length)) throw new RangeError(`blake3Small takes 0 to ${BLAKE3_SMALL_MAX} bytes of its input`);
  cv.set(IV);
  const blocks = length === 0 ? 1 : (length + 63) >> 6;
  for (let b = 0; b < blocks; b++) {
    const start = b << 6;
    const blockLen = b === blocks - 1 ? length - start : 64;
    const end = start + blockLen;
    for (let w = 0, i = start; w < 16; w++, i += 4) {
      if (i + 4 <= end) m[w] = input[i]! | (input[i + 1]! << 8) | (input[i + 2]! << 16) | (input[i + 3]! << 24);
      else if (i >= end) m[w] = 0;
      else m[w] = input[i]! | (i + 1 < end ? input[i + 1]! << 8 : 0) | (i + 2 < end ? input[i + 2]! << 16 : 0);
    }
    compress(blockLen, (b === 0 ? CHUNK_START : 0) | (b === blocks - 1 ? CHUNK_END | ROOT : 0));
  }
  for (let w = 0; w < 8; w++) {
    const x = cv[w]!;
    const o = at + 4 * w;
    out[o] = x & 255;
    out[o + 1] = (x >>> 8) & 255;
    out[o + 2] = (x >>> 16) & 255;
    out[o + 3] = x >>> 24;
  }
}

/** BLAKE3-256 of a short input (at most 1,024 bytes), a new 32-byte array. */
export function blake3Small(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  blake3SmallInto(input, input.length, out, 0);
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Callers write an input (at most 1,024 bytes) here, then call blake3ScratchInto: words load without byte shuffling. */
export const BLAKE3_SCRATCH = new Uint8Array(BLAKE3_SMALL_MAX);
const SCRATCH32 = new Uint32Array(BLAKE3_SCRATCH.buffer);

/** BLAKE3-256 of BLAKE3_SCRATCH[0, length), written to out[at, at + 32). */
export function blake3ScratchInto(length: number, out: Uint8Array, at: number): void {
  if (!LITTLE_ENDIAN) {
    blake3SmallInto(BLAKE3_SCRATCH, length, out, at);
    return;
  }
  if (!(length >= 0 && length <= BLAKE3_SMALL_MAX)) throw new RangeError(`blake3Small takes 0 to ${BLAKE3_SMALL_MAX} bytes of its input`);
  cv.set(IV);
  const blocks = length === 0 ? 1 : (length + 63) >> 6;
  for (let b = 0; b < blocks; b++) {
    const start = b << 6;
    const blockLen = b === blocks - 1 ? length - start : 64;
    const end = start + blockLen;
    for (let w = 0, i = start; w < 16; w++, i += 4) {
      if (i + 4 <= end) m[w] = SCRATCH32[i >> 2]!;
      else if (i >= end) m[w] = 0;
      else m[w] = SCRATCH32[i >> 2]! & ((1 << ((end - i) << 3)) - 1);
    }
    compress(blockLen, (b === 0 ? CHUNK_START : 0) | (b === blocks - 1 ? CHUNK_END | ROOT : 0));
  }
  for (let w = 0; w < 8; w++) {
    const x = cv[w]!;
    const o = at + 4 * w;
    out[o] = x & 255;
    out[o + 1] = (x >>> 8) & 255;
    out[o + 2] = (x >>> 16) & 255;
    out[o + 3] = x >>> 24;
  }
}
