// The README's header vectors ("Block headers"): two fixed version 3 headers made by the
// spec chain's node key (RFC 8032 seed 03), block 0 and block 1, with what links them:
// block 0's commit and its hash (block 1's lastCommitHash), the one-validator set and its
// hash, and a two-validator set for the validators issue to build on. Ed25519 signatures
// are deterministic, so every byte is reproducible.
//
// Print the block for the README: npm run build && node dist/test/header-vectors.js
import { fileURLToPath } from 'node:url';
import { signHeader } from '../src/chain/blocks.js';
import {
  BLOCK_DOMAIN, canonicalValidators, COMMIT_DOMAIN, commitHash, commitOf, NO_COMMIT_HASH, singleValidator, validatorsHash,
  VALIDATORS_DOMAIN, type BlockHeader, type Commit, type SignedBlock, type Validator,
} from '../src/core/header.js';
import { canonicalJson } from '../src/core/canonical.js';
import { signerFromSeed } from './spec-chain.js';

export const HEADER_BEGIN = '<!-- header-vectors:begin -->';
export const HEADER_END = '<!-- header-vectors:end -->';

export interface HeaderVectors {
  tags: { block: string; validators: string; commit: string };
  noCommitHash: string;
  nodeKey: { seed: string; pub: string };
  validators: { set: { validators: Validator[] }; jcs: string; hash: string };
  twoValidators: { set: { validators: Validator[] }; hash: string };
  block0: SignedBlock;
  commit0: { commit: Commit; jcs: string; hash: string };
  block1: SignedBlock & { jcs: string };
}

export function buildHeaderVectors(): HeaderVectors {
  const node = signerFromSeed('03'.repeat(32));
  const other = signerFromSeed('04'.repeat(32));
  const set = singleValidator(node.pub);
  const vhash = validatorsHash(set);
  const block0 = signHeader({
    version: 3, chain: 'header-vectors', height: 0, prevHash: '11'.repeat(32), time: 1_767_225_600_000,
    txRoot: 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262', stateRoot: '22'.repeat(32), txCount: 0,
    proposer: node.pub, validatorsHash: vhash, lastCommitHash: NO_COMMIT_HASH,
  }, node);
  const commit = commitOf(block0);
  const header1: BlockHeader = {
    version: 3, chain: 'header-vectors', height: 1, prevHash: block0.hash, time: 1_767_225_601_000,
    txRoot: '33'.repeat(32), stateRoot: '44'.repeat(32), txCount: 1,
    proposer: node.pub, validatorsHash: vhash, lastCommitHash: commitHash(commit),
  };
  const two = [{ key: other.pub, power: 2 }, { key: node.pub, power: 1 }];
  return {
    tags: { block: BLOCK_DOMAIN, validators: VALIDATORS_DOMAIN, commit: COMMIT_DOMAIN },
    noCommitHash: NO_COMMIT_HASH,
    nodeKey: { seed: '03'.repeat(32), pub: node.pub },
    validators: { set: canonicalValidators(set), jcs: canonicalJson(canonicalValidators(set)), hash: vhash },
    twoValidators: { set: canonicalValidators(two), hash: validatorsHash(two) },
    block0,
    commit0: { commit, jcs: canonicalJson(commit), hash: commitHash(commit) },
    block1: { ...signHeader(header1, node), jcs: canonicalJson(header1) },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`${HEADER_BEGIN}\n\`\`\`json\n${JSON.stringify(buildHeaderVectors(), null, 2)}\n\`\`\`\n${HEADER_END}`);
}
