// Admission and the executor apply one rule set: what admission refuses for the chain,
// the type, the body, the expiry or the key, a block at the same time over the same state
// excludes with the same code (admission only refuses earlier, with the wall clock).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { limits } from '../core/limits.js';
import { Admission } from './admission.js';
import type { Envelope } from './envelope.js';
import { Mempool } from './mempool.js';
import { LayeredState } from './state.js';
import { demoModule } from './testing/demo-module.js';
import { createTestChain, opensslAcceptsWeakKeys, testAccount, weakAccount } from './testing/test-chain.js';
import { VerifierPool } from './verifier.js';

let pool: VerifierPool;
before(() => { pool = new VerifierPool(1); });
after(() => pool.close());

test('a transaction admission refuses for chain, type, body, expiry or key, the executor excludes with the same code', async () => {
  const chain = createTestChain([demoModule()]);
  const alice = testAccount('alice');
  chain.block([chain.tx(alice, 'demo.open', {})]);
  const now = chain.time + 1000; // the admission clock and the next block's time
  const secs = Math.floor(now / 1000);
  let queued = () => {};
  const mempool = new Mempool();
  const admission = new Admission({
    kernel: chain.kernel, pool, mempool, state: new LayeredState(chain.state), clock: () => now,
    closed: () => undefined, committedReceipt: () => undefined, queued: () => queued(),
  });
  const stranger = testAccount('stranger');
  const put = { key: 'k', value: 'v' };
  const cases: Array<[string, Envelope]> = [
    ['wrong_chain', chain.tx({ ...alice }, 'demo.put', put, { chain: 'other' })],
    ['unknown_type', chain.tx({ ...alice }, 'demo.take', put)],
    ['bad_body', chain.tx({ ...alice }, 'demo.put', { ...put, more: 1 })],
    ['bad_key', chain.tx({ ...alice }, 'demo.put', { ...put, key: 'K!' })],
    ['expired', chain.tx({ ...alice }, 'demo.put', put, { expires: secs - 1 })],
    ['expires_too_far', chain.tx({ ...alice }, 'demo.put', put, { expires: secs + limits.txLifetimeSecsMax + 1 })],
    ['wrong_key', chain.tx({ ...alice }, 'demo.put', put, { signer: stranger.signer })],
    ['account_not_found', chain.tx(stranger, 'demo.put', put, { nonce: 0 })],
    ['account_mismatch', chain.tx(testAccount('dave'), 'demo.open', {}, { nonce: 0, signer: stranger.signer })],
    // Where OpenSSL itself refuses small-order keys (Node 24), the forgery never gets past the signature check.
    ...(opensslAcceptsWeakKeys() ? [['weak_key', chain.tx(weakAccount(), 'demo.open', {})] as [string, Envelope]] : []),
  ];
  const refused = await admission.submit(cases.map(([, env]) => env));
  const executed = chain.execute(cases.map(([, env]) => env), { time: now });
  assert.deepEqual(executed.included, []);
  cases.forEach(([code, env], i) => {
    assert.equal((refused[i] as { error: { code: string } }).error?.code, code, `admission: ${code}`);
    assert.equal(executed.excluded.find((e) => e.input === i)?.error.code, code, `executor: ${code} (nonce ${env.tx.nonce})`);
  });
  assert.equal(mempool.size, 0, 'nothing refused was queued');

  // The boundary is the same second on both sides: expires is inclusive.
  const edge = chain.tx({ ...alice }, 'demo.put', put, { expires: secs });
  // Its submit() settles only when a block commits it; `queued` says it was admitted.
  await new Promise<void>((resolve) => {
    queued = resolve;
    void admission.submit([edge]);
  });
  assert.equal(mempool.size, 1, 'admitted at the last second of its life');
  assert.deepEqual(chain.execute([edge], { time: now }).included, [0], 'and included in a block at that time');
  assert.deepEqual(chain.execute([edge], { time: now + 1000 }).excluded.map((e) => e.error.code), ['expired'], 'one second later: expired');
});
