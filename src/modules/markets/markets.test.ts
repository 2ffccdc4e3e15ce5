// Scenarios through the one executor (test chain): ledger + a fake oracle + markets.
// After every block every module's invariants hold (balances sum to zero, escrow equals
// what positions account for, holds equal resting orders' holds).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyChain } from '../../chain/replay.js';
import { VerifierPool } from '../../chain/verifier.js';
import { marketLimits } from './limits.js';
import { FUTURE, ORACLE, ORACLE2, order, PERP, marketsWorld, type World } from './testing.js';

const MATURITY = 1_700_003_600;
let pool: VerifierPool;
before(() => { pool = new VerifierPool(1); });
after(() => pool.close());
const U = 1_000_000n; // minor units per unit at 6 decimals

function withFuture(): World {
  const w = marketsWorld();
  w.send(w.root, 'oracle.announce', { oracle: ORACLE, eventId: 'btc-2027', maturity: MATURITY });
  const r = w.send(w.root, 'markets.create', FUTURE);
  assert.equal(r.status, 'ok', JSON.stringify(r));
  return w;
}

/** btc-perp created, its index attested at 50,000. */
function withPerp(): World {
  const w = marketsWorld();
  w.send(w.root, 'oracle.announce', { oracle: ORACLE, eventId: 'btc-idx-1', maturity: 1_700_000_100 });
  const r = w.send(w.root, 'markets.create', PERP);
  assert.equal(r.status, 'ok', JSON.stringify(r));
  w.send(w.root, 'oracle.attest', { oracle: ORACLE, eventId: 'btc-idx-1', outcome: '50000' });
  return w;
}

test('only the admin creates a market; a created market writes its record and module accounts', () => {
  const w = marketsWorld();
  w.send(w.root, 'oracle.announce', { oracle: ORACLE, eventId: 'btc-2027', maturity: MATURITY });
  assert.equal(w.send(w.traders[0]!, 'markets.create', FUTURE).code, 'not_admin');
  assert.equal(w.send(w.root, 'markets.create', { ...FUTURE, event: 'nope' }).code, 'unknown_event');
  assert.equal(w.send(w.root, 'markets.create', { ...FUTURE, oracles: ['d'.repeat(64)] }).code, 'unknown_oracle');
  assert.equal(w.send(w.root, 'markets.create', FUTURE).status, 'ok');
  assert.equal(w.send(w.root, 'markets.create', FUTURE).code, 'market_exists');
  const m = w.market('btc-fut');
  assert.equal(m.maturity, MATURITY);
  assert.equal(m.status, 'active');
  assert.equal(w.balance(w.module('escrow')), 0n);
});

test('a resting order holds margin and fee; a crossing order fills at the maker price, posts margin to escrow and pays fees', () => {
  const w = withFuture();
  const [alice, bob] = w.traders as [typeof w.root, typeof w.root];
  const r1 = w.send(bob, 'markets.order', order('btc-fut', 'sell', 50_000, 10));
  assert.equal(r1.status, 'ok');
  // notional 50,000 × 10 × 1000 = 500 units: IM 10% = 50, maker fee 2 bps = 0.1
  assert.equal(w.held(bob), 50_100_000n);
  const r2 = w.send(alice, 'markets.order', order('btc-fut', 'buy', 50_100, 10));
  assert.equal(r2.status, 'ok', JSON.stringify(r2));
  const fill = r2.events.find((e) => e.type === 'markets.fill')!;
  assert.equal(fill.price, 50_000);
  assert.equal(w.held(bob), 0n);
  assert.deepEqual(w.position('btc-fut', alice), { size: 10, cost: '500000', collateral: String(50n * U) });
  assert.deepEqual(w.position('btc-fut', bob), { size: -10, cost: '-500000', collateral: String(50n * U) });
  assert.equal(w.balance(w.module('escrow')), 100n * U);
  assert.equal(w.balance(w.module('fees')), 100_000n + 250_000n);
  assert.equal(w.balance(alice), 1000n * U - 50n * U - 250_000n);
  // Closing at a profit pays collateral and PnL back.
  w.send(bob, 'markets.order', order('btc-fut', 'buy', 49_000, 10));
  const r3 = w.send(alice, 'markets.order', order('btc-fut', 'sell', 49_000, 10, { type: 'market' }));
  assert.equal(r3.status, 'ok');
  assert.equal(w.position('btc-fut', alice), undefined);
  assert.equal(w.position('btc-fut', bob), undefined);
  // alice lost 1,000 × 10 × 1000 = 10 units; bob gained it
  assert.equal(w.balance(alice), 1000n * U - 10n * U - 250_000n - 245_000n);
  assert.equal(w.balance(w.module('escrow')), 0n);
});

