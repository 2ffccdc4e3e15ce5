// The markets module: order books, margin on the ledger, oracle-settled futures and
// perpetuals, liquidation and funding in endBlock. Requires ledger and oracle.
import type { TallyModule, WsTopic } from '../../chain/app-module.js';
import type { ChainModule } from '../../chain/module.js';
import { ledgerChain } from '../ledger/index.js';
import { oracleChain } from '../oracle/index.js';
import type { OracleKeeper } from './oracle-view.js';
import { marketsChainModule } from './chain.js';
import { marketsCli } from './cli.js';
import { marketsTopics, setFeedState } from './feeds.js';
import { tradesIndexer, tradesMigrations } from './trades.js';
import { marketsRoutes } from './routes.js';

export const marketsChain: ChainModule = marketsChainModule({ ledger: ledgerChain, oracle: oracleChain as ChainModule<OracleKeeper> });

export const marketsModule: TallyModule = {
  name: 'markets',
  chain: marketsChain,
  app: {
    migrations: tradesMigrations,
    indexer: tradesIndexer,
    routes: marketsRoutes,
    cli: marketsCli,
    wsTopics: marketsTopics as WsTopic[],
    // The book feed reads committed state: hand it the node's.
    services: ({ node }) => {
      setFeedState(node.state);
      return { stop: () => setFeedState(undefined) };
    },
  },
};
