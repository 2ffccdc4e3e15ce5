// `tally chain verify` on a directory that started from a snapshot at height H (`tally init
// --from-snapshot`): blocks 1 to H-1 and the transactions up to H are absent, so the replay
// starts from the state at H the directory kept (snapshot-base.ts), once that checks out
// against block H: the block is the node's (hash, proposer, signature), of the genesis
// chain, at height H, a version 2 header no older than block 0, and the state tree built
// from that state has exactly its stateRoot. What came before H is not verified, and the
// report says so.
import { hasStateTreeRoot, singleValidator, STATE_TREE_HEADER_VERSION, validatorsHash } from '../core/header.js';
import type { SignedBlock } from './blocks.js';
import type { Genesis } from './genesis.js';
import type { VerifyStart } from './report.js';
import { checkBlockSelf, type IssueSink } from './replay-checks.js';
import type { SnapshotBase } from './snapshot-base.js';
import { MemoryState } from './state.js';
import { MemoryTree } from './state-tree/memory.js';
import { buildTree } from './state-tree/stored.js';

export interface SnapshotStart {
  start: VerifyStart;
  /** the state at H and its tree; undefined when the directory does not keep that state (nothing to replay from) */
  replay?: { state: MemoryState; tree: MemoryTree };
}

export function startAtSnapshot(base: SnapshotBase, block: SignedBlock, block0: SignedBlock, genesis: Genesis, nodeKey: string, issue: IssueSink): SnapshotStart {
  const H = base.height;
  const h = block.header;
  const start: VerifyStart = {
    height: H,
    hash: block.hash,
    note: `history before height ${H} was not verified: this directory started from a snapshot at height ${H} (block ${block.hash}), and ${H > 1 ? `blocks 1 to ${H - 1} and ` : ''}the transactions up to ${H} are not in it`,
  };
  checkBlockSelf(block, nodeKey, issue);
  if (h.height !== H) issue(H, 'bad_height', `the snapshot's block says height ${h.height}`);
  if (h.chain !== genesis.chain) issue(H, 'wrong_chain', `the snapshot's block says chain ${h.chain}`);
  if (!hasStateTreeRoot(h)) issue(H, 'bad_version', `the snapshot's block is version ${String(h.version ?? 1)}: only a header of version ${STATE_TREE_HEADER_VERSION} or later has a stateRoot that commits to a state a replay can start from`);
  // Its lastCommitHash names block H-1, which the directory does not have: checked from H+1 on.
  if (h.version === 3 && h.validatorsHash !== validatorsHash(singleValidator(nodeKey))) issue(H, 'validators_hash_mismatch', 'validatorsHash is not the hash of the validator set {node key, power 1}');
  if (h.time < block0.header.time) issue(H, 'time_backwards', 'the snapshot\'s block is earlier than block 0');
  if (!base.entries) {
    issue(H, 'snapshot_base_missing', `this directory started from a snapshot at height ${H} but does not keep the state at ${H} (an older \`tally init --from-snapshot\` made it): the blocks after ${H} cannot be replayed`);
    return { start };
  }
  const state = new MemoryState();
  for (const [k, v] of base.entries()) state.map.set(k, v);
  // The tree the replay keeps from here on, built as the node built its own at init.
  const batch = buildTree(state.map.entries(), H);
  if (batch.rootHash !== h.stateRoot) {
    issue(H, 'state_root_mismatch', `the state this directory kept from the snapshot has root ${batch.rootHash}, not block ${H}'s stateRoot ${h.stateRoot}: the stored snapshot state was changed`);
  }
  const tree = new MemoryTree(0, false);
  tree.apply(batch);
  return { start, replay: { state, tree } };
}