test('partial fills walk price-time priority; size down keeps priority, a new price loses it', () => {
  const w = withFuture();
  const [a, b, c, d] = w.traders as [typeof w.root, typeof w.root, typeof w.root, typeof w.root];
  const ids = w.block([
    [a, 'markets.order', order('btc-fut', 'sell', 101, 5)],
    [b, 'markets.order', order('btc-fut', 'sell', 100, 5)],
    [c, 'markets.order', order('btc-fut', 'sell', 100, 5)],
  ]).map((r) => r.events.find((e) => e.type === 'markets.order')!.order as string);
  // b first at 100 (earlier index), then c, then a at 101
  assert.equal(w.send(b, 'markets.modify', { market: 'btc-fut', order: ids[1], size: 3 }).status, 'ok');
  const r = w.send(d, 'markets.order', order('btc-fut', 'buy', 101, 10, { tif: 'ioc' }));
  const fills = r.events.filter((e) => e.type === 'markets.fill').map((e) => [e.maker === b.id ? 'b' : e.maker === c.id ? 'c' : 'a', e.price, e.size]);
  assert.deepEqual(fills, [['b', 100, 3], ['c', 100, 5], ['a', 101, 2]]);
  // a's remaining 3 at 101; moving it to 102 and back puts it behind a new order at 101
  w.send(c, 'markets.order', order('btc-fut', 'sell', 101, 1));
  assert.equal(w.send(a, 'markets.modify', { market: 'btc-fut', order: ids[0], price: 101, size: 4 }).status, 'ok');
  const r2 = w.send(d, 'markets.order', order('btc-fut', 'buy', 101, 1, { tif: 'ioc' }));
  assert.equal(r2.events.find((e) => e.type === 'markets.fill')!.maker, c.id);
});

test('self-trade prevention expires the maker and goes on', () => {
  const w = withFuture();
  const [a, b] = w.traders as [typeof w.root, typeof w.root];
  w.block([[a, 'markets.order', order('btc-fut', 'sell', 100, 5)], [b, 'markets.order', order('btc-fut', 'sell', 100, 5)]]);
  const r = w.send(a, 'markets.order', order('btc-fut', 'buy', 100, 5));
  assert.deepEqual(r.events.filter((e) => e.type === 'markets.order_cancelled').map((e) => e.reason), ['self_trade']);
  assert.equal(r.events.find((e) => e.type === 'markets.fill')!.maker, b.id);
  assert.equal(w.held(a), 0n);
});

