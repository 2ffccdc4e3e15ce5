// Block 0 and the chain parameters, derived from the genesis document alone: the node
// that initializes a data directory and every verifier compute them the same way.
import { EMPTY_ROOT } from '../core/merkle.js';
import { NO_COMMIT_HASH, singleValidator, validatorsHash, type BlockHeader, type HeaderVersion } from '../core/header.js';
import { genesisHash, type Genesis } from './genesis.js';
import type { Kernel } from './kernel.js';
import { VALIDATORS_KEY } from './validators.js';
import type { ChainModule, ChainParams } from './module.js';
import { LayeredState, MemoryState, nextStateRoot, openAccount, ScopedState, ZERO_ROOT, type Writes } from './state.js';
import { EMPTY_TREE, updateTree, type TreeBatch } from './state-tree/update.js';

export function chainParams(genesis: Genesis): ChainParams {
  return {
    chain: genesis.chain,
    decimals: genesis.decimals,
    genesisHash: genesisHash(genesis),
    moduleGenesis: (name) => genesis.modules[name],
  };
}


/**
 * The state and header of block 0 made by `proposer`: each module's genesis init in
 * dependency order. A new chain is version 3 (stateRoot = the state tree's root, `tree`
 * its rows; the validator set is the proposer alone, no previous commit); versions 1 and
 * 2 give block 0 as chains made before the tree, or before version 3, have it (verify
 * replays those). A validator chain's block 0 is nobody's: every validator derives it from
 * the genesis file, so its proposer and signature are empty strings and its
 * validatorsHash names the genesis set, which is also written to state (VALIDATORS_KEY).
 */
export function genesisBlockParts(genesis: Genesis, kernel: Kernel, proposer: string, version: HeaderVersion = 3): { writes: Writes; header: BlockHeader; tree?: TreeBatch } {
  const state = new LayeredState(new MemoryState());
  for (const m of kernel.modules as ChainModule[]) {
    if (!m.genesis) continue;
    m.genesis.init({
      state: new ScopedState(state, `${m.name}/`),
      params: kernel.params,
      openAccount: (id, pub) => openAccount(state, id, pub),
    }, genesis.modules[m.name]);
  }
  if (genesis.validators) state.set(VALIDATORS_KEY, genesis.validators);
  state.commitTx();
  const tree = version >= 2 ? updateTree({ node: () => { throw new Error('the empty tree has no nodes'); } }, EMPTY_TREE, 0, state.blockWrites) : undefined;
  return {
    writes: state.blockWrites,
    ...(tree ? { tree } : {}),
    header: {
      ...(version >= 2 ? { version: version as 2 | 3 } : {}),
      chain: genesis.chain,
      height: 0,
      prevHash: genesisHash(genesis),
      time: genesis.time,
      txRoot: EMPTY_ROOT,
      stateRoot: tree ? tree.rootHash : nextStateRoot(ZERO_ROOT, state.blockWrites),
      txCount: 0,
      proposer: genesis.validators ? '' : proposer,
      ...(version === 3 ? { validatorsHash: validatorsHash(genesis.validators ?? singleValidator(proposer)), lastCommitHash: NO_COMMIT_HASH } : {}),
    },
  };
}
