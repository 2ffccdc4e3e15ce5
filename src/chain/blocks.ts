// Block headers: hashed and signed over a domain tag plus their canonical JSON.
import { canonicalJson } from '../core/canonical.js';
import { toHex, utf8 } from '../core/encoding.js';
import { hash } from '../core/hash.js';
import { verifySignature, type Signer } from '../core/keys.js';
import type { Receipt, TxEvent } from './envelope.js';

export const BLOCK_DOMAIN = 'tally/block/v1\n';

export interface BlockHeader {
  /**
   * 2: stateRoot is the state tree's root. Absent: version 1, the hash chain over writes
   * (blocks made before the tree; a chain's versions never go down).
   */
  version?: 2;
  chain: string;
  height: number;
  prevHash: string;
  /** Unix milliseconds, never earlier than the previous block's. */
  time: number;
  txRoot: string;
  stateRoot: string;
  txCount: number;
  /** base64url public key of the node that made the block */
  proposer: string;
}

export interface SignedBlock {
  hash: string;
  header: BlockHeader;
  sig: string;
}

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

export function headerBytes(header: BlockHeader): Uint8Array {
  return utf8.encode(BLOCK_DOMAIN + canonicalJson(header));
}

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