test('bad input changes nothing', () => {
  const w = withFuture();
  const [a, b] = w.traders as [typeof w.root, typeof w.root];
  w.send(b, 'markets.order', order('btc-fut', 'sell', 100, 5));
  const before = w.chain.raw('markets/');
  const refusedAtAdmission = (body: Record<string, unknown>, code: string) => {
    const out = w.chain.block([w.chain.tx(a, 'markets.order', body, { nonce: a.nonce })]);
    assert.deepEqual(out.excluded.map((e) => e.code), [code], JSON.stringify(body));
  };
  refusedAtAdmission(order('btc-fut', 'buy', 100, 0), 'bad_size');
  refusedAtAdmission(order('btc-fut', 'buy', 100, -1), 'bad_size');
  refusedAtAdmission(order('btc-fut', 'buy', 0, 1), 'bad_price');
  refusedAtAdmission(order('btc-fut', 'buy', 100, 1, { tif: 'gtc', type: 'market' }), 'bad_tif');
  const failed = (body: Record<string, unknown>, code: string, type = 'markets.order') => assert.equal(w.send(a, type, body).code, code, JSON.stringify(body));
  failed(order('nope', 'buy', 100, 1), 'unknown_market');
  failed(order('btc-fut', 'buy', 100, 1, { tif: 'post' }), 'post_only_would_cross');
  failed(order('btc-fut', 'buy', 100, 6, { tif: 'fok' }), 'fok_not_filled');
  failed(order('btc-fut', 'sell', 100, 1, { tif: 'ioc', reduceOnly: true }), 'reduce_only_would_grow');
  failed(order('btc-fut', 'buy', 90, 1, { reduceOnly: true }), 'reduce_only_would_grow');
  failed(order('btc-fut', 'buy', 100, 10_000_000), 'insufficient_margin');
  failed({ market: 'btc-fut', order: '1.0.0' }, 'order_not_found', 'markets.cancel');
  assert.deepEqual(w.chain.raw('markets/'), before);
  const w2 = marketsWorld();
  w2.send(w2.root, 'oracle.announce', { oracle: ORACLE, eventId: 'btc-2027', maturity: MATURITY });
  w2.send(w2.root, 'markets.create', { ...FUTURE, tickSize: 5, lotSize: 2 });
  assert.equal(w2.send(w2.traders[0]!, 'markets.order', order('btc-fut', 'buy', 101, 2)).code, 'price_off_tick');
  assert.equal(w2.send(w2.traders[0]!, 'markets.order', order('btc-fut', 'buy', 100, 3)).code, 'size_off_lot');
  assert.deepEqual(w2.chain.raw('markets/book/'), []);
});

test('a future: price moves, a position is liquidated against the book with nobody online, the rest settle at maturity', async () => {
  const w = withFuture();
  const [alice, bob, carol, dave] = w.traders as [typeof w.root, typeof w.root, typeof w.root, typeof w.root];
  w.send(bob, 'markets.order', order('btc-fut', 'sell', 50_000, 10));
  w.send(alice, 'markets.order', order('btc-fut', 'buy', 50_000, 10));
  // dave bids below; carol and dave trade at 46,000: alice's equity 50 − 40 = 10 < maintenance 23
  w.send(dave, 'markets.order', order('btc-fut', 'buy', 45_900, 20));
  const receipts = w.block([[carol, 'markets.order', order('btc-fut', 'sell', 46_000, 1)], [dave, 'markets.order', order('btc-fut', 'buy', 46_000, 1)]]);
  assert.ok(receipts.every((r) => r.status === 'ok'));
  assert.equal(w.position('btc-fut', alice), undefined, 'alice was liquidated');
  assert.equal(w.position('btc-fut', dave)!.size, 11);
  // alice sold 10 at 45,900: equity 50 − 41 = 9; the fee 0.5% of 460 = 2.3 to insurance; 6.7 back
  assert.equal(w.balance(w.module('insurance')), 2_300_000n);
  assert.equal(w.balance(alice), 1000n * U - 50n * U - 250_000n + 6_700_000n);
  // maturity: no more trading; the oracle attests 47,000 and every position settles
  const late = MATURITY * 1000 + 1000;
  assert.equal(w.block([[carol, 'markets.order', order('btc-fut', 'buy', 46_000, 1)]], { time: late })[0]!.code, 'market_expired');
  const before = [bob, carol, dave].map((t) => w.balance(t));
  w.send(w.root, 'oracle.attest', { oracle: ORACLE, eventId: 'btc-2027', outcome: '47000' });
  assert.equal(w.market('btc-fut').status, 'settled');
  assert.equal(w.market('btc-fut').settlement, 47_000);
  assert.equal(w.chain.raw('markets/pos/').length, 0);
  assert.equal(w.chain.raw('markets/book/').length, 0, 'resting orders cancelled at settlement');
  // bob short 10 from 50,000: 50 + 30 = 80; dave long 11 from (10 @ 45,900 + 1 @ 46,000)
  assert.equal(w.balance(bob) - before[0]!, 80n * U);
  assert.equal(w.balance(w.module('escrow')), 0n);
  assert.equal(w.held(dave), 0n);
  const report = await verifyChain(w.chain.source(), w.chain.modules, pool);
  assert.equal(report.ok, true, JSON.stringify(report));
});

