// The oracle's keeper: what markets (and any module that requires 'oracle') may read of
// oracles. Read-only, bound to the block being executed: an event attested earlier in
// this block is seen as attested, and the block's attestations and freezes come back in
// the order their transactions ran (they are filed by block position in state).
import type { BlockContext } from '../../chain/module.js';
import { attestedAtPrefix, frozenAtPrefix, getEvent, getOracle } from './state.js';
import { limits } from '../../core/limits.js';

export interface OracleEventView {
  oracle: string;        // oracle id: the BIP340 x-only public key, 64 hex
  eventId: string;       // unique per oracle
  maturity: number;      // unix seconds
  base: number; signed: boolean; digits: number; unit: string; precision: number;
  status: 'announced' | 'attested';
  /** attested outcome as an integer (the digits composed, sign applied): value = outcome × 10^precision */
  outcome?: bigint;
  /** true when the outcome is a bound of the digits' range (a price beyond it settles there) */
  atBound?: boolean;
  attestedHeight?: number;
}

export interface OracleKeeper {
  event(oracle: string, eventId: string): OracleEventView | undefined;
  /** 'frozen' after valid nonce-reuse evidence; markets on a frozen oracle stop trading */
  oracleStatus(oracle: string): 'active' | 'frozen' | undefined;
  /** events attested in the block being executed, in attestation order (for endBlock) */
  attestedThisBlock(): Array<{ oracle: string; eventId: string }>;
  /** oracles frozen in the block being executed */
  frozenThisBlock(): string[];
}

// A block holds at most blockTxCountMax transactions, so at most that many of each.
const PER_BLOCK_MAX = limits.blockTxCountMax;

export function oracleKeeper(ctx: BlockContext): OracleKeeper {
  const state = ctx.state;
  return {
    event(oracle, eventId) {
      const e = getEvent(state, oracle, eventId);
      if (!e) return undefined;
      const view: OracleEventView = {
        oracle: e.oracle, eventId: e.eventId, maturity: e.maturity, base: e.base, signed: e.signed, digits: e.digits, unit: e.unit,
        precision: e.precision, status: e.status,
      };
      if (e.attestation) {
        view.outcome = BigInt(e.attestation.outcome);
        view.atBound = e.attestation.atBound;
        view.attestedHeight = e.attestation.height;
      }
      return view;
    },
    oracleStatus: (oracle) => getOracle(state, oracle)?.status,
    attestedThisBlock: () => state.entries<{ oracle: string; eventId: string }>(attestedAtPrefix(ctx.height), { limit: PER_BLOCK_MAX }).map(([, v]) => ({ oracle: v.oracle, eventId: v.eventId })),
    frozenThisBlock: () => state.entries<string>(frozenAtPrefix(ctx.height), { limit: PER_BLOCK_MAX }).map(([, v]) => v),
  };
}
