// The book in state against the book in memory: the same random orders through the
// executor (keys in state, walked by entries()) and through the matching core over a
// MemoryBook give the same fills in the same order and the same depth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestAccount } from '../../chain/testing/test-chain.js';
import { marketLimits } from './limits.js';
import type { Tif } from './matching.js';
import { MemoryBook } from './memory-book.js';
import { bookView } from './queries.js';
import { FUTURE, ORACLE, marketsWorld, rng } from './testing.js';

test('differential: 1,500 random orders through the executor and through a memory book make the same fills', () => {
  const w = marketsWorld({ traders: 24, balance: '1000000000' });
  w.send(w.root, 'oracle.announce', { oracle: ORACLE, eventId: 'btc-2027', maturity: 1_800_000_000 });
  w.send(w.root, 'markets.create', FUTURE);
  const book = new MemoryBook({ fillsMax: marketLimits.fillsPerOrderMax, scanMax: marketLimits.makersScannedMax });
  const r = rng(11);
  const tifs: Tif[] = ['gtc', 'gtc', 'gtc', 'ioc', 'fok', 'post'];
  const chainFills: string[] = [];
  const memFills: string[] = [];
  let placed = 0;
  while (placed < 1500) {
    const batch: Array<[TestAccount, string, Record<string, unknown>]> = [];
    for (let i = 0; i < 25; i++, placed++) {
      const who = w.traders[Math.floor(r() * w.traders.length)]!;
      batch.push([who, 'markets.order', { market: 'btc-fut', side: r() < 0.5 ? 'buy' : 'sell', price: 990 + Math.floor(r() * 21), size: 1 + Math.floor(r() * 30), tif: tifs[Math.floor(r() * tifs.length)] }]);
    }
    const receipts = w.block(batch);
    receipts.forEach((rc, i) => {
      const [who, , body] = batch[i]!;
      for (const e of rc.events) if (e.type === 'markets.fill') chainFills.push(`${e.maker} ${e.taker} ${e.price} ${e.size}`);
      if (rc.status !== 'ok' && rc.code === 'too_many_orders') return; // the memory book has no such limit
      const m = book.submit({ account: who.id, side: body.side as 'buy' | 'sell', price: body.price as number, size: body.size as number, tif: body.tif as Tif });
      for (const f of m.fills) memFills.push(`${f.maker.account} ${who.id} ${f.price} ${f.size}`);
    });
  }
  assert.ok(chainFills.length > 300, `fills: ${chainFills.length}`);
  assert.deepEqual(chainFills, memFills);
  const reader = { get: <T>(k: string) => w.chain.get<T>(k), entries: <T>(p: string, o: { after?: string; limit?: number } = {}) => w.chain.state.range(p, o.after, o.limit ?? 1000).map(([k, v]) => [k, JSON.parse(v)] as [string, T]) };
  const depth = bookView(reader, 'btc-fut', 500);
  assert.deepEqual([depth.bids, depth.asks], [book.depth('buy'), book.depth('sell')]);
});
