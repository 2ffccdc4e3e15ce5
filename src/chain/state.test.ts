import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeValue, LayeredState, MemoryState, nextStateRoot, ScopedState, ZERO_ROOT } from './state.js';

function committed(entries: Record<string, unknown>): MemoryState {
  const m = new MemoryState();
  for (const [k, v] of Object.entries(entries)) m.map.set(k, encodeValue(v));
  return m;
}

test('a failed transaction\'s writes are dropped whole; durable writes survive', () => {
  const s = new LayeredState(committed({ k: 1 }));
  s.set('k', 2);
  s.set('x', 'y');
  s.setDurable('auth/a', { nonce: 1 });
  assert.equal(s.get('k'), 2);
  s.rollbackTx();
  assert.equal(s.get('k'), 1);
  assert.equal(s.get('x'), undefined);
  assert.deepEqual(s.get('auth/a'), { nonce: 1 });
  s.set('k', 3);
  s.delete('x');
  s.commitTx();
  assert.equal(s.get('k'), 3);
  assert.deepEqual([...s.blockWrites.keys()].sort(), ['auth/a', 'k', 'x']);
});

test('values are stored canonically: key order does not change the bytes or the root', () => {
  const a = new LayeredState(new MemoryState());
  const b = new LayeredState(new MemoryState());
  a.set('m/v', { b: 1, a: { d: [1, 2], c: 'x' } });
  b.set('m/v', { a: { c: 'x', d: [1, 2] }, b: 1 });
  a.commitTx();
  b.commitTx();
  assert.equal(a.blockWrites.get('m/v'), '{"a":{"c":"x","d":[1,2]},"b":1}');
  assert.equal(nextStateRoot(ZERO_ROOT, a.blockWrites), nextStateRoot(ZERO_ROOT, b.blockWrites));
});

test('values read from state are deep-frozen: mutating a nested object throws', () => {
  const s = new LayeredState(committed({ 'm/v': { inner: { n: 1 }, list: [1] } }));
  const v = s.get<{ inner: { n: number }; list: number[] }>('m/v')!;
  assert.throws(() => { v.inner.n = 2; }, TypeError);
  assert.throws(() => { v.list.push(2); }, TypeError);
});

test('entries() iterates a prefix in key order across committed state, the block and the transaction', () => {
  const s = new LayeredState(committed({ 'm/a': 1, 'm/c': 3, 'm/e': 5, 'n/x': 0 }));
  s.set('m/b', 2);
  s.commitTx();
  s.delete('m/c');
  s.set('m/d', 4);
  s.set('m/e', 50);
  assert.deepEqual(s.entries('m/'), [['m/a', 1], ['m/b', 2], ['m/d', 4], ['m/e', 50]]);
  assert.deepEqual(s.entries('m/', { after: 'm/b', limit: 2 }), [['m/d', 4], ['m/e', 50]]);
  assert.deepEqual(s.entries('m/', { limit: 1 }), [['m/a', 1]]);
  s.rollbackTx();
  assert.deepEqual(s.entries('m/'), [['m/a', 1], ['m/b', 2], ['m/c', 3], ['m/e', 5]]);
});

test('a module\'s view is confined to its prefix', () => {
  const s = new ScopedState(new LayeredState(new MemoryState()), 'ledger/');
  s.set('ledger/x', 1);
  assert.throws(() => s.get('notary/x'), /outside this module's prefix/);
  assert.throws(() => s.set('auth/x', 1), /outside this module's prefix/);
});

test('stateRoot depends on every write, deletions included, and the previous root', () => {
  const a = new Map<string, string | null>([['a', '1'], ['b', '2']]);
  const b = new Map<string, string | null>([['b', '2'], ['a', '1']]);
  assert.equal(nextStateRoot(ZERO_ROOT, a), nextStateRoot(ZERO_ROOT, b));
  assert.notEqual(nextStateRoot(ZERO_ROOT, a), nextStateRoot(ZERO_ROOT, new Map([['a', '1'], ['b', '3']])));
  // A deletion is a change: a root that ignored it would equal the root without it.
  assert.notEqual(nextStateRoot(ZERO_ROOT, new Map([['a', '1'], ['b', null]])), nextStateRoot(ZERO_ROOT, new Map([['a', '1']])));
  assert.notEqual(nextStateRoot(ZERO_ROOT, a), nextStateRoot('11'.repeat(32), a));
});

test('entries() matches a naive merge over random layers, prefixes, cursors and limits', () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const keyOf = () => ['a/b/', 'a/c/', 'a/', 'b/b/', 'a/b/x/'][rand(5)]! + String(rand(40)).padStart(2, '0');
  for (let round = 0; round < 200; round++) {
    const base = new MemoryState();
    for (let i = 0; i < rand(60); i++) base.map.set(keyOf(), encodeValue(rand(9)));
    const s = new LayeredState(base);
    const truth = new Map(base.map);
    // a few committed transactions, a rolled-back one, then an open one
    for (let tx = 0; tx < 4; tx++) {
      const staged = new Map<string, string | null>();
      for (let i = 0; i < rand(25); i++) {
        const k = keyOf();
        if (rand(3) === 0) {
          s.delete(k);
          staged.set(k, null);
        } else {
          const v = rand(9);
          s.set(k, v);
          staged.set(k, encodeValue(v));
        }
      }
      if (tx === 2) {
        s.rollbackTx();
        continue;
      }
      if (tx < 3) s.commitTx();
      for (const [k, v] of staged) {
        if (v === null) truth.delete(k);
        else truth.set(k, v);
      }
    }
    for (let q = 0; q < 10; q++) {
      const prefix = ['a/b/', 'a/', '', 'a/b/1', 'b/', 'a/c/0'][rand(6)]!;
      const after = rand(3) === 0 ? keyOf() : undefined;
      const limit = 1 + rand(30);
      const want = [...truth.keys()].filter((k) => k.startsWith(prefix) && (after === undefined || k > after)).sort().slice(0, limit);
      const got = s.entries(prefix, { after, limit });
      assert.deepEqual(got.map(([k]) => k), want, `round ${round} prefix "${prefix}" after ${after} limit ${limit}`);
      assert.deepEqual(got.map(([, v]) => encodeValue(v)), want.map((k) => truth.get(k)));
    }
  }
});
