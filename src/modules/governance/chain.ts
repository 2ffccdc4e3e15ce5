// The governance chain module, built over the modules it requires: the ledger (deposits
// are held on it) and the core's validator set (validators vote; proposals change it).
import type { ChainModule } from '../../chain/module.js';
import type { GovernanceDeps } from './deps.js';
import { governanceGenesis } from './genesis.js';
import { governanceBeginBlock, governanceEndBlock } from './hooks.js';
import { governanceInvariants } from './invariants.js';
import { governanceQueries } from './queries.js';
import { governanceTxTypes } from './txs.js';
import { governanceParam } from './params.js';

export function governanceChainModule(deps: GovernanceDeps): ChainModule {
  return {
    name: 'governance',
    requires: [deps.ledger.name, deps.validators.name],
    txTypes: governanceTxTypes(deps),
    queries: governanceQueries,
    genesis: governanceGenesis,
    beginBlock: governanceBeginBlock(deps),
    endBlock: governanceEndBlock(deps),
    invariants: governanceInvariants,
    blockTxCountMax: (state) => governanceParam(state, 'maxBlockTxs'),
  };
}
