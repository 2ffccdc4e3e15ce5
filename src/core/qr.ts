// A QR code encoder for the receive page (ISO/IEC 18004): byte mode, error correction
// level M, versions 1 to 6 (up to 106 bytes: an account id is 40). Written here rather than
// bundling the `qrcode` package because the page may have three runtime dependencies and
// they are taken (@noble/hashes, @noble/curves, canonicalize); the test checks every module
// against `qrcode`'s output for the same text and mask. After Project Nayuki's
// "QR Code generator library" (MIT), reduced to what we use.

// Level M, per version 1..6: [error correction codewords per block, blocks, data codewords per block].
const BLOCKS_M: ReadonlyArray<readonly [number, number, number]> = [[10, 1, 16], [16, 1, 28], [26, 1, 44], [18, 2, 32], [24, 2, 43], [16, 4, 27]];
const ALIGN_AT = [0, 18, 22, 26, 30, 34]; // the second alignment centre per version (the first is 6); none in version 1
export const QR_VERSION_MAX = BLOCKS_M.length;

export interface Qr { size: number; version: number; mask: number; dark(x: number, y: number): boolean }

function gfMul(x: number, y: number): number {
  let z = 0;
  for (let i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d);
    z ^= ((y >>> i) & 1) * x;
  }
  return z & 0xff;
}

function rsDivisor(degree: number): number[] {
  const result = new Array<number>(degree).fill(0);
  result[degree - 1] = 1;
  let root = 1;
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < degree; j++) {
      result[j] = gfMul(result[j]!, root);
      if (j + 1 < degree) result[j]! ^= result[j + 1]!;
    }
    root = gfMul(root, 0x02);
  }
  return result;
}

function rsRemainder(data: number[], divisor: number[]): number[] {
  const result = new Array<number>(divisor.length).fill(0);
  for (const b of data) {
    const factor = b ^ result.shift()!;
    result.push(0);
    for (let i = 0; i < divisor.length; i++) result[i]! ^= gfMul(divisor[i]!, factor);
  }
  return result;
}

function codewords(bytes: Uint8Array, version: number): number[] {
  const [ecLen, blocks, dataLen] = BLOCKS_M[version - 1]!;
  const capacityBits = blocks * dataLen * 8;
  const bits: number[] = [];
  const put = (value: number, n: number) => { for (let i = n - 1; i >= 0; i--) bits.push((value >>> i) & 1); };
  put(0b0100, 4);
  put(bytes.length, 8);
  for (const b of bytes) put(b, 8);
  put(0, Math.min(4, capacityBits - bits.length));
  put(0, (8 - (bits.length % 8)) % 8);
  for (let pad = 0xec; bits.length < capacityBits; pad ^= 0xec ^ 0x11) put(pad, 8);
  const data: number[] = [];
  for (let i = 0; i < bits.length; i += 8) data.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
  const divisor = rsDivisor(ecLen);
  const dataBlocks: number[][] = [];
  const ecBlocks: number[][] = [];
  for (let b = 0; b < blocks; b++) {
    const block = data.slice(b * dataLen, (b + 1) * dataLen);
    dataBlocks.push(block);
    ecBlocks.push(rsRemainder(block, divisor));
  }
  const out: number[] = [];
  for (let i = 0; i < dataLen; i++) for (const blk of dataBlocks) out.push(blk[i]!);
  for (let i = 0; i < ecLen; i++) for (const blk of ecBlocks) out.push(blk[i]!);
  return out;
}

