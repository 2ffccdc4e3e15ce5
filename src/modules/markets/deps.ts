// The modules markets requires, passed in (so tests can put a fake oracle in its place).
import type { ChainModule } from '../../chain/module.js';
import type { LedgerKeeper } from '../ledger/keeper.js';
import type { OracleKeeper } from './oracle-view.js';

export interface MarketsDeps {
  ledger: ChainModule<LedgerKeeper>;
  oracle: ChainModule<OracleKeeper>;
}