test('an attested price beyond the range settles at the bound the oracle attests', () => {
  const w = withFuture();
  const [a, b] = w.traders as [typeof w.root, typeof w.root];
  w.send(b, 'markets.order', order('btc-fut', 'sell', 50_000, 1));
  w.send(a, 'markets.order', order('btc-fut', 'buy', 50_000, 1));
  // the oracle's digits top out at 99,999: a price beyond settles there, and is flagged
  const aBefore = w.balance(a);
  const r = w.send(w.root, 'oracle.attest', { oracle: ORACLE, eventId: 'btc-2027', outcome: '99999', atBound: true });
  assert.equal(r.status, 'ok');
  const m = w.market('btc-fut');
  assert.equal(m.settlement, 99_999);
  assert.equal(w.chain.entries.at(-1)!.writes.has('markets/market/btc-fut'), true);
  // owed 5 + 49.999 = 54.999, cut by bob's uncovered 44.999: alice gets the 10 escrow held
  assert.equal(w.balance(a) - aBefore, 10n * U);
  // the short loses 49.999 units on 5 of collateral: the insurance fund is empty, so the winner is cut to what escrow holds
  assert.equal(w.balance(w.module('escrow')), 0n);
  assert.deepEqual(w.chain.invariants(), []);
});

test('a perpetual pays funding at each index attestation: longs pay shorts when the mark is above the index', () => {
  const w = marketsWorld();
  w.send(w.root, 'oracle.announce', { oracle: ORACLE, eventId: 'btc-idx-1', maturity: 1_700_000_100 });
  w.send(w.root, 'markets.create', PERP);
  const [a, b] = w.traders as [typeof w.root, typeof w.root];
  w.send(w.root, 'oracle.attest', { oracle: ORACLE, eventId: 'btc-idx-1', outcome: '50000' });
  assert.equal(w.market('btc-perp').index, 50_000);
  w.send(b, 'markets.order', order('btc-perp', 'sell', 50_200, 10));
  w.send(a, 'markets.order', order('btc-perp', 'buy', 50_200, 10));
  assert.equal(w.send(a, 'markets.order', order('btc-perp', 'buy', 61_000, 1)).code, 'price_outside_band');
  w.send(w.root, 'oracle.announce', { oracle: ORACLE, eventId: 'btc-idx-2', maturity: 1_700_000_200 });
  const ca = BigInt(w.position('btc-perp', a)!.collateral);
  w.send(w.root, 'oracle.attest', { oracle: ORACLE, eventId: 'btc-idx-2', outcome: '50100' });
  // premium = 50,200 − 50,100 = 100 (cap 1% = 501): long pays 10 × 100 × 1000 = 1 unit
  assert.equal(BigInt(w.position('btc-perp', a)!.collateral), ca - 1_000_000n);
  assert.equal(BigInt(w.position('btc-perp', b)!.collateral), ca + 1_000_000n);
  assert.equal(w.market('btc-perp').lastFunding, 'btc-idx-2');
});

test('a frozen oracle halts its markets: no new orders, cancels still work', () => {
  const w = withFuture();
  const [a] = w.traders as [typeof w.root];
  const r = w.send(a, 'markets.order', order('btc-fut', 'buy', 100, 1));
  const id = r.events.find((e) => e.type === 'markets.order')!.order;
  w.send(w.root, 'oracle.freeze', { oracle: ORACLE });
  assert.equal(w.market('btc-fut').status, 'halted');
  assert.equal(w.send(a, 'markets.order', order('btc-fut', 'buy', 100, 1)).code, 'market_halted');
  assert.equal(w.send(a, 'markets.cancel', { market: 'btc-fut', order: id }).status, 'ok');
  assert.equal(w.held(a), 0n);
});

test('cancel_all releases every hold of the account', () => {
  const w = withFuture();
  const [a] = w.traders as [typeof w.root];
  w.block([[a, 'markets.order', order('btc-fut', 'buy', 100, 1)], [a, 'markets.order', order('btc-fut', 'buy', 99, 1)], [a, 'markets.order', order('btc-fut', 'sell', 120, 1)]]);
  assert.ok(w.held(a) > 0n);
  const r = w.send(a, 'markets.cancel_all', {});
  assert.equal(r.events.filter((e) => e.type === 'markets.order_cancelled').length, 3);
  assert.equal(w.held(a), 0n);
});

