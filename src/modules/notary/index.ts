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
import { validateNotaryConfig, type NotaryConfig } from './config.js';

export const notaryChain: ChainModule = {
  name: 'notary',
  txTypes: [anchorTx as TxType],
  queries: [anchorQuery],
};

/** Each running node's notary config section (tests may run several nodes in one process). */
const configs = new WeakMap<object, NotaryConfig>();

export const notaryModule: TallyModule = {
  name: 'notary',
  chain: notaryChain,
  app: {
    migrations: notaryMigrations,
    routes: notaryRoutes,
    config: { validate: validateNotaryConfig },
    // The config section reaches the routes through the service, which gets it at start.
    internalRoutes: (app, node, ctx) => notaryInternalRoutes(app, node, ctx, configs.get(node)),
    cli: notaryCli,
    services: (ctx) => {
      configs.set(ctx.node, (ctx.config as NotaryConfig | undefined) ?? validateNotaryConfig(undefined));
      return startNotaryService(ctx);
    },
  },
};
