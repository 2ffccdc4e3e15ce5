// Risk in endBlock, for every market, with no trader online:
//   1. an oracle of the market frozen this block halts the market (no trading, no funding,
//      no liquidation; settlement still uses its other oracles);
//   2. attestations this block: a future's maturity event settles every position at the
//      median of its oracles' attested prices; an event of the market's series sets the
//      index price and, for a perpetual, pays funding;
//   3. positions under maintenance margin are liquidated: against the book, then the
//      insurance fund, then auto-deleveraging (liquidate()).
import type { BlockContext, TxEvent } from '../../chain/module.js';
import { accountOrdersPrefix, bookPrefix, MARKET_PREFIX, positionPrefix, type BookOrder, type Market, type Position } from './state.js';
import { findOrder, removeOrder, shrinkOrder, walkSide, opposite, type LoadedOrder } from './book.js';
import { Clearing } from './clearing.js';
import { enforceReduceOnly, reduceOnlyAdmit } from './reduce-only.js';
import type { MarketsDeps } from './deps.js';
import { marketLimits } from './limits.js';
import { boundPrice, bps, ceilDiv, equity, floorDiv, maintenanceMargin, median, mult, notional, orderHold, priceBps, priceFromOutcome, BPS } from './margin.js';
import { match, type Side } from './matching.js';
import type { OracleKeeper } from './oracle-view.js';

/** Resting orders a settled market cancels per block until its book is empty. */
export const SETTLED_CANCEL_PER_BLOCK = 1000;

export function marketsEndBlock(deps: MarketsDeps) {
  return (ctx: BlockContext): TxEvent[] => {
    const markets = ctx.state.entries<Market>(MARKET_PREFIX, { limit: marketLimits.marketsMax });
    if (markets.length === 0) return [];
    const oracle = ctx.keeper(deps.oracle);
    const frozen = new Set(oracle.frozenThisBlock());
    const attested = oracle.attestedThisBlock();
    const events: TxEvent[] = [];
    for (const [, m] of markets) {
      if (m.status === 'settled') {
        if (hasOrders(ctx, m.id)) {
          const c = new Clearing(ctx, deps.ledger, m);
          cancelBook(c, 'settlement', SETTLED_CANCEL_PER_BLOCK);
          events.push(...c.events);
        }
        continue;
      }
      const c = new Clearing(ctx, deps.ledger, m);
      const before = JSON.stringify(c.market);
      if (c.market.status === 'active' && m.oracles.some((o) => frozen.has(o))) {
        c.market.status = 'halted';
        c.events.push({ type: 'markets.halted', market: m.id, oracles: m.oracles.filter((o) => frozen.has(o)), reason: 'oracle_frozen' });
      }
      const seen = new Set<string>();
      for (const a of attested) {
        if (!m.oracles.includes(a.oracle) || seen.has(a.eventId)) continue;
        seen.add(a.eventId);
        if (m.event !== undefined && a.eventId === m.event) settle(c, oracle);
        else if (m.series !== undefined && a.eventId.startsWith(m.series)) indexUpdate(c, oracle, a.eventId);
        if (c.market.status === 'settled') break;
      }
      if (c.market.status !== 'settled' && c.market.event !== undefined) lateSettlement(c, oracle, ctx.timeMs);
      if (c.market.status === 'active') liquidationScan(c);
      if (c.market.status === 'active' && c.market.badDebt !== '0') coverBadDebt(c);
      if (JSON.stringify(c.market) !== before) c.save();
      events.push(...c.events);
    }
    return events;
  };
}

function hasOrders(ctx: BlockContext, m: string): boolean {
  return ctx.state.entries(bookPrefix(m, 'buy'), { limit: 1 }).length + ctx.state.entries(bookPrefix(m, 'sell'), { limit: 1 }).length > 0;
}

