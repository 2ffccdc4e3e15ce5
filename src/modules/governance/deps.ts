// The modules governance requires, passed in (tests put a fake validator set in place of
// the core's; markets does the same with its oracle).
import type { ChainModule } from '../../chain/module.js';
import type { LedgerKeeper } from '../ledger/keeper.js';
import type { ValidatorSetKeeper } from './validator-set.js';

export interface GovernanceDeps {
  ledger: ChainModule<LedgerKeeper>;
  /** the core's validator set, a module named "validators" */
  validators: ChainModule<ValidatorSetKeeper>;
}
