// The ledger module: a community currency. Declares its transaction types, queries,
// genesis section, HTTP routes and CLI commands; the core knows nothing else about it.
import type { TallyModule } from '../../chain/module.js';
import { ledgerCli } from './cli.js';
import { ledgerGenesis } from './genesis.js';
import { accountQuery, balanceQuery } from './queries.js';
import { ledgerRoutes } from './routes.js';
import { register, send } from './txs.js';
import { ledgerInvariants } from './state.js';

export const ledgerModule: TallyModule = {
  name: 'ledger',
  txTypes: [register, send] as TallyModule['txTypes'],
  queries: [accountQuery, balanceQuery],
  genesis: ledgerGenesis,
  routes: ledgerRoutes,
  cli: ledgerCli,
  invariants: ledgerInvariants,
};
