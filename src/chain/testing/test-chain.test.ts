// The harness itself: deterministic keys, nonces, the verifier's checks before the
// executor, and sources that are copies (tampering with one never touches the chain).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorCode } from '../../core/testing.js';
import { demoModule } from './demo-module.js';
import { createTestChain, testAccount } from './test-chain.js';

test('keys are deterministic per label; tx() advances the nonce unless one is given', () => {
  assert.equal(testAccount('a').id, testAccount('a').id);
  assert.notEqual(testAccount('a').id, testAccount('b').id);
  const chain = createTestChain([demoModule()]);
  const a = testAccount('a');
  assert.deepEqual([chain.tx(a, 'demo.open', {}).tx.nonce, chain.tx(a, 'demo.open', {}).tx.nonce, a.nonce], [0, 1, 2]);
  assert.deepEqual([chain.tx(a, 'demo.open', {}, { nonce: 7 }).tx.nonce, a.nonce], [7, 2]);
});

test('block() refuses what the verifier pool would refuse, and commits no empty block', () => {
  const chain = createTestChain([demoModule()]);
  const a = testAccount('a');
  const env = chain.tx(a, 'demo.open', {});
  assert.equal(errorCode(() => chain.block([{ ...env, sig: chain.tx(a, 'demo.open', {}).sig }])), 'bad_signature');
  assert.equal(errorCode(() => chain.block([{ ...env, tx: { ...env.tx, extra: 1 } } as never])), 'bad_envelope');
  assert.equal(errorCode(() => chain.block([chain.tx(a, 'demo.put', { key: 'k', value: 'v'.repeat(64), pad: 'x'.repeat(5000) })])), 'tx_too_large');
  assert.equal(chain.height, 0);
  // As the proposer: no block without a transaction in it.
  assert.equal(chain.block([]).block, undefined);
  assert.deepEqual(chain.block([chain.tx(a, 'demo.put', { key: 'k', value: 'v' }, { nonce: 0 })]).excluded, [{ input: 0, code: 'account_not_found' }]);
  assert.equal(chain.height, 0);
  assert.equal(chain.block([env]).receipts[0]!.status, 'ok');
  assert.equal(chain.height, 1);
});

test('a source is a copy with the heights that last wrote each key', async () => {
  const chain = createTestChain([demoModule()]);
  const a = testAccount('a');
  chain.block([chain.tx(a, 'demo.open', {})]);
  chain.block([chain.tx(a, 'demo.put', { key: 'k', value: 'v' })]);
  chain.block([chain.tx(a, 'demo.put', { key: 'j', value: 'w' }), chain.tx(a, 'demo.del', { key: 'k' })]);
  const src = chain.source();
  const rows = new Map([...src.storedState!()].map((r) => [r.k, r.h]));
  assert.deepEqual([rows.get(`auth/${a.id}`), rows.get(`demo/acct/${a.id}`), rows.get('demo/kv/j'), rows.has('demo/kv/k')], [3, 1, 3, false]);
  src.header(1).time = 0;
  (await src.blockTxs(2))[0]!.receipt.status = 'failed';
  assert.notEqual(chain.entries[1]!.block.header.time, 0);
  assert.equal((await src.blockTxs(2))[0]!.receipt.status, 'ok', 'blockTxs hands out copies too');
  assert.equal(chain.entries[2]!.txs[0]!.receipt.status, 'ok');
});
