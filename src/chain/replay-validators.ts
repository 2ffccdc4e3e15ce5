// The checks `tally chain verify` makes of a validator chain's blocks: block 0 is the
// genesis file's and unsigned; every later block is signed by a validator of the set in
// force (the state after its parent), names that set's hash, names its parent's canonical
// commit in lastCommitHash, and carries a commit certificate of more than 2/3 of that
// set's power. The tip's certificate is the one the node decided with.
import { certifiedCommitHash, NO_COMMIT_HASH, validatorsHash, type CertifiedCommit } from '../core/header.js';
import { blockHash, verifyHeaderSignature, type SignedBlock } from './blocks.js';
import { blstBls } from './consensus/bls-native.js';
import type { ValidatorEntry } from './consensus/validator-key.js';
import { VALIDATORS_KEY } from './validators.js';
import type { IssueSink } from './replay-checks.js';
import { decodeValue } from './state.js';
import { verifyCommit } from './validator-chain.js';

export class CommitChecks {
  constructor(
    private readonly chain: string,
    private readonly commitOf: (height: number) => Promise<CertifiedCommit | undefined>,
    private readonly issue: IssueSink,
  ) {}

  /** The set that signs the next block, from the replayed state after its parent. */
  static setIn(state: { get(k: string): string | undefined }): ValidatorEntry[] | undefined {
    const raw = state.get(VALIDATORS_KEY);
    return raw === undefined ? undefined : decodeValue<ValidatorEntry[]>(raw);
  }

  block0(block: SignedBlock): void {
    if (block.sig !== '' || block.header.proposer !== '') this.issue(0, 'bad_block_signature', 'a validator chain\'s block 0 is the genesis file\'s: its proposer and signature are empty');
  }

  /** Block `block` (height >= 1) against the set in force and its parent's commit; then its own commit. */
  async block(block: SignedBlock, prev: SignedBlock, set: ValidatorEntry[] | undefined): Promise<void> {
    const h = block.header;
    const at = h.height;
    if (!set) {
      this.issue(at, 'validators_hash_mismatch', 'the replayed state holds no validator set');
      return;
    }
    if (blockHash(h) !== block.hash) this.issue(at, 'block_hash_mismatch', 'the stored block hash is not the hash of its header');
    if (!set.some((v) => v.key === h.proposer)) this.issue(at, 'wrong_proposer', `the block is signed by ${h.proposer}, not a validator of the set in force`);
    else if (!verifyHeaderSignature(h, block.sig)) this.issue(at, 'bad_block_signature', 'the block signature does not verify with its proposer\'s key');
    if (h.version !== 3) this.issue(at, 'bad_version', 'a validator chain\'s blocks are version 3');
    if (h.validatorsHash !== validatorsHash(set)) this.issue(at, 'validators_hash_mismatch', 'validatorsHash is not the hash of the validator set in force');
    if (at === 1) {
      if (h.lastCommitHash !== NO_COMMIT_HASH) this.issue(at, 'last_commit_mismatch', 'block 1 names no last commit (block 0 has none): 64 zeros');
    } else {
      const last = await this.commitOf(at - 1);
      if (!last || h.lastCommitHash !== certifiedCommitHash(last)) this.issue(at, 'last_commit_mismatch', `lastCommitHash is not the hash of block ${at - 1}'s stored commit`);
    }
    const commit = await this.commitOf(at);
    if (!commit) {
      this.issue(at, 'commit_missing', 'the block has no commit certificate');
      return;
    }
    if (commit.height !== at || commit.blockHash !== block.hash) {
      this.issue(at, 'bad_commit', 'the stored commit is not of this block');
      return;
    }
    const check = verifyCommit(blstBls, this.chain, set, commit);
    if (!check.ok) this.issue(at, 'bad_commit', `the commit certificate does not verify: ${check.reason}`);
  }
}