function cancelBook(c: Clearing, reason: string, max: number): void {
  let left = max;
  for (const side of ['buy', 'sell'] as Side[]) {
    for (const [key, o] of c.ctx.state.entries<BookOrder>(bookPrefix(c.id, side), { limit: left })) {
      removeOrder(c, key, o, reason);
      left--;
    }
  }
}

/** The price liquidation tests against: the last trade (or the index), kept within the band around the index. */
export function markPrice(m: Market): number | undefined {
  const last = m.last ?? m.index;
  if (last === undefined || m.index === undefined || m.bandBps === 0) return last;
  const band = priceBps(m.index, m.bandBps);
  return Math.min(Math.max(last, m.index - band), m.index + band);
}

/** The attested prices of `eventId` from the market's unfrozen oracles, and those not yet attested. */
function attestations(c: Clearing, oracle: OracleKeeper, eventId: string): { values: number[]; missing: string[]; atBound: boolean } {
  const values: number[] = [];
  const missing: string[] = [];
  let atBound = false;
  for (const o of c.market.oracles) {
    if (oracle.oracleStatus(o) === 'frozen') continue;
    const ev = oracle.event(o, eventId);
    if (!ev || ev.status !== 'attested' || ev.outcome === undefined) {
      missing.push(o);
      continue;
    }
    values.push(priceFromOutcome(c.market, ev.outcome, ev.precision));
    atBound ||= ev.atBound === true;
  }
  return { values, missing, atBound };
}

/** The median of the attested outcomes of `eventId` over the market's unfrozen oracles; undefined until all of them attested. */
function attestedPrice(c: Clearing, oracle: OracleKeeper, eventId: string): { price: number; atBound: boolean } | undefined {
  const { values, missing, atBound } = attestations(c, oracle, eventId);
  return missing.length > 0 || values.length === 0 ? undefined : { price: median(values), atBound };
}

/**
 * A future whose unfrozen oracles have not all attested `settleGraceSecs` after maturity
 * settles at the median of those that did (`late`, the silent ones named); if none did, an
 * active one halts (`reason: "unattested"`) so that an admin can close it at its mark.
 */
function lateSettlement(c: Clearing, oracle: OracleKeeper, timeMs: number): void {
  const m = c.market;
  if (m.maturity === undefined || timeMs < (m.maturity + marketLimits.settleGraceSecs) * 1000) return;
  const { values, missing, atBound } = attestations(c, oracle, m.event!);
  if (values.length > 0) {
    settleAt(c, median(values), { late: true, missing, ...(atBound ? { atBound: true } : {}) });
  } else if (m.status === 'active') {
    m.status = 'halted';
    c.events.push({ type: 'markets.halted', market: m.id, oracles: missing, reason: 'unattested' });
  }
}

/**
 * Every position of the market, in account order. The count is kept near
 * positionsPerMarketMax (a taker is refused with room for its fills' makers), so pages of
 * 5,000 up to twice the bound read them all.
 */
function positions(c: Clearing): Array<[string, Position]> {
  const prefix = positionPrefix(c.id);
  const out: Array<[string, Position]> = [];
  for (let after: string | undefined; out.length < 2 * marketLimits.positionsPerMarketMax;) {
    const page = c.ctx.state.entries<Position>(prefix, after === undefined ? { limit: 5000 } : { after, limit: 5000 });
    for (const [k, p] of page) out.push([k.slice(prefix.length), p]);
    if (page.length < 5000) break;
    after = page[page.length - 1]![0];
  }
  return out;
}

function indexUpdate(c: Clearing, oracle: OracleKeeper, eventId: string): void {
  const got = attestedPrice(c, oracle, eventId);
  if (!got) return;
  c.market.index = got.price;
  c.events.push({ type: 'markets.index', market: c.id, event: eventId, index: got.price, ...(got.atBound ? { atBound: true } : {}) });
  if (c.market.kind === 'perpetual' && c.market.status === 'active' && c.market.lastFunding !== eventId) funding(c, eventId);
}

