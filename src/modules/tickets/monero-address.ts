// Monero addresses, built and checked locally: Monero's base58 (8-byte blocks, 11 characters
// each, no leading-zero rule) over varint(prefix) || spend key || view key [|| payment id]
// || the first 4 bytes of Keccak-256 of what precedes. An integrated address is a standard
// address with an 8-byte payment id; the wallet then reports that id with each payment.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { fail } from '../../core/errors.js';
import { PID_PATTERN, ZERO_PID } from './pid.js';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const FULL_BLOCK_BYTES = 8;
const FULL_BLOCK_CHARS = 11;
/** Characters of an encoded block of n bytes, n = 0..8. */
const BLOCK_CHARS = [0, 2, 3, 5, 6, 7, 9, 10, 11];

export type MoneroNetwork = 'mainnet' | 'testnet' | 'stagenet';

/** Address prefixes (single-byte varints) by network: standard, integrated, subaddress. */
const PREFIXES: Record<MoneroNetwork, { standard: number; integrated: number; subaddress: number }> = {
  mainnet: { standard: 18, integrated: 19, subaddress: 42 },
  testnet: { standard: 53, integrated: 54, subaddress: 63 },
  stagenet: { standard: 24, integrated: 25, subaddress: 36 },
};

export function base58Encode(data: Uint8Array): string {
  let out = '';
  for (let i = 0; i < data.length; i += FULL_BLOCK_BYTES) {
    const block = data.subarray(i, Math.min(i + FULL_BLOCK_BYTES, data.length));
    let n = 0n;
    for (const b of block) n = (n << 8n) | BigInt(b);
    let chars = '';
    for (let k = 0; k < BLOCK_CHARS[block.length]!; k++) {
      chars = ALPHABET[Number(n % 58n)]! + chars;
      n /= 58n;
    }
    out += chars;
  }
  return out;
}

export function base58Decode(text: string): Uint8Array {
  const fullBlocks = Math.floor(text.length / FULL_BLOCK_CHARS);
  const lastChars = text.length % FULL_BLOCK_CHARS;
  const lastBytes = BLOCK_CHARS.indexOf(lastChars);
  if (lastBytes < 0) fail('monero_address_invalid', 'not Monero base58: impossible length');
  const out = new Uint8Array(fullBlocks * FULL_BLOCK_BYTES + lastBytes);
  for (let b = 0; b * FULL_BLOCK_CHARS < text.length; b++) {
    const chunk = text.slice(b * FULL_BLOCK_CHARS, (b + 1) * FULL_BLOCK_CHARS);
    const bytes = chunk.length === FULL_BLOCK_CHARS ? FULL_BLOCK_BYTES : lastBytes;
    let n = 0n;
    for (const c of chunk) {
      const d = ALPHABET.indexOf(c);
      if (d < 0) fail('monero_address_invalid', `not Monero base58: character "${c}"`);
      n = n * 58n + BigInt(d);
    }
    if (n >> BigInt(bytes * 8) !== 0n) fail('monero_address_invalid', 'not Monero base58: a block overflows');
    for (let k = bytes - 1; k >= 0; k--) {
      out[b * FULL_BLOCK_BYTES + k] = Number(n & 0xffn);
      n >>= 8n;
    }
  }
  return out;
}

export interface MoneroAddress {
  network: MoneroNetwork;
  kind: 'standard' | 'integrated' | 'subaddress';
  spendKey: Uint8Array;
  viewKey: Uint8Array;
  /** 16 hex, integrated addresses only */
  paymentId?: string;
}

export function parseMoneroAddress(text: unknown): MoneroAddress {
  if (typeof text !== 'string' || text.length < 95 || text.length > 106) fail('monero_address_invalid', 'a Monero address is 95 (standard) or 106 (integrated) base58 characters');
  const raw = base58Decode(text);
  const body = raw.subarray(0, raw.length - 4);
  const sum = keccak_256(body).subarray(0, 4);
  if (!sum.every((b, i) => b === raw[raw.length - 4 + i])) fail('monero_address_invalid', 'the Monero address checksum does not match (a typo?)');
  const prefix = body[0]!;
  for (const [network, p] of Object.entries(PREFIXES) as Array<[MoneroNetwork, typeof PREFIXES.mainnet]>) {
    const kind = prefix === p.standard ? 'standard' : prefix === p.integrated ? 'integrated' : prefix === p.subaddress ? 'subaddress' : undefined;
    if (!kind) continue;
    const expected = kind === 'integrated' ? 73 : 65;
    if (body.length !== expected) fail('monero_address_invalid', `a ${network} ${kind} address holds ${expected} bytes before its checksum, this one ${body.length}`);
    const out: MoneroAddress = { network, kind, spendKey: body.slice(1, 33), viewKey: body.slice(33, 65) };
    if (kind === 'integrated') out.paymentId = Buffer.from(body.subarray(65, 73)).toString('hex');
    return out;
  }
  return fail('monero_address_invalid', `unknown Monero address prefix ${prefix}`);
}

/** The integrated address of a standard address and a PID, built locally. */
export function integratedAddress(standard: string, pid: string): string {
  const a = parseMoneroAddress(standard);
  if (a.kind !== 'standard') fail('monero_address_invalid', `an integrated address is made from a standard address, not a${a.kind === 'integrated' ? 'n integrated address' : ' subaddress'}`);
  if (!PID_PATTERN.test(pid) || pid === ZERO_PID) fail('invalid_pid', 'a payment id is 16 lowercase hex digits, not all zero');
  const body = new Uint8Array(73);
  body[0] = PREFIXES[a.network].integrated;
  body.set(a.spendKey, 1);
  body.set(a.viewKey, 33);
  body.set(Buffer.from(pid, 'hex'), 65);
  const full = new Uint8Array(77);
  full.set(body);
  full.set(keccak_256(body).subarray(0, 4), 73);
  return base58Encode(full);
}