test('liquidation: the book down to the insurance fund\'s reach, the fund pays the deficit', () => {
  const w = withFuture();
  const [alice, bob, carol, dave] = w.traders as [typeof w.root, typeof w.root, typeof w.root, typeof w.root];
  w.send(w.root, 'ledger.send', { to: w.module('insurance'), amount: '5' });
  w.send(bob, 'markets.order', order('btc-fut', 'sell', 50_000, 10));
  w.send(alice, 'markets.order', order('btc-fut', 'buy', 50_000, 10));
  // bankruptcy 45,000; with 5 in the fund the book may take it down to 44,500
  w.block([[dave, 'markets.order', order('btc-fut', 'buy', 44_400, 10)], [dave, 'markets.order', order('btc-fut', 'buy', 44_800, 10)]]);
  w.block([[carol, 'markets.order', order('btc-fut', 'sell', 46_000, 1)], [dave, 'markets.order', order('btc-fut', 'buy', 46_000, 1)]]);
  assert.equal(w.position('btc-fut', alice), undefined);
  // sold 10 at 44,800: equity 50 − 52 = −2, paid by the fund
  assert.equal(w.balance(w.module('insurance')), 3n * U);
  assert.equal(w.balance(alice), 1000n * U - 50n * U - 250_000n);
  assert.equal(w.position('btc-fut', dave)!.size, 11);
});

test('liquidation with an empty book auto-deleverages the most profitable opposite position at the bankruptcy price', () => {
  const w = withFuture();
  const [alice, bob, carol, dave] = w.traders as [typeof w.root, typeof w.root, typeof w.root, typeof w.root];
  w.send(bob, 'markets.order', order('btc-fut', 'sell', 50_000, 10));
  w.send(alice, 'markets.order', order('btc-fut', 'buy', 50_000, 10));
  const bobBefore = w.balance(bob);
  const r = w.block([[carol, 'markets.order', order('btc-fut', 'sell', 46_000, 1)], [dave, 'markets.order', order('btc-fut', 'buy', 46_000, 1)]]);
  assert.ok(r.every((x) => x.status === 'ok'));
  // the next block scans at the new mark and records it; after that idle blocks write nothing
  w.send(w.root, 'ledger.send', { to: carol.id, amount: '1' });
  assert.equal(w.market('btc-fut').scannedMark, 46_000);
  const idle = w.chain.execute([]);
  assert.deepEqual([idle.events, idle.writes.size], [[], 0]);
  assert.equal(w.position('btc-fut', alice), undefined);
  // bob (short 10 from 50,000, the most profitable) bought 10 at the bankruptcy price 45,000
  assert.equal(w.position('btc-fut', bob), undefined);
  assert.equal(w.balance(bob) - bobBefore, 50n * U + 50n * U);
  assert.equal(w.position('btc-fut', carol)!.size, -1);
});

