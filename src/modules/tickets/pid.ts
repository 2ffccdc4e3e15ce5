// Payment ids and service tokens. A PID is 8 random bytes (16 lowercase hex, OS CSPRNG)
// that a client makes and pays to; a token is 32 bytes (64 hex) the service hands out for a
// paid PID, derived from the PID and a node secret (see token-key.ts). Only a token's SHA-256
// is ever stored: a 256-bit secret needs no slow KDF, and a leaked database then holds
// nothing a client could present.
import crypto from 'node:crypto';
import { fail } from '../../core/errors.js';

// PIDs and their memo tags are made in the browser wallet too: one definition in core.
export { PID_PATTERN, ZERO_PID, newPid, tallyMemoTag } from '../../core/tickets-pid.js';
import { PID_PATTERN, ZERO_PID } from '../../core/tickets-pid.js';
export const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

/** A PID from a request, or 400 invalid_pid (the all-zero PID included: nobody can redeem it). */
export function parsePid(value: unknown): string {
  if (typeof value !== 'string' || !PID_PATTERN.test(value)) {
    fail('invalid_pid', 'a payment id is 16 lowercase hex digits (8 bytes), e.g. from `tally ticket new`', { status: 400 });
  }
  if (value === ZERO_PID) fail('invalid_pid', 'the all-zero payment id marks payments without one and cannot be redeemed', { status: 400 });
  return value;
}

export function parseToken(value: unknown): string {
  if (typeof value !== 'string' || !TOKEN_PATTERN.test(value)) fail('invalid_token', 'a service token is 64 lowercase hex digits', { status: 400 });
  return value;
}

export function tokenHash(token: string): Buffer {
  return crypto.createHash('sha256').update(Buffer.from(token, 'hex')).digest();
}
