// The ledger module: a community currency with disputes. Declares its transaction types,
// queries, genesis section, history index, HTTP routes and CLI commands; the core knows
// nothing else about it.
import type { TallyModule, WsTopic } from '../../chain/app-module.js';
import { accountTopic } from './feeds.js';
import type { ChainModule } from '../../chain/module.js';
import { ledgerCli } from './cli.js';
import { ledgerGenesis } from './genesis.js';
import { ledgerIndexer, ledgerMigrations } from './history.js';
import { bothIndexers, keyIndexer, keyIndexMigration } from './key-index.js';
import { ledgerQueries } from './queries.js';
import { ledgerRoutes } from './routes.js';
import { ledgerTxTypes } from './txs.js';
import { ledgerInvariants } from './state.js';
import { ledgerKeeper, type LedgerKeeper } from './keeper.js';

/** The chain part: what every node re-executes. */
export const ledgerChain: ChainModule<LedgerKeeper> = {
  name: 'ledger',
  txTypes: ledgerTxTypes,
  queries: ledgerQueries,
  genesis: ledgerGenesis,
  invariants: ledgerInvariants,
  keeper: ledgerKeeper,
};

export const ledgerModule: TallyModule = {
  name: 'ledger',
  chain: ledgerChain,
  app: {
    migrations: [...ledgerMigrations, keyIndexMigration],
    indexer: (store) => bothIndexers(ledgerIndexer(store), keyIndexer(store)),
    routes: ledgerRoutes,
    cli: ledgerCli,
    wsTopics: [accountTopic as WsTopic],
  },
};
