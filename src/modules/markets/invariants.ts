// Whole-state checks (`tally chain verify`, tests after every block): the ledger's own
// invariant already makes every balance sum to zero; these tie the ledger to the markets:
//   - escrow balance = Σ over markets (Σ collateral − multiplier × Σ cost − badDebt);
//   - in every market the positions' sizes sum to zero, and their count is the market's;
//   - what "markets" holds on an account is exactly the holds of its resting orders;
//   - the open-order counts match the account-order index;
//   - resting reduce-only orders are counted, and in a market not settled an account's sit
//     opposite its position and sum to at most its size (they can only shrink it).
import { moduleAccountId } from '../ledger/state.js';
import type { BookOrder, Market, Position } from './state.js';

export function marketsInvariants(entries: Iterable<[string, string]>): string[] {
  const problems: string[] = [];
  const escrowKey = `ledger/acct/${moduleAccountId('markets', 'escrow')}`;
  let escrow = 0n;
  const markets = new Map<string, Market>();
  const sums = new Map<string, { size: number; value: bigint; count: number }>();
  const orderHolds = new Map<string, bigint>();
  const ledgerHolds = new Map<string, bigint>();
  const positions: Array<[string, Position, string]> = [];
  const openIndex = new Map<string, number>();
  const openCounts = new Map<string, number>();
  const roCounts = new Map<string, number>();
  /** "<account>/<market>" → the sides and total size of its resting reduce-only orders */
  const roOrders = new Map<string, { count: number; size: number; sides: Set<string> }>();
  for (const [k, v] of entries) {
    if (k === escrowKey) escrow = BigInt((JSON.parse(v) as { balance: string }).balance);
    else if (k.startsWith('ledger/hold/') && k.endsWith('/markets')) ledgerHolds.set(k.split('/')[2]!, BigInt(JSON.parse(v) as string));
    else if (k.startsWith('markets/market/')) {
      const m = JSON.parse(v) as Market;
      markets.set(m.id, m);
    } else if (k.startsWith('markets/pos/')) positions.push([k.split('/')[2]!, JSON.parse(v) as Position, k.split('/')[3]!]);
    else if (k.startsWith('markets/acct/')) {
      const [, , a, m] = k.split('/');
      openIndex.set(`${a}/${m}`, (openIndex.get(`${a}/${m}`) ?? 0) + 1);
    } else if (k.startsWith('markets/nopen/')) openCounts.set(k.slice('markets/nopen/'.length), JSON.parse(v) as number);
    else if (k.startsWith('markets/nro/')) roCounts.set(k.slice('markets/nro/'.length), JSON.parse(v) as number);
    else if (k.startsWith('markets/book/')) {
      const o = JSON.parse(v) as BookOrder;
      orderHolds.set(o.account, (orderHolds.get(o.account) ?? 0n) + BigInt(o.hold));
      if (o.reduceOnly) {
        const am = `${o.account}/${k.split('/')[2]!}`;
        const r = roOrders.get(am) ?? { count: 0, size: 0, sides: new Set<string>() };
        r.count++;
        r.size += o.size;
        r.sides.add(o.side);
        roOrders.set(am, r);
      }
    }
  }
  const sizes = new Map<string, number>();
  for (const [id, p, account] of positions) sizes.set(`${account}/${id}`, p.size);
  for (const [am, r] of roOrders) {
    if (roCounts.get(am) !== r.count) problems.push(`${am}: ${r.count} reduce-only orders, counted ${roCounts.get(am) ?? 0}`);
    const market = markets.get(am.split('/')[1]!);
    if (market?.status === 'settled') continue;
    const size = sizes.get(am) ?? 0;
    const side = size > 0 ? 'sell' : 'buy';
    if (size === 0 || r.sides.size !== 1 || !r.sides.has(side) || r.size > Math.abs(size)) problems.push(`${am}: reduce-only orders of ${r.size} on ${[...r.sides].join('+')} against a position of ${size}`);
  }
  for (const [am, n] of roCounts) if (!roOrders.has(am)) problems.push(`${am}: counted ${n} reduce-only orders, none rest`);
  for (const [id, p] of positions) {
    const m = markets.get(id);
    if (!m) {
      problems.push(`a position in unknown market ${id}`);
      continue;
    }
    const s = sums.get(id) ?? { size: 0, value: 0n, count: 0 };
    s.size += p.size;
    s.value += BigInt(p.collateral) - BigInt(p.cost) * BigInt(m.multiplier);
    s.count++;
    sums.set(id, s);
  }
  let owed = 0n;
  for (const m of markets.values()) {
    const s = sums.get(m.id) ?? { size: 0, value: 0n, count: 0 };
    if (s.size !== 0) problems.push(`market ${m.id}: position sizes sum to ${s.size}, not zero`);
    if (s.count !== m.positions) problems.push(`market ${m.id} counts ${m.positions} positions, state holds ${s.count}`);
    owed += s.value - BigInt(m.badDebt);
  }
  if (owed !== escrow) problems.push(`escrow holds ${escrow} minor units, positions account for ${owed}`);
  for (const [am, n] of openIndex) if (openCounts.get(am) !== n) problems.push(`${am}: ${n} open orders, counted ${openCounts.get(am) ?? 0}`);
  for (const [am, n] of openCounts) if (!openIndex.has(am)) problems.push(`${am}: counted ${n} open orders, none open`);
  for (const [acct, h] of orderHolds) if ((ledgerHolds.get(acct) ?? 0n) !== h) problems.push(`account ${acct}: markets holds ${ledgerHolds.get(acct) ?? 0n}, its resting orders ${h}`);
  for (const [acct, h] of ledgerHolds) if (!orderHolds.has(acct)) problems.push(`account ${acct}: markets holds ${h} with no resting order`);
  return problems;
}
