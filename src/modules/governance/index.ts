// The governance module: proposals to change a chain parameter (within declared bounds),
// add or remove a validator or change its power, or signal text; a deposit held on the
// ledger; a voting period in blocks in which validators vote; quorum, threshold and veto
// at the period's last block; execution at a fixed later height. Requires the ledger and
// the core's validator set (a module named "validators" with a ValidatorSetKeeper).
import type { TallyModule } from '../../chain/app-module.js';
import type { ChainModule } from '../../chain/module.js';
import { ledgerChain } from '../ledger/index.js';
import { governanceChainModule } from './chain.js';
import { governanceRoutes } from './routes.js';
import { governanceCli } from './cli.js';
import type { ValidatorSetKeeper } from './validator-set.js';

export { governanceParam, governanceParams, PARAMS, type ParamName } from './params.js';
export type { ValidatorEntry, ValidatorSetKeeper } from './validator-set.js';
export { governanceChainModule } from './chain.js';

/**
 * The module over the core's validator set. The kernel hands a module the keeper of a
 * module object it requires (by that object's name, which governance puts in `requires`),
 * so governance must be given that object: `governanceModuleWith(<the core's validators
 * module>)`. The kernel reserves the name "validators" for the core (src/chain/kernel.ts),
 * which is to provide the module with a ValidatorSetKeeper over its "validators/" state.
 */
export function governanceModuleWith(validators: ChainModule<ValidatorSetKeeper>): TallyModule {
  return {
    name: 'governance',
    chain: governanceChainModule({ ledger: ledgerChain, validators }),
    // No services: governance runs in the chain part.
    app: { routes: governanceRoutes, cli: governanceCli },
  };
}
