// notary.anchor through the in-process test chain: the node key opens its account with
// its first anchor, each (account, batch) is anchored once, a transaction anchors all its
// batches or none, and every malformed body is refused before the block.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyChain } from '../../chain/replay.js';
import { authKey } from '../../chain/state.js';
import { createTestChain, testAccount, type TestAccount, type TestChain } from '../../chain/testing/test-chain.js';
import { VerifierPool } from '../../chain/verifier.js';
import { ledgerChain } from '../ledger/index.js';
import { ANCHOR_BATCHES_MAX, anchorKey } from './anchor.js';
import { notaryChain } from './index.js';

const modules = [ledgerChain, notaryChain];
let pool: VerifierPool;
before(() => { pool = new VerifierPool(1); });
after(() => pool.close());

const root = (n: number) => n.toString(16).padStart(64, '0');
const batch = (n: number) => ({ batch: n, root: root(n), count: 10, first: 10 * n - 9 });

function anchor(chain: TestChain, from: TestAccount, batches: unknown[]) {
  return chain.block([chain.tx(from, 'notary.anchor', { batches })]);
}

test('notary.anchor: ok, already_anchored (all or nothing), per account, and replay', async () => {
  const chain = createTestChain(modules);
  const node = testAccount('node');
  const other = testAccount('other');

  const first = anchor(chain, node, [batch(1), batch(2)]);
  const r = first.receipts[0]!;
  assert.equal(r.status, 'ok');
  assert.deepEqual(r.events, [
    { type: 'notary.anchored', account: node.id, batch: 1, root: root(1), count: 10 },
    { type: 'notary.anchored', account: node.id, batch: 2, root: root(2), count: 10 },
  ]);
  assert.deepEqual(chain.get(anchorKey(node.id, 2)), { root: root(2), count: 10, first: 11, tx: r.id, height: 1 });
  assert.equal(chain.accounts().pubOf(node.id), node.pub, 'the first anchor opened the account');

  // Batch 3 is new, batch 2 is not: the transaction fails whole, only its nonce moves.
  const again = anchor(chain, node, [batch(3), batch(2)]);
  assert.deepEqual([again.receipts[0]!.status, again.receipts[0]!.code], ['failed', 'already_anchored']);
  assert.deepEqual([...again.result.writes.keys()], [authKey(node.id)]);
  assert.equal(chain.get(anchorKey(node.id, 3)), undefined);
  assert.equal(anchor(chain, node, [batch(3)]).receipts[0]!.status, 'ok');

  // Another key's batch 1 is its own.
  assert.equal(anchor(chain, other, [batch(1)]).receipts[0]!.status, 'ok');
  assert.notEqual(chain.get(anchorKey(other.id, 1)), undefined);

  // An anchoring account has no ledger account: it can anchor, not pay.
  const pay = chain.block([chain.tx(node, 'ledger.send', { to: 'x', amount: '1' })]);
  assert.equal(pay.receipts[0]!.code, 'not_registered');
  assert.deepEqual(chain.invariants(), []);

  const report = await verifyChain(chain.source(), modules, pool);
  assert.deepEqual(report.issues, []);
});

test('notary.anchor: every malformed body is bad_body, kept out of the block', () => {
  const chain = createTestChain(modules);
  const node = testAccount('node');
  const cases: Array<[string, Record<string, unknown>]> = [
    ['no batches', {}],
    ['an extra field', { batches: [batch(1)], note: 'x' }],
    ['batches not an array', { batches: batch(1) }],
    ['no entries', { batches: [] }],
    ['too many entries', { batches: Array.from({ length: ANCHOR_BATCHES_MAX + 1 }, (_, i) => batch(i + 1)) }],
    ['an entry not an object', { batches: [[1]] }],
    ['an unknown entry field', { batches: [{ ...batch(1), size: 1 }] }],
    ['an uppercase root', { batches: [{ ...batch(1), root: 'A'.repeat(64) }] }],
    ['a short root', { batches: [{ ...batch(1), root: 'a'.repeat(63) }] }],
    ['batch 0', { batches: [{ ...batch(1), batch: 0 }] }],
    ['a fractional count', { batches: [{ ...batch(1), count: 1.5 }] }],
    ['first 0', { batches: [{ ...batch(1), first: 0 }] }],
    ['a string batch', { batches: [{ ...batch(1), batch: '1' }] }],
    ['a batch twice', { batches: [batch(1), batch(1)] }],
  ];
  for (const [what, body] of cases) {
    const out = chain.block([chain.tx(node, 'notary.anchor', body, { nonce: 0 })]);
    assert.deepEqual(out.excluded, [{ input: 0, code: 'bad_body' }], what);
    assert.equal(out.result.writes.size, 0, what);
  }
  // The largest batch list is fine.
  const most = chain.block([chain.tx(node, 'notary.anchor', { batches: Array.from({ length: ANCHOR_BATCHES_MAX }, (_, i) => batch(i + 1)) })]);
  assert.equal(most.receipts[0]!.status, 'ok');
});
