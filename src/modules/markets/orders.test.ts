// Resting reduce-only orders, modify that trades, and settlement that cancels a large book
// over several blocks: through the one executor (test chain), invariants after every block.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FUTURE, ORACLE, order, marketsWorld, type World } from './testing.js';
import type { BookOrder } from './state.js';

const MATURITY = 1_700_003_600;
type T = World['root'];

function withFuture(traders = 6): World {
  const w = marketsWorld({ traders });
  w.send(w.root, 'oracle.announce', { oracle: ORACLE, eventId: 'btc-2027', maturity: MATURITY });
  assert.equal(w.send(w.root, 'markets.create', FUTURE).status, 'ok');
  return w;
}
const idOf = (r: { events: Array<Record<string, unknown>> }) => r.events.find((e) => e.type === 'markets.order')!.order as string;
const book = (w: World, who: T) => w.chain.raw('markets/book/').map(([, v]) => JSON.parse(v) as BookOrder).filter((o) => o.account === who.id).map((o) => [o.side, o.price, o.size, o.reduceOnly === true]);

/** alice long 10 from 50,000 (bob short 10). */
function aliceLong(w: World): [T, T, T, T] {
  const [alice, bob, carol, dave] = w.traders as [T, T, T, T];
  w.send(bob, 'markets.order', order('btc-fut', 'sell', 50_000, 10));
  w.send(alice, 'markets.order', order('btc-fut', 'buy', 50_000, 10));
  assert.equal(w.position('btc-fut', alice)!.size, 10);
  return [alice, bob, carol, dave];
}

test('a resting reduce-only order holds the fee only; together they never exceed the position (newest trimmed)', () => {
  const w = withFuture();
  const [alice] = aliceLong(w);
  const held = w.held(alice);
  const r1 = w.send(alice, 'markets.order', order('btc-fut', 'sell', 51_000, 6, { reduceOnly: true }));
  assert.equal(r1.status, 'ok', JSON.stringify(r1));
  // maker fee 2 bps of 51,000 × 6 × 1000 = 61,200 minor units; no initial margin
  assert.equal(w.held(alice) - held, 61_200n);
  const r2 = w.send(alice, 'markets.order', order('btc-fut', 'sell', 52_000, 6, { reduceOnly: true }));
  assert.deepEqual(r2.events.filter((e) => e.type === 'markets.order_reduced').map((e) => e.size), [4]);
  assert.deepEqual(book(w, alice), [['sell', 51_000, 6, true], ['sell', 52_000, 4, true]]);
  assert.equal(w.send(alice, 'markets.order', order('btc-fut', 'buy', 49_000, 1, { reduceOnly: true })).code, 'reduce_only_would_grow');
  assert.equal(w.send(alice, 'markets.order', order('btc-fut', 'sell', 49_000, 11, { reduceOnly: true, tif: 'post' })).code, 'reduce_only_would_grow');
});

test('a resting reduce-only order is trimmed, then cancelled, as the position shrinks by other trades', () => {
  const w = withFuture();
  const [alice, , carol] = aliceLong(w);
  w.send(alice, 'markets.order', order('btc-fut', 'sell', 51_000, 6, { reduceOnly: true }));
  w.send(alice, 'markets.order', order('btc-fut', 'sell', 52_000, 4, { reduceOnly: true }));
  // alice sells 5 to carol's bid: position 5, the older order trimmed to 5, the newer cancelled
  w.send(carol, 'markets.order', order('btc-fut', 'buy', 50_000, 5));
  const r = w.send(alice, 'markets.order', order('btc-fut', 'sell', 50_000, 5, { tif: 'ioc' }));
  assert.deepEqual(r.events.filter((e) => e.type === 'markets.order_reduced' || (e.type === 'markets.order_cancelled' && e.reason === 'reduce_only')).map((e) => [e.type, e.size]),
    [['markets.order_reduced', 5], ['markets.order_cancelled', 4]]);
  assert.deepEqual(book(w, alice), [['sell', 51_000, 5, true]]);
  // flat: the last one goes too
  w.send(carol, 'markets.order', order('btc-fut', 'buy', 50_000, 5));
  w.send(alice, 'markets.order', order('btc-fut', 'sell', 50_000, 5, { tif: 'ioc' }));
  assert.equal(w.position('btc-fut', alice), undefined);
  assert.deepEqual(book(w, alice), []);
  assert.equal(w.held(alice), 0n);
});