test('markets.close: an admin closes a market halted by a frozen oracle at its mark; margin refunded, orders cancelled', async () => {
  const w = withFuture();
  const [alice, bob, carol] = w.traders as [typeof w.root, typeof w.root, typeof w.root];
  w.send(bob, 'markets.order', order('btc-fut', 'sell', 50_000, 10));
  w.send(alice, 'markets.order', order('btc-fut', 'buy', 50_000, 10));
  w.send(alice, 'markets.order', order('btc-fut', 'sell', 50_500, 2));
  w.send(carol, 'markets.order', order('btc-fut', 'sell', 50_200, 1));
  w.send(bob, 'markets.order', order('btc-fut', 'buy', 50_200, 1));
  // mark 50,200: alice long 10 from 50,000 (+2 units), bob short 9 from 50,000, carol short 1 at 50,200
  assert.equal(w.send(w.root, 'markets.close', { market: 'btc-fut' }).code, 'market_not_halted');
  w.send(w.root, 'oracle.freeze', { oracle: ORACLE });
  assert.equal(w.market('btc-fut').status, 'halted');
  const before = w.chain.raw('markets/');
  assert.equal(w.send(alice, 'markets.close', { market: 'btc-fut' }).code, 'not_admin');
  assert.equal(w.send(w.root, 'markets.close', { market: 'nope' }).code, 'unknown_market');
  assert.deepEqual(w.chain.raw('markets/'), before, 'a refused close changes nothing');
  const aBefore = w.balance(alice);
  const bBefore = w.balance(bob);
  const r = w.send(w.root, 'markets.close', { market: 'btc-fut' });
  assert.equal(r.status, 'ok', JSON.stringify(r));
  const settled = r.events.find((e) => e.type === 'markets.settled')!;
  assert.equal(settled.price, 50_200);
  assert.equal(settled.closed, true);
  assert.equal(w.market('btc-fut').status, 'settled');
  assert.equal(w.market('btc-fut').settlement, 50_200);
  assert.equal(w.chain.raw('markets/pos/').length, 0);
  assert.equal(w.chain.raw('markets/book/').length, 0);
  assert.equal(w.held(alice), 0n);
  // alice: collateral 50 + (50,200 − 50,000) × 10 × 1000 = 52 units back
  assert.equal(w.balance(alice) - aBefore, 52n * U);
  // bob short 9 (his buy at 50,200 kept 9/10 of 49.8): 44.82 − 0.2 × 9 = 43.02
  assert.equal(w.balance(bob) - bBefore, 43_020_000n);
  assert.equal(w.balance(w.module('escrow')), 0n);
  assert.equal(w.send(w.root, 'markets.close', { market: 'btc-fut' }).code, 'market_settled');
  const report = await verifyChain(w.chain.source(), w.chain.modules, pool);
  assert.equal(report.ok, true, JSON.stringify(report));
});

test('a silent oracle: past the grace after maturity the future settles at the median of those that attested', async () => {
  const w = marketsWorld();
  for (const o of [ORACLE, ORACLE2]) w.send(w.root, 'oracle.announce', { oracle: o, eventId: 'btc-2027', maturity: MATURITY });
  assert.equal(w.send(w.root, 'markets.create', { ...FUTURE, oracles: [ORACLE, ORACLE2] }).status, 'ok');
  const [alice, bob] = w.traders as [typeof w.root, typeof w.root];
  w.send(bob, 'markets.order', order('btc-fut', 'sell', 50_000, 10));
  w.send(alice, 'markets.order', order('btc-fut', 'buy', 50_000, 10));
  w.block([[w.root, 'oracle.attest', { oracle: ORACLE, eventId: 'btc-2027', outcome: '51000' }]], { time: MATURITY * 1000 + 1000 });
  assert.equal(w.market('btc-fut').status, 'active', 'one of two attested: settlement waits for the other');
  const deadline = (MATURITY + marketLimits.settleGraceSecs) * 1000;
  w.block([[w.root, 'ledger.send', { to: bob.id, amount: '1' }]], { time: deadline - 1000 });
  assert.equal(w.market('btc-fut').status, 'active', 'not before the grace is over');
  const aBefore = w.balance(alice);
  w.block([[w.root, 'ledger.send', { to: bob.id, amount: '1' }]], { time: deadline });
  const m = w.market('btc-fut');
  assert.deepEqual([m.status, m.settlement], ['settled', 51_000]);
  const settled = w.hookEvents.find((e) => e.type === 'markets.settled')!;
  assert.deepEqual([settled.late, settled.missing], [true, [ORACLE2]]);
  // alice long 10 from 50,000 at 51,000: collateral 50 + 10 = 60 back
  assert.equal(w.balance(alice) - aBefore, 60n * U);
  assert.equal(w.chain.raw('markets/pos/').length, 0);
  const report = await verifyChain(w.chain.source(), w.chain.modules, pool);
  assert.equal(report.ok, true, JSON.stringify(report));
});