/**
 * Funding at an index attestation: premium = mark − index, capped at ±fundingCapBps of the
 * index; each position pays size × premium × multiplier × fundingBps / 10^4 from its
 * collateral (longs pay shorts when the mark is above the index). Payers round up,
 * receivers down; the difference goes to the insurance fund.
 */
function funding(c: Clearing, eventId: string): void {
  const m = c.market;
  m.lastFunding = eventId;
  delete m.scannedMark;
  const index = m.index!;
  const mark = markPrice(m) ?? index;
  const cap = priceBps(index, m.fundingCapBps);
  const premium = Math.min(Math.max(mark - index, -cap), cap);
  const k = BigInt(premium) * mult(m) * BigInt(m.fundingBps);
  let residual = 0n;
  let paid = 0n;
  if (k !== 0n) {
    for (const [account, p] of positions(c)) {
      if (p.size === 0) continue;
      const x = BigInt(p.size) * k;
      const pay = x > 0n ? ceilDiv(x, BPS) : -floorDiv(-x, BPS);
      residual += pay;
      if (pay > 0n) paid += pay;
      c.writePosition(account, p, { ...p, collateral: (BigInt(p.collateral) - pay).toString() });
    }
    c.move(c.accounts.escrow, c.accounts.insurance, residual);
  }
  c.events.push({ type: 'markets.funding', market: m.id, event: eventId, index, mark, premium, paid: paid.toString(), residual: residual.toString() });
}

/**
 * Settlement at P (median attested price; an outcome beyond the oracle's digits settles at
 * the bound the oracle attests). Each position is owed collateral + (P × size − cost) ×
 * multiplier. Losses beyond collateral and the market's bad debt are paid by the insurance
 * fund, then taken from the winners pro rata (rounded against them); what escrow has left
 * for the market goes to the insurance fund.
 */
function settle(c: Clearing, oracle: OracleKeeper): void {
  const got = attestedPrice(c, oracle, c.market.event!);
  if (!got) return;
  settleAt(c, got.price, got.atBound ? { atBound: true } : {});
}

/**
 * Settle every position of the market at P and mark it settled (an attestation, or an
 * admin's markets.close of a halted market); `extra` goes into the markets.settled event.
 * Resting orders: SETTLED_CANCEL_PER_BLOCK now, the rest in the following blocks' endBlock.
 */
export function settleAt(c: Clearing, P: number, extra: Record<string, unknown>): void {
  const m = c.market;
  cancelBook(c, 'settlement', SETTLED_CANCEL_PER_BLOCK);
  const all = positions(c);
  const owed = all.map(([account, p]) => ({ account, p, pay: equity(m, p, P) }));
  let deficit = 0n;
  let winners = 0n;
  let share = 0n;
  for (const o of owed) {
    if (o.pay < 0n) deficit -= o.pay;
    else winners += o.pay;
    share += BigInt(o.p.collateral) - BigInt(o.p.cost) * mult(m);
  }
  share -= BigInt(m.badDebt);
  const need = BigInt(m.badDebt) + deficit;
  const fund = c.ledger.balance(c.accounts.insurance)?.available ?? 0n;
  const fromFund = need < fund ? need : fund;
  c.move(c.accounts.insurance, c.accounts.escrow, fromFund);
  const shortfall = need - fromFund;
  let total = 0n;
  const payments: Array<{ to: string; amount: bigint }> = [];
  for (const o of owed) {
    const paid = o.pay <= 0n ? 0n : o.pay - (shortfall === 0n ? 0n : ceilDiv(shortfall * o.pay, winners));
    if (paid > 0n) payments.push({ to: o.account, amount: paid });
    total += paid;
    c.writePosition(o.account, o.p, { size: 0, cost: '0', collateral: '0' });
    c.events.push({ type: 'markets.settled_position', market: m.id, account: o.account, size: o.p.size, paid: paid.toString() });
  }
  c.events.push(...c.ledger.transferMany(c.accounts.escrow, payments));
  c.move(c.accounts.escrow, c.accounts.insurance, share + fromFund - total);
  m.status = 'settled';
  m.settlement = P;
  m.badDebt = '0';
  c.events.push({ type: 'markets.settled', market: m.id, price: P, positions: owed.length, shortfall: shortfall.toString(), ...extra });
}

