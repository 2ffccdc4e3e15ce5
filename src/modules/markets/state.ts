// The markets module's state, under "markets/". Prices and sizes are JSON integers (safe,
// bounded by limits.ts); money is a decimal string of minor units, bigint in code.
//
//   markets/market/<m>                         Market (definition and running fields)
//   markets/book/<m>/<b|a>/<price>/<height>/<index>/<seq>   BookOrder
//       bids store 10^15-1-price so that ascending key order is price-time priority on
//       both sides: best price first, then (height, index, seq) — never a clock.
//   markets/order/<m>/<orderId>                 the book key of a resting order
//   markets/acct/<account>/<m>/<orderId>        1: an account's resting orders (cancel_all, reads)
//   markets/nopen/<account>/<m>                 how many of those there are
//   markets/nro/<account>/<m>                   how many of those are reduce-only
//   markets/pos/<m>/<account>                   Position
import type { StateReader, StateView } from '../../chain/state.js';
import type { Side } from './matching.js';

/** A market id: lowercase letters, digits and "-", 1 to 32 characters. */
export const MARKET_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

export type MarketKind = 'future' | 'perpetual';
export type MarketStatus = 'active' | 'halted' | 'settled';

export interface Market {
  id: string;
  kind: MarketKind;
  /** oracle ids (BIP340 x-only keys, 64 hex); the median of their attestations is used */
  oracles: string[];
  /** future: the event every oracle attests at maturity */
  event?: string;
  /** unix seconds: future's maturity (from the event); trading stops at it */
  maturity?: number;
  /** event id prefix whose attestations give the index price (and, for a perpetual, pay funding) */
  series?: string;
  /** price units = oracle value / 10^priceExponent */
  priceExponent: number;
  /** prices are multiples of tickSize price units; sizes multiples of lotSize size units */
  tickSize: number;
  lotSize: number;
  /** minor units per (price unit × size unit), decimal string */
  multiplier: string;
  initialMarginBps: number;
  maintenanceMarginBps: number;
  makerFeeBps: number;
  takerFeeBps: number;
  /** orders further than this from the index are refused (0: no band) */
  bandBps: number;
  /** perpetual: share of the premium (mark − index, capped) paid per funding attestation */
  fundingBps: number;
  fundingCapBps: number;
  /** of the notional at mark, taken from a liquidated position's remaining equity to the insurance fund */
  liquidationFeeBps: number;
  created: number;
  status: MarketStatus;
  /** last trade price */
  last?: number;
  /** last index price (from the oracle series) */
  index?: number;
  /** settlement price, once settled */
  settlement?: number;
  /** trades so far: the sequence of the next fill event */
  trades: number;
  /** open positions */
  positions: number;
  /** minor units of losses no collateral and no insurance covered (socialised at settlement) */
  badDebt: string;
  /** "<mark>/<trades>" at which covering the bad debt from profits last left some over (not tried again until one changes) */
  badDebtTried?: string;
  /** the last funding event paid */
  lastFunding?: string;
  /** where the maintenance scan resumes next block */
  scanAfter?: string;
  /** the mark at which the last complete scan found nothing left to liquidate (idle blocks skip the scan) */
  scannedMark?: number;
}

export interface BookOrder {
  id: string;
  account: string;
  side: Side;
  price: number;
  /** left to fill */
  size: number;
  /** size when placed (or last modified) */
  orig: number;
  /** reduce-only: fills only toward a zero position; trimmed or cancelled as the position shrinks */
  reduceOnly?: true;
  /** post-only: a modify that would trade is refused */
  post?: true;
  /** minor units this order holds on the account (owner "markets") */
  hold: string;
  height: number;
  index: number;
  seq: number;
}

export interface Position {
  /** signed size units: > 0 long, < 0 short */
  size: number;
  /** Σ signed price × size of the open part, price-unit·size-units (decimal string): entry = cost / size */
  cost: string;
  /** minor units in escrow for this position (may turn negative before a liquidation) */
  collateral: string;
}

/** 15 digits: 10^15 − 1 is exact in a double (10^16 − 1 is not, and would misorder bids). */
export const PRICE_DIGITS = 15;
const PRICE_CEIL = 10 ** PRICE_DIGITS - 1;
const pad = (n: number, width: number) => String(n).padStart(width, '0');

export const marketKey = (m: string): string => `markets/market/${m}`;
export const MARKET_PREFIX = 'markets/market/';
export const sideCode = (side: Side): 'b' | 'a' => (side === 'buy' ? 'b' : 'a');
export const bookPrefix = (m: string, side: Side): string => `markets/book/${m}/${sideCode(side)}/`;
export function bookKey(m: string, side: Side, price: number, height: number, index: number, seq: number): string {
  const p = side === 'buy' ? PRICE_CEIL - price : price;
  return `${bookPrefix(m, side)}${pad(p, PRICE_DIGITS)}/${pad(height, 12)}/${pad(index, 4)}/${pad(seq, 4)}`;
}
export const orderKey = (m: string, id: string): string => `markets/order/${m}/${id}`;
export const accountOrdersPrefix = (account: string, m?: string): string => `markets/acct/${account}/${m === undefined ? '' : `${m}/`}`;
export const accountOrderKey = (account: string, m: string, id: string): string => `${accountOrdersPrefix(account, m)}${id}`;
/** How many resting orders the account has in the market (so placing one reads one key, not a range). */
export const openCountKey = (account: string, m: string): string => `markets/nopen/${account}/${m}`;
/** How many reduce-only orders rest for the account in the market (a fill checks this one key). */
export const reduceOnlyCountKey = (account: string, m: string): string => `markets/nro/${account}/${m}`;
export const positionPrefix = (m: string): string => `markets/pos/${m}/`;
export const positionKey = (m: string, account: string): string => `${positionPrefix(m)}${account}`;
/** An order id: where it was placed, "<height>.<index>.<seq>". */
export const orderId = (height: number, index: number, seq: number): string => `${height}.${index}.${seq}`;

export const getMarket = (state: StateReader, m: string): Market | undefined => state.get<Market>(marketKey(m));
export const getPosition = (state: StateReader, m: string, account: string): Position | undefined => state.get<Position>(positionKey(m, account));

export function setPosition(state: StateView, m: string, account: string, p: Position): void {
  if (p.size === 0 && p.collateral === '0' && p.cost === '0') state.delete(positionKey(m, account));
  else state.set(positionKey(m, account), p);
}
