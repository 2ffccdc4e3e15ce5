// Property: random orders, cancels and oracle index prices through the executor, twice:
// identical receipts and state roots; after every block every invariant holds (balances
// sum to zero, escrow equals what positions account for, holds equal resting orders'
// holds, no held amount above a balance, so no negative available balance); the chain
// replays under verifyChain. MARKETS_PROPERTY_ORDERS sets the size (default 3,000, about
// 15 s; 1,000,000 is an overnight run).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyChain } from '../../chain/replay.js';
import { VerifierPool } from '../../chain/verifier.js';
import { ORACLE, PERP, marketsWorld, rng, type World } from './testing.js';
import type { TestAccount } from '../../chain/testing/test-chain.js';

const ORDERS = Number(process.env.MARKETS_PROPERTY_ORDERS ?? 3000);
const PER_BLOCK = 25;

let pool: VerifierPool;
before(() => { pool = new VerifierPool(1); });
after(() => pool.close());

function simulate(seed: number): { world: World; roots: string[]; statuses: string[] } {
  const w = marketsWorld({ traders: 8, balance: '2000' });
  const r = rng(seed);
  w.send(w.root, 'oracle.announce', { oracle: ORACLE, eventId: 'btc-idx-0', maturity: 1_700_000_001 });
  w.send(w.root, 'markets.create', { ...PERP, takerFeeBps: 5, makerFeeBps: 2 });
  w.send(w.root, 'oracle.attest', { oracle: ORACLE, eventId: 'btc-idx-0', outcome: '1000' });
  let index = 1000;
  let event = 0;
  const open: Array<{ who: TestAccount; id: string }> = [];
  const roots: string[] = [];
  const statuses: string[] = [];
  let placed = 0;
  while (placed < ORDERS) {
    const txs: Array<[TestAccount, string, Record<string, unknown>]> = [];
    if (r() < 0.15) {
      // the index walks; announce and attest the next funding event
      index = Math.max(500, index + Math.floor(r() * 121) - 60);
      event++;
      txs.push([w.root, 'oracle.announce', { oracle: ORACLE, eventId: `btc-idx-${event}`, maturity: 1_700_000_001 + event }]);
      txs.push([w.root, 'oracle.attest', { oracle: ORACLE, eventId: `btc-idx-${event}`, outcome: String(index) }]);
    }
    for (let i = 0; i < PER_BLOCK && placed < ORDERS; i++) {
      const who = w.traders[Math.floor(r() * w.traders.length)]!;
      const x = r();
      if (x < 0.15 && open.length > 0) {
        const o = open.splice(Math.floor(r() * open.length), 1)[0]!;
        txs.push([o.who, 'markets.cancel', { market: 'btc-perp', order: o.id }]);
      } else if (x < 0.17) {
        txs.push([who, 'markets.cancel_all', {}]);
      } else if (x < 0.22 && open.length > 0) {
        // modify: a new size and/or price (it may cross and trade, or keep its place)
        const o = open[Math.floor(r() * open.length)]!;
        const change = r();
        txs.push([o.who, 'markets.modify', { market: 'btc-perp', order: o.id, ...(change < 0.6 ? { size: 1 + Math.floor(r() * 20) } : {}), ...(change >= 0.3 ? { price: index + Math.floor(r() * 41) - 20 } : {}) }]);
      } else {
        placed++;
        const tifs = ['gtc', 'gtc', 'gtc', 'ioc', 'fok', 'post'];
        txs.push([who, 'markets.order', {
          market: 'btc-perp', side: r() < 0.5 ? 'buy' : 'sell', price: index + Math.floor(r() * 41) - 20, size: 1 + Math.floor(r() * 20),
          tif: tifs[Math.floor(r() * tifs.length)], ...(r() < 0.2 ? { reduceOnly: true } : {}),
        }]);
      }
    }
    const seen = w.hookEvents.length;
    const receipts = w.block(txs);
    const refused = w.hookEvents.slice(seen).filter((e) => e.type === 'hook_failed');
    assert.deepEqual(refused, [], `a hook failed at height ${w.chain.height} after ${placed} orders: ${JSON.stringify({ market: w.market('btc-perp'), positions: w.chain.raw('markets/pos/'), insurance: w.balance(w.module('insurance')).toString(), escrow: w.balance(w.module('escrow')).toString() })}`);
    receipts.forEach((rc, i) => {
      statuses.push(rc.status === 'ok' ? 'ok' : rc.code!);
      const placedEv = rc.events.find((e) => e.type === 'markets.order_rested');
      if (placedEv) open.push({ who: txs[i]![0], id: placedEv.order as string });
    });
    roots.push(w.chain.tip.header.stateRoot);
  }
  return { world: w, roots, statuses };
}

test(`property: ${ORDERS} random orders, cancels and index prices, twice: same roots, invariants after every block, replay verifies`, async () => {
  const a = simulate(7);
  const b = simulate(7);
  assert.deepEqual(a.roots, b.roots);
  const ok = a.statuses.filter((s) => s === 'ok').length;
  assert.ok(ok > a.statuses.length / 2, `most transactions succeed (${ok} of ${a.statuses.length})`);
  const fills = a.world.chain.entries.flatMap((e) => e.txs.flatMap((t) => t.receipt.events.filter((ev) => ev.type === 'markets.fill'))).length;
  assert.ok(fills > ORDERS / 10, `orders trade (${fills} fills)`);
  const txEvents = a.world.chain.entries.flatMap((e) => e.txs.flatMap((t) => t.receipt.events));
  assert.ok(txEvents.some((e) => e.type === 'markets.order' && e.reduceOnly === true && e.tif === 'gtc'), 'reduce-only orders rest');
  assert.ok(txEvents.some((e) => e.type === 'markets.order_reduced' || (e.type === 'markets.order_cancelled' && e.reason === 'reduce_only')), 'reduce-only orders are trimmed or cancelled');
  assert.ok(txEvents.some((e) => e.type === 'markets.order_modified' && e.priority === 'new'), 'modifies take new places');
  const hooks = new Map<string, number>();
  for (const e of a.world.hookEvents) hooks.set(e.type, (hooks.get(e.type) ?? 0) + 1);
  assert.ok((hooks.get('markets.liquidation') ?? 0) > 0, 'some positions were liquidated');
  assert.ok((hooks.get('markets.funding') ?? 0) > 0, 'funding was paid');
  if (process.env.MARKETS_PROPERTY_STATS) {
    const codes = new Map<string, number>();
    for (const s of a.statuses) codes.set(s, (codes.get(s) ?? 0) + 1);
    console.log({ fills, codes: Object.fromEntries(codes), hooks: Object.fromEntries(hooks) });
  }
  const report = await verifyChain(a.world.chain.source(), a.world.chain.modules, pool);
  assert.equal(report.ok, true, JSON.stringify(report).slice(0, 2000));
});
