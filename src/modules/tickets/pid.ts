// Payment ids and service tokens. A PID is 8 random bytes (16 lowercase hex, OS CSPRNG)
// that a client makes and pays to; a token is 32 bytes (64 hex) the service hands out for a
// paid PID, derived from the PID and a node secret (see token-key.ts). Only a token's SHA-256
// is ever stored: a 256-bit secret needs no slow KDF, and a leaked database then holds
// nothing a client could present.
import crypto from 'node:crypto';
import { fail } from '../../core/errors.js';

export const PID_PATTERN = /^[0-9a-f]{16}$/;
/** What monero-wallet-rpc reports for a payment made without a payment id: never credited. */
export const ZERO_PID = '0'.repeat(16);
export const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

export function newPid(): string {
  for (;;) {
    const pid = crypto.randomBytes(8).toString('hex');
    if (pid !== ZERO_PID) return pid;
  }
}

/** A PID from a request, or 400 invalid_pid (the all-zero PID included: nobody can redeem it). */
export function parsePid(value: unknown): string {
  if (typeof value !== 'string' || !PID_PATTERN.test(value)) {
    fail('invalid_pid', 'a payment id is 16 lowercase hex digits (8 bytes), e.g. from `tally ticket new`', { status: 400 });
  }
  if (value === ZERO_PID) fail('invalid_pid', 'the all-zero payment id marks payments without one and cannot be redeemed', { status: 400 });
  return value;
}

/**
 * What a Tally payment carries as memo: a tag of the PID, not the PID. Memos are public (every
 * block is readable, and streamed on /v1/ws), so a PID in a memo could be redeemed by anyone
 * watching the chain before its payer. The tag is the first 8 bytes of
 * SHA-256("tally/tickets/memo/v1\n" || PID bytes): the service finds the payment from the PID
 * at redeem time, and nobody can go from the tag back to a PID (a 2^64 preimage search).
 */
export function tallyMemoTag(pid: string): string {
  return crypto.createHash('sha256').update('tally/tickets/memo/v1\n').update(Buffer.from(pid, 'hex')).digest().subarray(0, 8).toString('hex');
}

export function parseToken(value: unknown): string {
  if (typeof value !== 'string' || !TOKEN_PATTERN.test(value)) fail('invalid_token', 'a service token is 64 lowercase hex digits', { status: 400 });
  return value;
}

export function tokenHash(token: string): Buffer {
  return crypto.createHash('sha256').update(Buffer.from(token, 'hex')).digest();
}
