// The notary module: exactly-once batch signing with a pool of keys. Its job state lives
// in its own tables (off chain); each signed batch's Merkle root is anchored on chain.
import type { TallyModule } from '../../chain/app-module.js';
import type { ChainModule, TxType } from '../../chain/module.js';
import { anchorTx } from './anchor.js';
import { notaryCli } from './cli.js';
import { anchorQuery } from './queries.js';
import { notaryInternalRoutes, notaryRoutes } from './routes.js';
import { notaryMigrations } from './schema.js';
import { startNotaryService } from './service.js';
import { validateNotaryConfig } from './config.js';

export const notaryChain: ChainModule = {
  name: 'notary',
  txTypes: [anchorTx as TxType],
  queries: [anchorQuery],
};

export const notaryModule: TallyModule = {
  name: 'notary',
  chain: notaryChain,
  app: {
    migrations: notaryMigrations,
    routes: notaryRoutes,
    internalRoutes: notaryInternalRoutes,
    cli: notaryCli,
    services: startNotaryService,
    config: { validate: validateNotaryConfig },
  },
};
