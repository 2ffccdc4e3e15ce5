// The checks `tally chain verify` makes of a block on its own: hash, proposer, signature.
import { blockHash, verifyHeaderSignature, type BlockHeader, type SignedBlock } from './blocks.js';

export type IssueSink = (height: number, kind: string, message: string) => void;

export function checkBlockSelf(block: SignedBlock, nodeKey: string, issue: IssueSink): void {
  const h: BlockHeader = block.header;
  if (blockHash(h) !== block.hash) issue(h.height, 'block_hash_mismatch', 'the stored block hash is not the hash of its header');
  if (h.proposer !== nodeKey) issue(h.height, 'wrong_proposer', `the block is signed by ${h.proposer}, not the node key ${nodeKey}`);
  if (!verifyHeaderSignature(h, block.sig)) issue(h.height, 'bad_block_signature', 'the block signature does not verify');
}