/**
 * Bad debt (a loss no collateral and no insurance covered, from a trade that closed a
 * position under water, or a deficit after funding) is covered in the endBlock of the
 * block it occurred in, in this order:
 *   1. the insurance fund, as far as its balance goes (it may have grown since);
 *   2. the unrealised profit at mark of the open positions, most profitable first (ties by
 *      account id), as auto-deleveraging ranks them: each gives up to its whole unrealised
 *      profit from its collateral (its equity stays at or above that collateral);
 *   3. what is left stays the market's badDebt and is tried again each block (a future's
 *      settlement takes it from the winners pro rata).
 * Escrow does not move in step 2: collateral and badDebt fall by the same amount.
 */
export function coverBadDebt(c: Clearing): void {
  const m = c.market;
  let bad = BigInt(m.badDebt);
  const fund = c.ledger.balance(c.accounts.insurance)?.available ?? 0n;
  const fromFund = fund < bad ? fund : bad;
  c.move(c.accounts.insurance, c.accounts.escrow, fromFund);
  bad -= fromFund;
  let fromProfit = 0n;
  const mark = markPrice(m);
  // Profits change only with the mark or a fill (which counts in trades): an unchanged
  // pair that already left debt over would find nothing more (and would read every position).
  const tried = `${mark}/${m.trades}`;
  if (bad > 0n && mark !== undefined && m.badDebtTried !== tried) {
    const winners = positions(c)
      .map(([a, p]) => ({ a, p, pnl: equity(m, p, mark) - BigInt(p.collateral) }))
      .filter((o) => o.p.size !== 0 && o.pnl > 0n)
      .sort((x, y) => (x.pnl === y.pnl ? (x.a < y.a ? -1 : 1) : x.pnl > y.pnl ? -1 : 1));
    for (const w of winners) {
      if (bad === 0n) break;
      const take = w.pnl < bad ? w.pnl : bad;
      c.writePosition(w.a, w.p, { ...w.p, collateral: (BigInt(w.p.collateral) - take).toString() });
      c.events.push({ type: 'markets.haircut', market: m.id, account: w.a, amount: take.toString() });
      bad -= take;
      fromProfit += take;
    }
    // collateral fell: equities moved, the next scan must run
    if (fromProfit > 0n) delete m.scannedMark;
    if (bad > 0n) m.badDebtTried = tried;
  }
  if (bad === 0n) delete m.badDebtTried;
  if (fromFund > 0n || fromProfit > 0n) c.events.push({ type: 'markets.bad_debt', market: m.id, was: m.badDebt, insurance: fromFund.toString(), profit: fromProfit.toString(), left: bad.toString() });
  m.badDebt = bad.toString();
}

