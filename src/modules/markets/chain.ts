// The markets chain module, built over the modules it requires (ledger and oracle).
import type { ChainModule } from '../../chain/module.js';
import type { MarketsDeps } from './deps.js';
import { marketsInvariants } from './invariants.js';
import { marketsQueries } from './queries.js';
import { marketsEndBlock } from './risk.js';
import { marketsTxTypes } from './txs.js';

export function marketsChainModule(deps: MarketsDeps): ChainModule {
  return {
    name: 'markets',
    requires: ['ledger', 'oracle'],
    txTypes: marketsTxTypes(deps),
    queries: marketsQueries,
    // No genesis section: a chain starts with no markets and writes no markets state.
    endBlock: marketsEndBlock(deps),
    invariants: marketsInvariants,
  };
}
