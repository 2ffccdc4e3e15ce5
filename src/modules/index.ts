// Every module this build of Tally carries, in the order their routes and commands appear.
import type { TallyModule } from '../chain/module.js';
import { ledgerModule } from './ledger/index.js';
import { notaryModule } from './notary/index.js';
import { ticketsModule } from './tickets/index.js';

export const allModules: TallyModule[] = [ledgerModule, ticketsModule, notaryModule];