/** Check positions against maintenance margin at the mark; a cursor walks large markets over several blocks. */
function liquidationScan(c: Clearing): void {
  const m = c.market;
  const mark = markPrice(m);
  if (mark === undefined || m.positions === 0) return;
  // Equity moves only with the mark or the collateral (funding clears scannedMark): at the
  // mark of a complete scan that left nothing under maintenance, there is nothing to find.
  if (m.scannedMark === mark && m.scanAfter === undefined) return;
  const prefix = positionPrefix(m.id);
  const limit = marketLimits.liquidationScanPerBlock;
  const after = m.scanAfter;
  const rows = c.ctx.state.entries<Position>(prefix, after === undefined ? { limit } : { after: prefix + after, limit });
  if (rows.length === limit) m.scanAfter = rows[rows.length - 1]![0].slice(prefix.length);
  else delete m.scanAfter;
  // Most under water first (then by account): a position whose equity is negative is a
  // loss the market has not yet recognised, and escrow holds only the positions' total
  // equity. Liquidating a solvent position first could pay out, to its makers and to it,
  // money that the insolvent one owes, and leave escrow short of the next refund (a
  // 1M-order property run found exactly that). Its deficit is recognised first instead:
  // the insurance fund pays it into escrow, or it becomes the market's bad debt.
  const candidates: Array<{ account: string; eq: bigint }> = [];
  for (const [k, p] of rows) {
    if (p.size === 0) continue;
    const eq = equity(m, p, mark);
    if (eq < maintenanceMargin(m, p, mark)) candidates.push({ account: k.slice(prefix.length), eq });
  }
  candidates.sort((x, y) => (x.eq === y.eq ? (x.account < y.account ? -1 : 1) : x.eq < y.eq ? -1 : 1));
  const under = candidates.slice(0, marketLimits.liquidationsPerBlockMax).map((x) => x.account);
  for (const account of under) {
    const p = c.position(account);
    if (p.size !== 0 && equity(m, p, mark) < maintenanceMargin(m, p, mark)) liquidate(c, account, mark);
  }
  // A liquidation trades (positions open at its fill prices): the next block scans again.
  if (m.scanAfter === undefined && under.length === 0) m.scannedMark = mark;
  else delete m.scannedMark;
}

/**
 * Liquidate one position, in this order:
 *   1. its resting orders in the market are cancelled (their holds released);
 *   2. against the book: an IOC order for the whole position at prices no worse than the
 *      price where its loss beyond collateral equals the insurance fund's balance I
 *      (long: ceil((cost·mult − collateral − I) / (size·mult)), to the tick; short:
 *      floor((collateral + I − cost·mult) / (|size|·mult))). Makers pay their fee; the
 *      liquidated side pays none;
 *   3. the insurance fund: what is left of the collateral at the end pays the liquidation
 *      fee (liquidationFeeBps of the notional at mark) to the fund and the rest to the
 *      trader; a loss beyond collateral is paid by the fund (step 2 keeps it <= I);
 *   4. auto-deleveraging: what the book did not take closes at the bankruptcy price
 *      (bound with I = 0) against opposite positions, most profitable at mark first (ties
 *      by account id), without fees.
 */
