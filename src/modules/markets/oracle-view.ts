// What markets sees of the oracle module: the interface MARKETS.md fixes between the two
// modules. The oracle module implements it in src/modules/oracle/keeper.ts; tests use a
// fake (testing.ts) until then. Markets reaches the oracle only through this keeper.
export interface OracleEventView {
  oracle: string;
  eventId: string;
  /** unix seconds */
  maturity: number;
  base: number; signed: boolean; digits: number; unit: string; precision: number;
  status: 'announced' | 'attested';
  /** attested outcome as an integer: value = outcome × 10^precision */
  outcome?: bigint;
  /** true when the outcome is a bound of the digits' range */
  atBound?: boolean;
  attestedHeight?: number;
}

export interface OracleKeeper {
  event(oracle: string, eventId: string): OracleEventView | undefined;
  oracleStatus(oracle: string): 'active' | 'frozen' | undefined;
  attestedThisBlock(): Array<{ oracle: string; eventId: string }>;
  frozenThisBlock(): string[];
}
