// What markets sees of the oracle module: the keeper interface MARKETS.md fixes, as the
// oracle module declares it. Markets reaches the oracle only through this keeper.
export type { OracleEventView, OracleKeeper } from '../oracle/keeper.js';