test('no oracle attests by the deadline: the future halts, and an admin closes it at its mark', () => {
  const w = withFuture();
  const [alice, bob, carol] = w.traders as [typeof w.root, typeof w.root, typeof w.root];
  w.send(bob, 'markets.order', order('btc-fut', 'sell', 50_000, 10));
  w.send(alice, 'markets.order', order('btc-fut', 'buy', 50_000, 10));
  const id = w.send(carol, 'markets.order', order('btc-fut', 'buy', 49_000, 1)).events.find((e) => e.type === 'markets.order')!.order as string;
  w.block([[w.root, 'ledger.send', { to: bob.id, amount: '1' }]], { time: (MATURITY + marketLimits.settleGraceSecs) * 1000 });
  assert.equal(w.market('btc-fut').status, 'halted');
  const halted = w.hookEvents.find((e) => e.type === 'markets.halted')!;
  assert.deepEqual([halted.reason, halted.oracles], ['unattested', [ORACLE]]);
  assert.equal(w.send(carol, 'markets.cancel', { market: 'btc-fut', order: id }).status, 'ok', 'cancels still work');
  const r = w.send(w.root, 'markets.close', { market: 'btc-fut' });
  assert.equal(r.status, 'ok', JSON.stringify(r));
  assert.deepEqual([w.market('btc-fut').status, w.market('btc-fut').settlement], ['settled', 50_000]);
  assert.equal(w.balance(w.module('escrow')), 0n);
});

test('perpetual bad debt is covered in the block it occurs: the insurance fund, then the most profitable positions\' unrealised profit', () => {
  const w = withPerp();
  const [alice, bob, , dave] = w.traders as [typeof w.root, typeof w.root, typeof w.root, typeof w.root];
  w.send(w.root, 'ledger.send', { to: w.module('insurance'), amount: '4' });
  w.send(bob, 'markets.order', order('btc-perp', 'sell', 50_000, 10));
  w.send(alice, 'markets.order', order('btc-perp', 'buy', 50_000, 10));
  // in one block, before endBlock can liquidate her: alice sells at 44,000, losing 60 on 50 of collateral
  w.hookEvents.length = 0;
  const r = w.block([[dave, 'markets.order', order('btc-perp', 'buy', 44_000, 10)], [alice, 'markets.order', order('btc-perp', 'sell', 44_000, 10, { tif: 'ioc' })]]);
  assert.ok(r.every((x) => x.status === 'ok'), JSON.stringify(r));
  const deficit = r[1]!.events.find((e) => e.type === 'markets.deficit')!;
  assert.deepEqual([deficit.insurance, deficit.badDebt], ['4', '6']);
  // endBlock: the fund is empty now, so bob (short from 50,000: +60 at mark 44,000) gives 6 of his profit
  assert.equal(w.market('btc-perp').badDebt, '0');
  assert.deepEqual(w.hookEvents.filter((e) => e.type === 'markets.haircut').map((e) => [e.account, e.amount]), [[bob.id, String(6n * U)]]);
  assert.equal(BigInt(w.position('btc-perp', bob)!.collateral), 44n * U);
  assert.equal(w.position('btc-perp', dave)!.collateral, String(44n * U));
  // the next block rescans at the mark (collateral fell); after that idle blocks write nothing
  w.send(w.root, 'ledger.send', { to: dave.id, amount: '1' });
  const idle = w.chain.execute([]);
  assert.deepEqual([idle.events, idle.writes.size], [[], 0]);
});

test('while a market carries bad debt, a profit realised in the same block pays it before it leaves escrow', () => {
  const w = withPerp();
  const [alice, bob, carol, dave] = w.traders as [typeof w.root, typeof w.root, typeof w.root, typeof w.root];
  w.send(w.root, 'ledger.send', { to: w.module('insurance'), amount: '4' });
  w.send(bob, 'markets.order', order('btc-perp', 'sell', 50_000, 10));
  w.send(alice, 'markets.order', order('btc-perp', 'buy', 50_000, 10));
  const bobBefore = w.balance(bob);
  w.hookEvents.length = 0;
  // alice closes 60 under on 50 of collateral (the fund pays 4, 6 is bad debt); then, in the
  // same block, bob closes his short at that price: +60 realised. Without the rule he takes
  // all 110 out of escrow and leaves the 6 to nobody (no open profit remains at endBlock).
  const r = w.block([
    [dave, 'markets.order', order('btc-perp', 'buy', 44_000, 10)],
    [alice, 'markets.order', order('btc-perp', 'sell', 44_000, 10, { tif: 'ioc' })],
    [carol, 'markets.order', order('btc-perp', 'sell', 44_000, 10)],
    [bob, 'markets.order', order('btc-perp', 'buy', 44_000, 10, { tif: 'ioc' })],
  ]);
  assert.ok(r.every((x) => x.status === 'ok'), JSON.stringify(r));
  assert.deepEqual(r[1]!.events.filter((e) => e.type === 'markets.deficit').map((e) => e.badDebt), ['6']);
  const cut = r[3]!.events.filter((e) => e.type === 'markets.haircut');
  assert.deepEqual(cut.map((e) => [e.account, e.amount, e.realised]), [[bob.id, String(6n * U), true]]);
  assert.equal(w.balance(bob) - bobBefore, 104n * U, 'collateral 50 + profit 60 − the 6 of bad debt');
  assert.equal(w.market('btc-perp').badDebt, '0');
});

