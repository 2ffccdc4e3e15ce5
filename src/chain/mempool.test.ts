import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mempool, type PendingTx } from './mempool.js';
import type { Envelope } from './envelope.js';
import { errorCode as code } from '../core/testing.js';

function pending(from: string, nonce: number): PendingTx {
  const env = { tx: { chain: 'c', type: 'ledger.send', from, nonce, expires: 0, body: {} }, pub: 'p', sig: 's' } as Envelope;
  return { id: `${from}:${nonce}`, env, canonical: '', resolve: () => {}, reject: () => {} };
}


test('admission keeps each account\'s nonces consecutive and the queue in arrival order', () => {
  const m = new Mempool(10, 3);
  assert.equal(code(() => m.admit(pending('a', 5), 5)), 'no error');
  assert.equal(code(() => m.admit(pending('a', 5), 5)), 'nonce_pending');
  assert.equal(code(() => m.admit(pending('a', 4), 5)), 'nonce_used');
  assert.equal(code(() => m.admit(pending('a', 7), 5)), 'nonce_gap');
  assert.equal(code(() => m.admit(pending('b', 0), 0)), 'no error');
  assert.equal(code(() => m.admit(pending('a', 6), 5)), 'no error');
  assert.equal(m.expectedNonce('a', 5), 7);
  assert.deepEqual(m.take(10).map((p) => p.id), ['a:5', 'b:0', 'a:6']);
});

test('per-account and total bounds refuse with their own codes', () => {
  const m = new Mempool(4, 2);
  m.admit(pending('a', 0), 0);
  m.admit(pending('a', 1), 0);
  assert.equal(code(() => m.admit(pending('a', 2), 0)), 'too_many_pending');
  m.admit(pending('b', 0), 0);
  m.admit(pending('c', 0), 0);
  assert.equal(code(() => m.admit(pending('d', 0), 0)), 'mempool_full');
});

test('settle and dropAccount free their slots; dropped transactions are never taken', () => {
  const m = new Mempool(10, 10);
  const a0 = pending('a', 0);
  m.admit(a0, 0);
  m.admit(pending('a', 1), 0);
  m.admit(pending('b', 0), 0);
  const [first] = m.take(1);
  assert.equal(first, a0);
  m.settle(a0);
  assert.equal(m.size, 2);
  assert.deepEqual(m.dropAccount('a').map((p) => p.id), ['a:1']);
  assert.equal(m.size, 1);
  assert.deepEqual(m.take(10).map((p) => p.id), ['b:0']);
  assert.equal(m.expectedNonce('a', 1), 1, 'after a drop the committed nonce rules again');
});

test('dropAccount keeps the transactions being included and drops the rest', () => {
  const m = new Mempool(10, 5);
  const [a0, a1, a2] = [pending('a', 0), pending('a', 1), pending('a', 2)];
  for (const p of [a0, a1, a2]) m.admit(p, 0);
  const dropped = m.dropAccount('a', new Set([a0]));
  assert.deepEqual(dropped.map((p) => p.id), ['a:1', 'a:2']);
  assert.equal(m.size, 1);
  assert.equal(m.expectedNonce('a', 0), 1);
  m.settle(a0);
  assert.equal(m.size, 0);
  assert.equal(m.expectedNonce('a', 1), 1);
});