export function liquidate(c: Clearing, account: string, mark: number): void {
  const m = c.market;
  const start = c.position(account);
  const size = Math.abs(start.size);
  const side: Side = start.size > 0 ? 'sell' : 'buy';
  c.events.push({ type: 'markets.liquidation', market: m.id, account, size: start.size, mark, equity: equity(m, start, mark).toString(), maintenance: maintenanceMargin(m, start, mark).toString() });
  for (const [key] of c.ctx.state.entries(accountOrdersPrefix(account, m.id), { limit: marketLimits.openOrdersPerAccountMax })) {
    const o = findOrder(c.ctx.state, m.id, key.slice(key.lastIndexOf('/') + 1))!;
    removeOrder(c, o.key, o.record, 'liquidation');
  }
  // 2. the book
  const fund = c.ledger.balance(c.accounts.insurance)?.available ?? 0n;
  const bound = boundPrice(m, start, fund);
  const tick = BigInt(m.tickSize);
  const worst = side === 'sell' ? ceilDiv(bound, tick) * tick : floorDiv(bound, tick) * tick;
  let remaining = size;
  const usable = side === 'sell' ? worst <= BigInt(marketLimits.priceMax) : worst >= tick;
  // Makers are paid out of escrow as they fill, before this position's loss is known, and
  // escrow holds only the positions' total equity: the fund's share of that loss (at most
  // its loss beyond collateral at the bound) goes into escrow first; what the loss does not
  // use goes back at the end. (Without it, a 1M-order property run drained escrow below a
  // maker's payout in the middle of a liquidation.)
  let advanced = 0n;
  if (usable) {
    const limitPrice = Number(side === 'sell' ? (worst < tick ? tick : worst) : worst);
    const worstLoss = -equity(m, start, limitPrice);
    advanced = worstLoss <= 0n ? 0n : worstLoss < fund ? worstLoss : fund;
    c.move(c.accounts.insurance, c.accounts.escrow, advanced);
    const result = match({ account, side, price: limitPrice, size, tif: 'ioc' }, walkSide(c.ctx.state, m.id, opposite(side), marketLimits.makersScannedMax + 1),
      { fillsMax: marketLimits.fillsPerOrderMax, scanMax: marketLimits.makersScannedMax, admit: reduceOnlyAdmit(c) });
    for (const f of result.fills) {
      const o = f.maker as LoadedOrder;
      const left = o.record.size - f.size;
      o.record = shrinkOrder(c, o.key, o.record, left, left === 0 ? 0n : orderHold(m, o.record.price, left, o.record.reduceOnly));
      c.fill(o.account, o.record.side, f.price, f.size, m.makerFeeBps);
      c.fill(account, side, f.price, f.size, 0, 'liquidation');
      c.events.push({ type: 'markets.fill', market: m.id, seq: m.trades++, price: f.price, size: f.size, side, maker: o.account, taker: account, makerOrder: o.id, liquidation: true });
      m.last = f.price;
    }
    for (const s of result.skipped ?? []) removeOrder(c, (s as LoadedOrder).key, (s as LoadedOrder).record, 'reduce_only');
    remaining = result.remaining;
  }
  // 4. auto-deleveraging at the bankruptcy price
  if (remaining > 0) {
    const now = c.position(account);
    let pb = boundPrice(m, now, 0n);
    if (pb < 0n) pb = 0n;
    const price = Number(pb);
    const dir = Math.sign(now.size);
    const others = positions(c)
      .filter(([a, p]) => a !== account && Math.sign(p.size) === -dir)
      .map(([a, p]) => ({ a, p, pnl: equity(m, p, mark) - BigInt(p.collateral) }))
      .sort((x, y) => (x.pnl === y.pnl ? (x.a < y.a ? -1 : 1) : x.pnl > y.pnl ? -1 : 1));
    for (const o of others) {
      if (remaining === 0) break;
      const q = Math.min(remaining, Math.abs(o.p.size));
      c.fill(o.a, side === 'sell' ? 'buy' : 'sell', price, q, 0);
      c.fill(account, side, price, q, 0, 'liquidation');
      c.events.push({ type: 'markets.adl', market: m.id, account, counterparty: o.a, price, size: q });
      // also a fill of the market's sequence (the trades index and feeds), the counterparty as maker
      c.events.push({ type: 'markets.fill', market: m.id, seq: m.trades++, price, size: q, side, maker: o.a, taker: account, adl: true, liquidation: true });
      remaining -= q;
    }
  }
  // 3. what is left of the collateral: fee to the fund and the rest to the trader, or a deficit the fund pays
  const end = c.position(account);
  const eq = BigInt(end.collateral);
  if (end.size === 0) {
    if (eq > 0n) {
      const fee0 = bps(notional(m, mark, size), m.liquidationFeeBps);
      const fee = fee0 < eq ? fee0 : eq;
      c.move(c.accounts.escrow, c.accounts.insurance, fee);
      c.move(c.accounts.escrow, account, eq - fee);
    } else if (eq < 0n) {
      const used = advanced < -eq ? advanced : -eq;
      advanced -= used;
      c.deficit(-eq, account, used);
    }
    c.writePosition(account, end, { size: 0, cost: '0', collateral: '0' });
  }
  c.move(c.accounts.escrow, c.accounts.insurance, advanced);
  // makers and ADL counterparties whose positions shrank: their reduce-only orders follow
  enforceReduceOnly(c);
}
