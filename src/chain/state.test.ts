import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LayeredState, nextStateRoot, ZERO_ROOT } from './state.js';

test('a failed transaction\'s writes are dropped whole; durable writes survive', () => {
  const committed = new Map([['k', '1']]);
  const s = new LayeredState((k) => committed.get(k));
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

test('stateRoot depends on every write, its order-independent content, and the previous root', () => {
  const a = new Map<string, string | null>([['a', '1'], ['b', '2']]);
  const b = new Map<string, string | null>([['b', '2'], ['a', '1']]);
  assert.equal(nextStateRoot(ZERO_ROOT, a), nextStateRoot(ZERO_ROOT, b));
  assert.notEqual(nextStateRoot(ZERO_ROOT, a), nextStateRoot(ZERO_ROOT, new Map([['a', '1'], ['b', '3']])));
  assert.notEqual(nextStateRoot(ZERO_ROOT, a), nextStateRoot(ZERO_ROOT, new Map([['a', '1'], ['b', null]])));
  assert.notEqual(nextStateRoot(ZERO_ROOT, a), nextStateRoot('11'.repeat(32), a));
});
