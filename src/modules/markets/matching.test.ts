// The matching core alone: a golden table (order sequences → fills and book) and a
// differential test against a naive matcher written here (sort everything, walk it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { match, type IncomingOrder, type Side, type Tif } from './matching.js';
import { MemoryBook } from './memory-book.js';
import { rng } from './testing.js';

const BIG = { fillsMax: 1_000_000, scanMax: 1_000_000 };
type Step = [account: string, side: Side, price: number, size: number, tif?: Tif];

function run(steps: Step[], bounds = BIG) {
  const book = new MemoryBook(bounds);
  const fills: Array<[string, string, number, number]> = [];
  const outcomes: string[] = [];
  for (const [account, side, price, size, tif] of steps) {
    const r = book.submit({ account, side, price, size, tif: tif ?? 'gtc' });
    for (const f of r.fills) fills.push([f.maker.account, account, f.price, f.size]);
    outcomes.push(r.rejected ?? `${r.remaining}${r.rest ? ' rests' : ''}${r.expired.length ? ` expired ${r.expired.length}` : ''}`);
  }
  return { fills, outcomes, bids: book.depth('buy'), asks: book.depth('sell') };
}

const golden: Array<{ name: string; steps: Step[]; fills: Array<[string, string, number, number]>; bids: Array<[number, number]>; asks: Array<[number, number]>; outcomes?: string[] }> = [
  { name: 'no cross: both rest', steps: [['a', 'buy', 99, 5], ['b', 'sell', 101, 5]], fills: [], bids: [[99, 5]], asks: [[101, 5]] },
  { name: 'full fill at the maker price', steps: [['a', 'sell', 100, 5], ['b', 'buy', 105, 5]], fills: [['a', 'b', 100, 5]], bids: [], asks: [] },
  { name: 'partial fill, remainder rests', steps: [['a', 'sell', 100, 3], ['b', 'buy', 100, 5]], fills: [['a', 'b', 100, 3]], bids: [[100, 2]], asks: [] },
  { name: 'price then time', steps: [['a', 'sell', 101, 2], ['b', 'sell', 100, 2], ['c', 'sell', 100, 2], ['d', 'buy', 101, 5]], fills: [['b', 'd', 100, 2], ['c', 'd', 100, 2], ['a', 'd', 101, 1]], bids: [], asks: [[101, 1]] },
  { name: 'ioc cancels the rest', steps: [['a', 'sell', 100, 2], ['b', 'buy', 100, 5, 'ioc']], fills: [['a', 'b', 100, 2]], bids: [], asks: [], outcomes: ['2 rests', '3'] },
  { name: 'fok refused whole', steps: [['a', 'sell', 100, 2], ['b', 'buy', 100, 5, 'fok']], fills: [], bids: [], asks: [[100, 2]], outcomes: ['2 rests', 'fok_not_filled'] },
  { name: 'fok fills whole', steps: [['a', 'sell', 100, 2], ['c', 'sell', 101, 3], ['b', 'buy', 101, 5, 'fok']], fills: [['a', 'b', 100, 2], ['c', 'b', 101, 3]], bids: [], asks: [] },
  { name: 'post-only crossing refused', steps: [['a', 'sell', 100, 2], ['b', 'buy', 100, 1, 'post']], fills: [], bids: [], asks: [[100, 2]], outcomes: ['2 rests', 'post_only_would_cross'] },
  { name: 'post-only resting', steps: [['a', 'sell', 100, 2], ['b', 'buy', 99, 1, 'post']], fills: [], bids: [[99, 1]], asks: [[100, 2]] },
  { name: 'self-trade expires the maker', steps: [['a', 'sell', 100, 2], ['b', 'sell', 100, 2], ['a', 'buy', 100, 3]], fills: [['b', 'a', 100, 2]], bids: [[100, 1]], asks: [], outcomes: ['2 rests', '2 rests', '1 rests expired 1'] },
  { name: 'sell walks bids down', steps: [['a', 'buy', 100, 1], ['b', 'buy', 98, 1], ['c', 'buy', 99, 1], ['d', 'sell', 99, 3]], fills: [['a', 'd', 100, 1], ['c', 'd', 99, 1]], bids: [[98, 1]], asks: [[99, 1]] },
];

