// The book feed: a client that takes a snapshot, applies deltas, and checks prev and the
// checksum, follows the book exactly; one that drops a message detects it and resyncs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BlockCommitted } from '../../chain/blocks.js';
import { bookChecksum } from './checksum.js';
import { accountTopic, bookTopic, setFeedState, tradesTopic, FEED_LEVELS } from './feeds.js';
import { bookView } from './queries.js';
import { FUTURE, ORACLE, marketsWorld, order, rng } from './testing.js';

class Client {
  height = -1;
  book = { buy: new Map<number, number>(), sell: new Map<number, number>() };
  resyncs = 0;
  snapshot(snap: { bids: Array<[number, number]>; asks: Array<[number, number]> }, height: number) {
    this.book = { buy: new Map(snap.bids), sell: new Map(snap.asks) };
    this.height = height;
  }
  levels(side: 'buy' | 'sell'): Array<[number, number]> {
    return [...this.book[side]].sort((a, b) => (side === 'buy' ? b[0] - a[0] : a[0] - b[0]));
  }
  /** false: a gap (missed message or checksum mismatch): resync */
  apply(msg: { height: number; prev: number | null; changes: Array<['buy' | 'sell', number, number]>; checksum: string }): boolean {
    if (msg.prev !== null && msg.prev > this.height) return false;
    for (const [side, price, size] of msg.changes) {
      if (size === 0) this.book[side].delete(price);
      else this.book[side].set(price, size);
    }
    this.height = msg.height;
    return bookChecksum({ bids: this.levels('buy'), asks: this.levels('sell') }) === msg.checksum;
  }
}

test('book feed: deltas with (height, prev, seq) and a checksum; a dropped delta is detected and resynced', () => {
  const w = marketsWorld({ traders: 6, balance: '100000' });
  w.send(w.root, 'oracle.announce', { oracle: ORACLE, eventId: 'btc-2027', maturity: 1_700_009_000 });
  w.send(w.root, 'markets.create', FUTURE);
  const reader = {
    get: <T>(k: string) => w.chain.get<T>(k),
    entries: <T>(p: string, o: { after?: string; limit?: number } = {}) => w.chain.state.range(p, o.after, o.limit ?? 1000).map(([k, v]) => [k, JSON.parse(v)] as [string, T]),
  };
  setFeedState(reader);
  const topic = bookTopic();
  const snapshot = () => bookView(reader, 'btc-fut', FEED_LEVELS);
  const good = new Client();
  const lossy = new Client();
  good.snapshot(snapshot(), w.chain.height);
  lossy.snapshot(snapshot(), w.chain.height);
  const r = rng(5);
  let sent = 0;
  let gaps = 0;
  for (let i = 0; i < 60; i++) {
    const t = w.traders[Math.floor(r() * 6)]!;
    w.send(t, 'markets.order', order('btc-fut', r() < 0.5 ? 'buy' : 'sell', 1000 + Math.floor(r() * 20), 1 + Math.floor(r() * 5)));
    const e = w.chain.entries.at(-1)!;
    const msg = topic.message({ block: e.block, receipts: e.txs.map((x) => x.receipt), senders: [], commitMs: 0 } as BlockCommitted, { market: 'btc-fut' }) as Parameters<Client['apply']>[0] | undefined;
    if (!msg) continue;
    sent++;
    assert.equal(good.apply(msg), true, `message ${sent} applies cleanly`);
    if (i === 20) continue; // the lossy client drops this one
    if (!lossy.apply(msg)) {
      gaps++;
      lossy.snapshot(snapshot(), w.chain.height);
      lossy.resyncs++;
    }
  }
  setFeedState(undefined);
  assert.ok(sent > 30, `messages sent: ${sent}`);
  const final = snapshot();
  assert.deepEqual([good.levels('buy'), good.levels('sell')], [final.bids, final.asks]);
  assert.deepEqual([lossy.levels('buy'), lossy.levels('sell')], [final.bids, final.asks]);
  assert.equal(gaps, 1, 'the dropped message was detected once');
});

test('trades and account feeds carry the fills endBlock made (liquidation, auto-deleveraging) and settlement', () => {
  const w = marketsWorld();
  w.send(w.root, 'oracle.announce', { oracle: ORACLE, eventId: 'btc-2027', maturity: 1_700_009_000 });
  w.send(w.root, 'markets.create', FUTURE);
  const [alice, bob, carol, dave] = w.traders as [typeof w.root, typeof w.root, typeof w.root, typeof w.root];
  w.send(bob, 'markets.order', order('btc-fut', 'sell', 50_000, 10));
  w.send(alice, 'markets.order', order('btc-fut', 'buy', 50_000, 10));
  // an empty book: alice is auto-deleveraged against bob at the bankruptcy price, in endBlock
  w.hookEvents.length = 0;
  const receipts = w.block([[carol, 'markets.order', order('btc-fut', 'sell', 46_000, 1)], [dave, 'markets.order', order('btc-fut', 'buy', 46_000, 1)]]);
  const hookEvents = [...w.hookEvents];
  assert.ok(hookEvents.some((e) => e.type === 'markets.adl'));
  const committed = { block: { header: { height: w.chain.height } }, receipts, senders: [], commitMs: 0, hookEvents } as unknown as BlockCommitted;
  const trades = tradesTopic.message(committed, { market: 'btc-fut' }) as { trades: Array<Record<string, unknown>> };
  assert.deepEqual(trades.trades.map((t) => [t.seq, t.price, t.size, t.adl === true, t.maker === bob.id, t.taker === alice.id]), [[1, 46_000, 1, false, false, false], [2, 45_000, 10, true, true, true]]);
  const feed = accountTopic.message(committed, { account: bob.id }) as { events: Array<Record<string, unknown>> };
  assert.deepEqual(feed.events.map((e) => e.type), ['markets.position', 'markets.adl', 'markets.fill']);
  // without the hook events (as before) the ADL fill was missing
  const bare = tradesTopic.message({ ...committed, hookEvents: undefined } as unknown as BlockCommitted, { market: 'btc-fut' }) as { trades: unknown[] };
  assert.equal(bare.trades.length, 1);
});