const MASKS: Array<(x: number, y: number) => boolean> = [
  (x, y) => (x + y) % 2 === 0,
  (_x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

function build(bytes: Uint8Array, version: number, mask: number): boolean[][] {
  const size = version * 4 + 17;
  const grid = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  const fixed = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  const set = (x: number, y: number, dark: boolean) => { grid[y]![x] = dark; fixed[y]![x] = true; };
  for (let i = 0; i < size; i++) {
    set(6, i, i % 2 === 0);
    set(i, 6, i % 2 === 0);
  }
  for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]] as const) {
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const x = cx + dx;
        const y = cy + dy;
        const d = Math.max(Math.abs(dx), Math.abs(dy));
        if (x >= 0 && x < size && y >= 0 && y < size) set(x, y, d !== 2 && d !== 4);
      }
    }
  }
  if (version > 1) {
    const c = ALIGN_AT[version - 1]!;
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) set(c + dx, c + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
  }
  // Format bits: level M (00) and the mask, BCH(15,5), then the fixed XOR pattern.
  const data = mask;
  let rem = data;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  const format = ((data << 10) | rem) ^ 0x5412;
  const bit = (i: number) => ((format >>> i) & 1) === 1;
  for (let i = 0; i <= 5; i++) set(8, i, bit(i));
  set(8, 7, bit(6));
  set(8, 8, bit(7));
  set(7, 8, bit(8));
  for (let i = 9; i < 15; i++) set(14 - i, 8, bit(i));
  for (let i = 0; i < 8; i++) set(size - 1 - i, 8, bit(i));
  for (let i = 8; i < 15; i++) set(8, size - 15 + i, bit(i));
  set(8, size - 8, true);

  const words = codewords(bytes, version);
  let i = 0;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let vert = 0; vert < size; vert++) {
      for (let j = 0; j < 2; j++) {
        const x = right - j;
        const y = ((right + 1) & 2) === 0 ? size - 1 - vert : vert;
        if (!fixed[y]![x] && i < words.length * 8) {
          grid[y]![x] = ((words[i >>> 3]! >>> (7 - (i & 7))) & 1) === 1;
          i++;
        }
      }
    }
  }
  const m = MASKS[mask]!;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if (!fixed[y]![x] && m(x, y)) grid[y]![x] = !grid[y]![x];
  return grid;
}

// Penalty rules 1, 2 and 4 of the standard (runs, 2x2 blocks, balance); rule 3 (finder-like
// runs) is left out: any mask decodes, the penalty only picks a good-looking one.
function penalty(grid: boolean[][]): number {
  const size = grid.length;
  let score = 0;
  let darkCount = 0;
  for (let a = 0; a < size; a++) {
    for (const line of [grid[a]!, grid.map((row) => row[a]!)]) {
      let run = 1;
      for (let k = 1; k <= size; k++) {
        if (k < size && line[k] === line[k - 1]) run++;
        else {
          if (run >= 5) score += run - 2;
          run = 1;
        }
      }
    }
    for (let b = 0; b < size; b++) {
      if (grid[a]![b]) darkCount++;
      if (a + 1 < size && b + 1 < size) {
        const c = grid[a]![b];
        if (grid[a]![b + 1] === c && grid[a + 1]![b] === c && grid[a + 1]![b + 1] === c) score += 3;
      }
    }
  }
  const total = size * size;
  score += Math.floor(Math.abs(darkCount * 20 - total * 10) / total) * 10;
  return score;
}

/** The QR code of `text` (UTF-8, byte mode, level M); `mask` fixed for tests, else the best by penalty. */
export function encodeQr(text: string, mask?: number): Qr {
  const bytes = new TextEncoder().encode(text);
  const version = BLOCKS_M.findIndex(([, blocks, dataLen]) => blocks * dataLen >= bytes.length + 2) + 1;
  if (version === 0) throw new Error(`a QR code here holds at most ${BLOCKS_M.at(-1)![1] * BLOCKS_M.at(-1)![2] - 2} bytes`);
  let best: { grid: boolean[][]; mask: number; score: number } | undefined;
  for (const m of mask === undefined ? [0, 1, 2, 3, 4, 5, 6, 7] : [mask]) {
    const grid = build(bytes, version, m);
    const score = mask === undefined ? penalty(grid) : 0;
    if (!best || score < best.score) best = { grid, mask: m, score };
  }
  const { grid } = best!;
  return { size: grid.length, version, mask: best!.mask, dark: (x, y) => grid[y]![x]! };
}
