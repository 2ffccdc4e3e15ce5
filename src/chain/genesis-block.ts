// Block 0 and the chain parameters, derived from the genesis document alone: the node
// that initializes a data directory and every verifier compute them the same way.
import { EMPTY_ROOT } from '../core/merkle.js';
import type { BlockHeader } from './blocks.js';
import { genesisHash, type Genesis } from './genesis.js';
import type { Kernel } from './kernel.js';
import type { ChainModule, ChainParams } from './module.js';
import { LayeredState, MemoryState, nextStateRoot, openAccount, ScopedState, ZERO_ROOT, type Writes } from './state.js';

export function chainParams(genesis: Genesis): ChainParams {
  return {
    chain: genesis.chain,
    decimals: genesis.decimals,
    genesisHash: genesisHash(genesis),
    moduleGenesis: (name) => genesis.modules[name],
  };
}

/** The state and header of block 0: each module's genesis init in dependency order. */
export function genesisBlockParts(genesis: Genesis, kernel: Kernel): { writes: Writes; header: Omit<BlockHeader, 'proposer'> } {
  const state = new LayeredState(new MemoryState());
  for (const m of kernel.modules as ChainModule[]) {
    if (!m.genesis) continue;
    m.genesis.init({
      state: new ScopedState(state, `${m.name}/`),
      params: kernel.params,
      openAccount: (id, pub) => openAccount(state, id, pub),
    }, genesis.modules[m.name]);
  }
  state.commitTx();
  return {
    writes: state.blockWrites,
    header: {
      chain: genesis.chain,
      height: 0,
      prevHash: genesisHash(genesis),
      time: genesis.time,
      txRoot: EMPTY_ROOT,
      stateRoot: nextStateRoot(ZERO_ROOT, state.blockWrites),
      txCount: 0,
    },
  };
}
