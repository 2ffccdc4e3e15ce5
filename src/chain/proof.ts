// Check a transaction's inclusion proof offline: the receipt hashes to the leaf, the leaf
// and siblings fold to the header's txRoot, the proof covers the header's txCount, the
// header hashes to the block hash, and the node's key signed it.
import { fromHex, toHex } from '../core/encoding.js';
import { leafHash, rootFromProof } from '../core/merkle.js';
import { blockHash, verifyHeaderSignature } from './blocks.js';
import { receiptLeafBytes } from './envelope.js';
import type { ProofView } from './reads.js';

export type ProofVerdict = { ok: true } | { ok: false; reason: string };

export function verifyTxProof(view: ProofView, nodeKey?: string): ProofVerdict {
  const { receipt, proof, block } = view;
  const leaf = leafHash(receiptLeafBytes(receipt));
  if (toHex(leaf) !== view.leaf) return { ok: false, reason: 'the receipt does not hash to the leaf' };
  if (receipt.height !== block.header.height) return { ok: false, reason: 'the receipt is for another block' };
  if (proof.count !== block.header.txCount) return { ok: false, reason: 'the proof does not cover the block\'s transaction count' };
  let root: string;
  try {
    root = rootFromProof(fromHex(view.leaf, 'leaf', 32), proof);
  } catch (err) {
    return { ok: false, reason: `malformed proof: ${(err as Error).message}` };
  }
  if (root !== block.header.txRoot) return { ok: false, reason: 'the proof does not lead to the header\'s txRoot' };
  if (blockHash(block.header) !== block.hash) return { ok: false, reason: 'the block hash is not the hash of its header' };
  if (nodeKey !== undefined && block.header.proposer !== nodeKey) return { ok: false, reason: 'the block was not made by the expected node key' };
  if (!verifyHeaderSignature(block.header, block.sig)) return { ok: false, reason: 'the block signature does not verify' };
  return { ok: true };
}
