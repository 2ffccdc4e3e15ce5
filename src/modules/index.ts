// Every module this build of Tally carries, in the order their routes and commands appear.
import type { TallyModule } from '../chain/app-module.js';
import { ledgerModule } from './ledger/index.js';
import { marketsModule } from './markets/index.js';
import { notaryModule } from './notary/index.js';
import { oracleModule } from './oracle/index.js';
import { ticketsModule } from './tickets/index.js';
import { governanceModuleWith } from './governance/index.js';
import { coreValidators } from '../chain/validators.js';

export const allModules: TallyModule[] = [ledgerModule, ticketsModule, notaryModule, oracleModule, marketsModule, governanceModuleWith(coreValidators)];

/** The chain parts: what the executor and every verifier run. */
export const chainModules = allModules.map((m) => m.chain);