for (const g of golden) {
  test(`golden: ${g.name}`, () => {
    const r = run(g.steps);
    assert.deepEqual(r.fills, g.fills);
    assert.deepEqual(r.bids, g.bids);
    assert.deepEqual(r.asks, g.asks);
    if (g.outcomes) assert.deepEqual(r.outcomes, g.outcomes);
  });
}

test('bounds: an order stopped by the fill bound does not rest', () => {
  const steps: Step[] = [['a', 'sell', 100, 1], ['b', 'sell', 100, 1], ['c', 'sell', 100, 1], ['d', 'buy', 100, 5]];
  const r = run(steps, { fillsMax: 2, scanMax: 10 });
  assert.equal(r.fills.length, 2);
  assert.deepEqual(r.bids, []);
  assert.deepEqual(r.asks, [[100, 1]]);
  const scan = match({ account: 'x', side: 'buy', price: 100, size: 5, tif: 'gtc' }, [{ id: '1', account: 'x', price: 100, size: 1 }, { id: '2', account: 'y', price: 100, size: 1 }], { fillsMax: 10, scanMax: 1 });
  assert.deepEqual([scan.stop, scan.rest, scan.expired.length, scan.fills.length], ['scan_max', false, 1, 0]);
});

/** The reference: a flat list, sorted in full before every order; no cleverness to share bugs with. */
class NaiveBook {
  orders: Array<{ id: number; account: string; side: Side; price: number; size: number }> = [];
  seq = 0;
  submit(o: IncomingOrder): Array<[string, string, number, number]> {
    const other = this.orders
      .filter((r) => r.side !== o.side)
      .sort((x, y) => (x.price !== y.price ? (o.side === 'buy' ? x.price - y.price : y.price - x.price) : x.id - y.id));
    const crossing = other.filter((r) => (o.side === 'buy' ? r.price <= o.price : r.price >= o.price));
    if (o.tif === 'post' && crossing.length > 0) return [];
    const fillable = crossing.filter((r) => r.account !== o.account).reduce((s, r) => s + r.size, 0);
    if (o.tif === 'fok' && fillable < o.size) return [];
    const fills: Array<[string, string, number, number]> = [];
    let left = o.size;
    for (const r of crossing) {
      if (left === 0) break;
      if (r.account === o.account) {
        r.size = 0;
        continue;
      }
      const q = Math.min(left, r.size);
      r.size -= q;
      left -= q;
      fills.push([r.account, o.account, r.price, q]);
    }
    this.orders = this.orders.filter((r) => r.size > 0);
    if (left > 0 && (o.tif === 'gtc' || o.tif === 'post')) this.orders.push({ id: this.seq++, account: o.account, side: o.side, price: o.price, size: left });
    else this.seq++;
    return fills;
  }
  depth(side: Side): Array<[number, number]> {
    const m = new Map<number, number>();
    for (const r of this.orders) if (r.side === side) m.set(r.price, (m.get(r.price) ?? 0) + r.size);
    return [...m].sort((a, b) => (side === 'buy' ? b[0] - a[0] : a[0] - b[0]));
  }
}

test('differential: the core over a memory book agrees with a naive matcher on 20,000 random orders', () => {
  for (const seed of [1, 2, 3, 4]) {
    const r = rng(seed);
    const book = new MemoryBook(BIG);
    const naive = new NaiveBook();
    const tifs: Tif[] = ['gtc', 'gtc', 'gtc', 'ioc', 'fok', 'post'];
    for (let i = 0; i < 5000; i++) {
      const o: IncomingOrder = {
        account: `t${Math.floor(r() * 8)}`,
        side: r() < 0.5 ? 'buy' : 'sell',
        price: 95 + Math.floor(r() * 11),
        size: 1 + Math.floor(r() * 9),
        tif: tifs[Math.floor(r() * tifs.length)]!,
      };
      const got = book.submit({ ...o }).fills.map((f) => [f.maker.account, o.account, f.price, f.size]);
      assert.deepEqual(got, naive.submit(o), `seed ${seed} order ${i}`);
    }
    assert.deepEqual(book.depth('buy'), naive.depth('buy'));
    assert.deepEqual(book.depth('sell'), naive.depth('sell'));
  }
});
