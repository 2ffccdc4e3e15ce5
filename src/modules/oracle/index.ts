// The oracle module: BIP340 oracles that announce digit-decomposed events and attest their
// outcomes (dlcspecs Oracle.md), and evidence of nonce reuse that freezes an oracle.
// Markets settle from it through the keeper. No genesis state.
import type { TallyModule, WsTopic } from '../../chain/app-module.js';
import { attestationsTopic } from './feeds.js';
import type { ChainModule } from '../../chain/module.js';
import { oracleCli } from './cli.js';
import { oracleInvariants } from './invariants.js';
import { oracleKeeper, type OracleKeeper } from './keeper.js';
import { oracleQueries } from './queries.js';
import { oracleRoutes } from './routes.js';
import { oracleTxTypes } from './txs.js';

export const oracleChain: ChainModule<OracleKeeper> = {
  name: 'oracle',
  txTypes: oracleTxTypes,
  queries: oracleQueries,
  keeper: oracleKeeper,
  invariants: oracleInvariants,
};

export const oracleModule: TallyModule = {
  name: 'oracle',
  chain: oracleChain,
  app: {
    routes: oracleRoutes,
    cli: oracleCli,
    wsTopics: [attestationsTopic as WsTopic],
  },
};
