// The money formulas, pure and in bigint minor units. Every rounding is a floor, so that
// the pieces of a split never exceed the whole: an order's hold covers the margin and fee
// of each of its fills, whatever sizes they come in (floor(a) + floor(b) <= floor(a + b)).
import type { Market, Position } from './state.js';

export const BPS = 10_000n;

export const mult = (m: Market): bigint => BigInt(m.multiplier);
/** price × size × multiplier: minor units. */
export const notional = (m: Market, price: number, size: number): bigint => BigInt(price) * BigInt(size) * mult(m);
export const bps = (amount: bigint, b: number): bigint => (amount * BigInt(b)) / BPS;
/** floor(price × b / 10^4) for prices (up to 10^12: the product can pass 2^53, so in bigint). */
export const priceBps = (price: number, b: number): number => Number((BigInt(price) * BigInt(b)) / BPS);

export const initialMargin = (m: Market, price: number, size: number): bigint => bps(notional(m, price, size), m.initialMarginBps);

/** What a resting order holds: initial margin (none if reduce-only) and the maker fee, at its price. */
export function orderHold(m: Market, price: number, size: number, reduceOnly = false): bigint {
  const n = notional(m, price, size);
  return (reduceOnly ? 0n : bps(n, m.initialMarginBps)) + bps(n, m.makerFeeBps);
}

/** Equity of a position at a price: collateral + unrealised PnL. */
export function equity(m: Market, p: Position, price: number): bigint {
  return BigInt(p.collateral) + (BigInt(price) * BigInt(p.size) - BigInt(p.cost)) * mult(m);
}

export const maintenanceMargin = (m: Market, p: Position, price: number): bigint => bps(notional(m, price, Math.abs(p.size)), m.maintenanceMarginBps);

export const floorDiv = (a: bigint, b: bigint): bigint => {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
};
export const ceilDiv = (a: bigint, b: bigint): bigint => -floorDiv(-a, b);

/**
 * The price at which the position's equity is `-allowance` (0: the bankruptcy price). A
 * long sold at or above it, or a short bought at or below it, loses at most the allowance
 * beyond its collateral. Rounded so that the bound holds (up for a long, down for a short).
 */
export function boundPrice(m: Market, p: Position, allowance: bigint): bigint {
  const k = BigInt(Math.abs(p.size)) * mult(m);
  const c = BigInt(p.collateral);
  const cost = BigInt(p.cost) * mult(m);
  return p.size > 0 ? ceilDiv(cost - c - allowance, k) : floorDiv(c + allowance - cost, k);
}

/** Median of a non-empty list (the lower middle for an even count). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1]!;
}

/** Oracle outcome (value = outcome × 10^precision) in price units of the market (value / 10^priceExponent), floored, never negative. */
export function priceFromOutcome(m: Market, outcome: bigint, precision: number): number {
  const shift = precision - m.priceExponent;
  const v = shift >= 0 ? outcome * 10n ** BigInt(shift) : floorDiv(outcome, 10n ** BigInt(-shift));
  if (v < 0n) return 0;
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return Number(v > max ? max : v);
}