test('a reduce-only maker never takes the position past zero, even when the same match flattened it first', () => {
  const w = withFuture();
  const [alice, , , dave] = aliceLong(w);
  w.send(alice, 'markets.order', order('btc-fut', 'sell', 50_100, 10));
  w.send(alice, 'markets.order', order('btc-fut', 'sell', 50_200, 10, { reduceOnly: true }));
  // dave's buy of 20 takes the plain order (alice flat), then meets the reduce-only one: skipped and cancelled
  const r = w.send(dave, 'markets.order', order('btc-fut', 'buy', 50_200, 20, { tif: 'ioc' }));
  assert.equal(r.status, 'ok', JSON.stringify(r));
  assert.deepEqual(r.events.filter((e) => e.type === 'markets.fill').map((e) => [e.price, e.size]), [[50_100, 10]]);
  assert.equal(r.events.filter((e) => e.type === 'markets.order_cancelled' && e.reason === 'reduce_only').length, 1);
  assert.equal(w.position('btc-fut', alice), undefined, 'alice is flat, not short');
  assert.deepEqual(book(w, alice), []);
  // and a reduce-only maker that fills closes exactly
  const [, bob2] = aliceLong(w);
  void bob2;
  w.send(alice, 'markets.order', order('btc-fut', 'sell', 50_300, 10, { reduceOnly: true }));
  w.send(dave, 'markets.order', order('btc-fut', 'buy', 50_300, 15, { tif: 'ioc' }));
  assert.equal(w.position('btc-fut', alice), undefined);
  assert.equal(w.held(alice), 0n);
});

test('modify across the book trades: it fills what it crosses and rests the rest with a new place; post-only refused', () => {
  const w = withFuture();
  const [alice, bob, carol] = w.traders as [T, T, T];
  w.send(bob, 'markets.order', order('btc-fut', 'sell', 100, 5));
  const a = idOf(w.send(alice, 'markets.order', order('btc-fut', 'buy', 90, 5)));
  const p = idOf(w.send(carol, 'markets.order', order('btc-fut', 'buy', 95, 2, { tif: 'post' })));
  const before = w.chain.raw('markets/');
  assert.equal(w.send(carol, 'markets.modify', { market: 'btc-fut', order: p, price: 100 }).code, 'post_only_would_cross');
  assert.deepEqual(w.chain.raw('markets/'), before, 'the refused modify changed nothing');
  const r = w.send(alice, 'markets.modify', { market: 'btc-fut', order: a, price: 100, size: 8 });
  assert.equal(r.status, 'ok', JSON.stringify(r));
  assert.deepEqual(r.events.filter((e) => e.type === 'markets.fill').map((e) => [e.price, e.size, e.takerOrder, e.maker === bob.id]), [[100, 5, a, true]]);
  assert.equal(w.position('btc-fut', alice)!.size, 5);
  assert.deepEqual(book(w, alice), [['buy', 100, 3, false]]);
  // the rest has a new place: behind an order at 100 placed before the modify
  const mod = r.events.find((e) => e.type === 'markets.order_modified')!;
  assert.equal(mod.priority, 'new');
  // a plain modify down keeps the order where it was
  assert.equal(w.send(carol, 'markets.modify', { market: 'btc-fut', order: p, size: 1 }).events.at(-1)!.priority, 'kept');
});

test('settlement cancels 1,000 resting orders in its block and the rest in the next ones', () => {
  const w = withFuture(12);
  for (let round = 0; round < 10; round++) {
    w.block(w.traders.slice(0, 11).flatMap((t, i) => Array.from({ length: 10 }, (_, k) => [t, 'markets.order', order('btc-fut', 'buy', 1000 + i * 10 + k, 1)] as [T, string, Record<string, unknown>])));
  }
  assert.equal(w.chain.raw('markets/book/').length, 1100);
  w.send(w.root, 'oracle.attest', { oracle: ORACLE, eventId: 'btc-2027', outcome: '47000' });
  assert.equal(w.market('btc-fut').status, 'settled');
  assert.equal(w.chain.raw('markets/book/').length, 100);
  w.send(w.root, 'ledger.send', { to: w.traders[11]!.id, amount: '1' });
  assert.equal(w.chain.raw('markets/book/').length, 0);
  assert.ok(w.traders.every((t) => w.held(t) === 0n));
});
