// Positions and money: every fill, liquidation, funding payment and settlement moves
// funds through the ledger's keeper, between traders and three module accounts:
//   markets:escrow     collateral of every open position (and their unrealised PnL)
//   markets:fees       maker and taker fees
//   markets:insurance  liquidation fees and surpluses; covers deficits
// Invariant (checked by invariants.ts): escrow balance = Σ over markets of
//   (Σ collateral − multiplier × Σ cost − badDebt).
import { formatAmount } from '../../core/amount.js';
import type { BlockContext, ChainModule, TxEvent } from '../../chain/module.js';
import type { LedgerKeeper } from '../ledger/keeper.js';
import { bps, initialMargin, mult, notional } from './margin.js';
import type { Side } from './matching.js';
import { getPosition, marketKey, setPosition, type Market, type Position } from './state.js';

/** How a fill treats the position: a trade pays fees and releases freed collateral; a liquidated position keeps all until it is closed. */
export type FillMode = 'trade' | 'liquidation';

export interface Accounts {
  escrow: string;
  fees: string;
  insurance: string;
}

export class Clearing {
  readonly ledger: LedgerKeeper;
  private accountIds: Accounts | undefined;
  readonly events: TxEvent[] = [];
  /** accounts whose position size changed (their resting reduce-only orders are checked after) */
  readonly touched = new Set<string>();
  private readonly money: (v: bigint) => string;

  readonly market: Market;

  constructor(readonly ctx: BlockContext, ledgerModule: ChainModule<LedgerKeeper>, market: Market) {
    this.market = { ...market };
    this.ledger = ctx.keeper(ledgerModule);
    this.money = (v) => formatAmount(v, ctx.params.decimals);
  }

  /** The module accounts, looked up on first use (an order that only rests needs none). */
  get accounts(): Accounts {
    return (this.accountIds ??= moduleAccounts(this.ledger));
  }

  get id(): string {
    return this.market.id;
  }

  save(): void {
    this.ctx.state.set(marketKey(this.market.id), this.market);
  }

  position(account: string): Position {
    return getPosition(this.ctx.state, this.market.id, account) ?? { size: 0, cost: '0', collateral: '0' };
  }

  writePosition(account: string, before: Position, after: Position): void {
    const was = before.size !== 0 || before.collateral !== '0' || before.cost !== '0';
    const is = after.size !== 0 || after.collateral !== '0' || after.cost !== '0';
    if (was !== is) this.market.positions += is ? 1 : -1;
    setPosition(this.ctx.state, this.market.id, account, after);
  }

  /** Move minor units through the keeper (nothing for zero), keeping its event. */
  move(from: string, to: string, amount: bigint): void {
    if (amount <= 0n) return;
    this.events.push(this.ledger.transfer(from, to, amount));
  }

  /**
   * Apply one side of a fill to `account`'s position: the reducing part realises PnL into
   * the collateral (a trade then pays out the freed share), the opening part posts initial
   * margin into escrow, a trade pays its fee. Returns the realised PnL.
   */
  fill(account: string, side: Side, price: number, qty: number, feeBps: number, mode: FillMode = 'trade'): bigint {
    const m = this.market;
    const before = this.position(account);
    let s = before.size;
    let cost = BigInt(before.cost);
    let c = BigInt(before.collateral);
    const dir = side === 'buy' ? 1 : -1;
    let toTrader = 0n;
    let fromTrader = 0n;
    let realised = 0n;
    let reduce = 0;
    if (s !== 0 && Math.sign(s) !== dir) {
      const abs = Math.abs(s);
      reduce = Math.min(qty, abs);
      const costRemoved = (cost * BigInt(reduce)) / BigInt(abs);
      realised = (BigInt(price) * BigInt(reduce) * BigInt(Math.sign(s)) - costRemoved) * mult(m);
      c += realised;
      cost -= costRemoved;
      if (mode === 'trade' && realised > 0n) c -= this.payBadDebt(account, realised);
      const left = abs - reduce;
      if (mode === 'trade') {
        if (left === 0) {
          if (c > 0n) toTrader += c;
          else if (c < 0n) this.deficit(-c, account);
          c = 0n;
        } else if (c > 0n) {
          const keep = (c * BigInt(left)) / BigInt(abs);
          toTrader += c - keep;
          c = keep;
        }
      }
      s += dir * reduce;
    }
    const open = qty - reduce;
    if (open > 0) {
      const im = initialMargin(m, price, open);
      cost += BigInt(price) * BigInt(open) * BigInt(dir);
      s += dir * open;
      fromTrader += im;
      c += im;
    }
    // Collateral out first (it may pay what goes in), then in, then the fee.
    if (toTrader > fromTrader) this.move(this.accounts.escrow, account, toTrader - fromTrader);
    else this.move(account, this.accounts.escrow, fromTrader - toTrader);
    if (mode === 'trade') this.move(account, this.accounts.fees, bps(notional(m, price, qty), feeBps));
    if (s !== before.size) this.touched.add(account);
    const after: Position = { size: s, cost: cost.toString(), collateral: c.toString() };
    this.writePosition(account, before, after);
    this.events.push({ type: 'markets.position', market: m.id, account, size: s, cost: after.cost, collateral: this.money(c), realised: this.money(realised) });
    return realised;
  }

  /**
   * While the market carries bad debt, a realised profit pays it before anything leaves
   * escrow (the same rule as the haircut of unrealised profit in coverBadDebt, applied when
   * the profit is taken): otherwise a winner who closes in the block the debt arose would
   * carry out money that other positions' collateral then has to make up. Collateral and
   * bad debt fall together, so escrow is unchanged. Returns what was taken.
   */
  private payBadDebt(account: string, realised: bigint): bigint {
    const bad = BigInt(this.market.badDebt);
    if (bad === 0n) return 0n;
    const take = realised < bad ? realised : bad;
    this.market.badDebt = (bad - take).toString();
    this.events.push({ type: 'markets.haircut', market: this.market.id, account, amount: take.toString(), realised: true });
    return take;
  }

  /**
   * A loss no collateral covers: the insurance fund pays what it can into escrow, the rest
   * is bad debt of the market (socialised among the winners at settlement).
   */
  deficit(amount: bigint, account: string, prepaid = 0n): void {
    // `prepaid`: what the fund already put into escrow for this loss (a liquidation's advance)
    const fund = this.ledger.balance(this.accounts.insurance)?.available ?? 0n;
    const more = fund < amount - prepaid ? fund : amount - prepaid;
    this.move(this.accounts.insurance, this.accounts.escrow, more);
    const paid = prepaid + more;
    const bad = amount - paid;
    if (bad > 0n) this.market.badDebt = (BigInt(this.market.badDebt) + bad).toString();
    this.events.push({ type: 'markets.deficit', market: this.market.id, account, amount: this.money(amount), insurance: this.money(paid), badDebt: this.money(bad) });
  }
}

export function moduleAccounts(ledger: LedgerKeeper): Accounts {
  return { escrow: ledger.moduleAccount('escrow'), fees: ledger.moduleAccount('fees'), insurance: ledger.moduleAccount('insurance') };
}
