// Payment ids for tickets, made and tagged the same way by the node, the CLI and the
// browser wallet (README, "Tickets: paid anonymous access"). Nothing Node-only: the OS
// CSPRNG through crypto.getRandomValues, SHA-256 from @noble/hashes.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';

export const PID_PATTERN = /^[0-9a-f]{16}$/;
/** What monero-wallet-rpc reports for a payment made without a payment id: never credited. */
export const ZERO_PID = '0'.repeat(16);
export const MEMO_TAG_DOMAIN = 'tally/tickets/memo/v1\n';

/** 8 random bytes, 16 lowercase hex; never the all-zero PID. */
export function newPid(): string {
  for (;;) {
    const pid = bytesToHex(globalThis.crypto.getRandomValues(new Uint8Array(8)));
    if (pid !== ZERO_PID) return pid;
  }
}

/**
 * What a Tally payment carries as memo: a tag of the PID, not the PID. Memos are public (every
 * block is readable, and streamed on /v1/ws), so a PID in a memo could be redeemed by anyone
 * watching the chain before its payer. The tag is the first 8 bytes of
 * SHA-256("tally/tickets/memo/v1\n" || PID bytes): the service finds the payment from the PID
 * at redeem time, and nobody can go from the tag back to a PID (a 2^64 preimage search).
 */
export function tallyMemoTag(pid: string): string {
  return bytesToHex(sha256(concatBytes(utf8ToBytes(MEMO_TAG_DOMAIN), hexToBytes(pid))).subarray(0, 8));
}
