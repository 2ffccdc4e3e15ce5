// Block headers: hashed and signed over a domain tag plus their canonical JSON.
import { toHex } from '../core/encoding.js';
import { hash } from '../core/hash.js';
import { headerBytes, type BlockHeader, type SignedBlock } from '../core/header.js';
import { verifySignature, type Signer } from '../core/keys.js';
import type { Receipt, TxEvent } from './envelope.js';

// The definition lives in core (the browser wallet verifies headers with it).
export { BLOCK_DOMAIN, headerBytes, type BlockHeader, type SignedBlock } from '../core/header.js';

/** A block the node committed, with its receipts: what the 'block' event carries. */
export interface BlockCommitted {
  block: SignedBlock;
  receipts: Receipt[];
  /** sender account id of each receipt's transaction */
  senders: string[];
  commitMs: number;
  /** the events of the block's beginBlock/endBlock hooks (not stored; live feeds only) */
  hookEvents?: TxEvent[];
  /** every level of the block's receipt Merkle tree, for the node's block cache */
  txLevels?: Uint8Array[];
}

/** The block hash (core/header.ts's headerHash), with the node's faster WebAssembly BLAKE3. */
export function blockHash(header: BlockHeader): string {
  return toHex(hash(headerBytes(header)));
}

export function signHeader(header: BlockHeader, signer: Signer): SignedBlock {
  const bytes = headerBytes(header);
  return { hash: toHex(hash(bytes)), header, sig: signer.sign(bytes) };
}

export function verifyHeaderSignature(header: BlockHeader, sig: string): boolean {
  try {
    return verifySignature(header.proposer, headerBytes(header), sig);
  } catch {
    return false;
  }
}

export const REPLY_DOMAIN = 'tally/reply/v1\n';