test('liquidation takes the position most under water first, whatever its account id', () => {
  const w = withPerp();
  // the solvent long has the smaller account id, so account order would take it first
  const [solvent, insolvent, s1, s2, maker, taker] = [...w.traders].sort((a, b) => (a.id < b.id ? -1 : 1)) as Array<typeof w.root>;
  w.send(s2!, 'markets.order', order('btc-perp', 'sell', 49_000, 10));
  w.send(solvent!, 'markets.order', order('btc-perp', 'buy', 49_000, 10));
  w.send(s1!, 'markets.order', order('btc-perp', 'sell', 50_000, 10));
  w.send(insolvent!, 'markets.order', order('btc-perp', 'buy', 50_000, 10));
  w.hookEvents.length = 0;
  // one lot at 44,500 moves the mark: the long from 50,000 is 5 under water (equity −5),
  // the long from 49,000 keeps 4, under its maintenance of 22.25 (prices chosen so that no
  // earlier mark liquidates anybody)
  w.block([[maker!, 'markets.order', order('btc-perp', 'sell', 44_500, 1)], [taker!, 'markets.order', order('btc-perp', 'buy', 44_500, 1)]]);
  const order1 = w.hookEvents.filter((e) => e.type === 'markets.liquidation').map((e) => [e.account, e.equity]);
  assert.deepEqual(order1, [[insolvent!.id, String(-5n * U)], [solvent!.id, String(4n * U)]]);
});

test('a liquidation\'s makers are paid out of escrow only after the insurance fund has advanced the loss', () => {
  const w = withPerp();
  const [long, short, maker, bidder] = w.traders as Array<typeof w.root>;
  w.send(short!, 'markets.order', order('btc-perp', 'sell', 50_000, 10));
  w.send(long!, 'markets.order', order('btc-perp', 'buy', 50_000, 10));
  w.send(w.root, 'ledger.send', { to: w.module('insurance'), amount: '10' });
  const shortBefore = w.balance(short!);
  w.hookEvents.length = 0;
  // The short buys one lot at 44,500 (the mark moves there) and bids for its other 9. The
  // long is then 5 under water, so escrow (93.95) holds 5 less than the short's equity
  // (94.5) that its bid pays out when the liquidation fills it. Paying the maker first and
  // the fund last, escrow ran short in the middle of the liquidation.
  const r = w.block([
    [maker!, 'markets.order', order('btc-perp', 'sell', 44_500, 1)],
    [short!, 'markets.order', order('btc-perp', 'buy', 44_500, 1, { tif: 'ioc' })],
    [short!, 'markets.order', order('btc-perp', 'buy', 44_500, 9)],
    [bidder!, 'markets.order', order('btc-perp', 'buy', 44_500, 1)],
  ]);
  assert.ok(r.every((x) => x.status === 'ok'), JSON.stringify(r));
  assert.deepEqual(w.hookEvents.filter((e) => e.type === 'hook_failed'), []);
  assert.deepEqual(w.hookEvents.filter((e) => e.type === 'markets.liquidation').map((e) => [e.account, e.equity]), [[long!.id, String(-5n * U)]]);
  assert.equal(w.position('btc-perp', short!), undefined);
  // 50 of collateral + 55 of profit, over both closes
  assert.equal(w.balance(short!) - shortBefore, 105n * U);
  // the fund advanced 10 (the loss at the bound of 44,000), the loss took 5, 5 came back
  assert.equal(w.balance(w.module('insurance')), 5n * U);
});
