// auth.rotate through the one executor: the account keeps its id (and so its module state)
// and moves to the new key; the old key is refused with wrong_key; a bad proof, the same
// key or a weak key changes nothing; `chain verify` replays a chain with rotations.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TallyError } from '../core/errors.js';
import { rotate, signRotateBody } from './auth-rotate.js';
import { accountKeys } from './kernel.js';
import type { AdmitContext } from './module.js';
import { verifyChain } from './replay.js';
import { demoModule } from './testing/demo-module.js';
import { createTestChain, testAccount, weakAccount, type TestAccount, type TestChain } from './testing/test-chain.js';
import { VerifierPool } from './verifier.js';

const modules = [demoModule()];
let pool: VerifierPool;

before(() => {
  pool = new VerifierPool(1);
});
after(() => pool.close());

/** alice opens an account and writes a value; returns the chain. */
function opened(alice: TestAccount): TestChain {
  const chain = createTestChain(modules);
  const out = chain.block([chain.tx(alice, 'demo.open', {}), chain.tx(alice, 'demo.put', { key: 'k', value: 'v1' })]);
  assert.deepEqual(out.excluded, []);
  return chain;
}

/** A rotation of `from` to `next`, signed by `signer` (default: from's own key). */
function rotation(chain: TestChain, from: TestAccount, next: TestAccount, options: { proofNonce?: number; proofBy?: TestAccount } = {}) {
  const body = signRotateBody(chain.genesis.chain, from.id, options.proofNonce ?? from.nonce, options.proofBy?.signer ?? next.signer);
  return chain.tx(from, 'auth.rotate', { ...body, pub: next.pub });
}

test('a rotation moves the account to the new key: the old key is refused, the new one signs for the same id', async () => {
  const alice = testAccount('alice');
  const fresh = testAccount('alice-2');
  const chain = opened(alice);
  const out = chain.block([rotation(chain, alice, fresh)]);
  assert.deepEqual(out.excluded, []);
  assert.equal(out.receipts[0]!.status, 'ok');
  assert.deepEqual(out.receipts[0]!.events, [{ type: 'auth.rotated', account: alice.id, old: alice.pub, pub: fresh.pub }]);
  assert.equal(chain.accounts().pubOf(alice.id), fresh.pub);
  assert.equal(chain.accounts().nonceOf(alice.id), 3);
  // The block's writes carry the new key with the bumped nonce, once.
  assert.equal(chain.entries[2]!.writes.get(`auth/${alice.id}`), `{"nonce":3,"pub":"${fresh.pub}"}`);

  // The old key: a block rule, so the transaction is kept out (never recorded).
  const old = chain.block([chain.tx(alice, 'demo.put', { key: 'k', value: 'old' })]);
  assert.deepEqual(old.excluded, [{ input: 0, code: 'wrong_key' }]);
  alice.nonce--;
  // The new key signs for alice's id: her module state (keyed by id) is still hers.
  const next = chain.block([chain.tx(alice, 'demo.put', { key: 'k', value: 'v2' }, { signer: fresh.signer })]);
  assert.deepEqual(next.excluded, []);
  assert.equal(next.receipts[0]!.status, 'ok');
  assert.equal(chain.get<{ b: string }>('demo/kv/k')!.b, 'v2');
  // The new key's own id is another, unseen account.
  assert.equal(chain.accounts().pubOf(fresh.id), undefined);

  const report = await verifyChain(chain.source(), modules, pool);
  assert.deepEqual(report.issues, []);
  assert.ok(report.ok);
});

test('in one block: the rotation, then the new key at the next nonce; the old key after it is kept out', () => {
  const alice = testAccount('alice');
  const fresh = testAccount('alice-2');
  const chain = opened(alice);
  const envs = [rotation(chain, alice, fresh), chain.tx(alice, 'demo.put', { key: 'k', value: 'new' }, { signer: fresh.signer })];
  const stale = chain.tx(alice, 'demo.put', { key: 'k', value: 'old' }, { nonce: 3 });
  const out = chain.block([...envs, stale]);
  assert.deepEqual(out.excluded, [{ input: 2, code: 'wrong_key' }]);
  assert.deepEqual(out.receipts.map((r) => r.status), ['ok', 'ok']);
});

test('a rotation whose proof does not verify, or to the same key, fails and changes nothing but the nonce', () => {
  const alice = testAccount('alice');
  const fresh = testAccount('alice-2');
  const chain = opened(alice);
  const cases: Array<[string, ReturnType<typeof rotation>]> = [];
  cases.push(['bad_rotation_proof', rotation(chain, alice, fresh, { proofBy: testAccount('mallory') })]);
  cases.push(['bad_rotation_proof', rotation(chain, alice, fresh, { proofNonce: alice.nonce + 5 })]);
  cases.push(['key_unchanged', rotation(chain, alice, alice)]);
  for (const [code, env] of cases) {
    const out = chain.block([env]);
    assert.deepEqual(out.excluded, []);
    assert.equal(out.receipts[0]!.status, 'failed');
    assert.equal(out.receipts[0]!.code, code);
    assert.equal(chain.accounts().pubOf(alice.id), alice.pub);
  }
  assert.equal(chain.accounts().nonceOf(alice.id), 5);
});

test('the new key must be strong and the body exact: otherwise the transaction is kept out of the block', () => {
  const alice = testAccount('alice');
  const chain = opened(alice);
  const weak = weakAccount();
  const body = signRotateBody(chain.genesis.chain, alice.id, alice.nonce, weak.signer);
  const cases: Array<[Record<string, unknown>, string]> = [
    [body as unknown as Record<string, unknown>, 'weak_key'],
    [{ pub: testAccount('x').pub }, 'bad_body'],
    [{ ...signRotateBody(chain.genesis.chain, alice.id, alice.nonce, testAccount('x').signer), extra: 1 }, 'bad_body'],
    [{ pub: 'abc', proof: 'x'.repeat(86) }, 'bad_body'],
  ];
  for (const [b, code] of cases) {
    const out = chain.block([chain.tx(alice, 'auth.rotate', b, { nonce: alice.nonce })]);
    assert.deepEqual(out.excluded, [{ input: 0, code }], JSON.stringify(b));
  }
  assert.equal(chain.accounts().pubOf(alice.id), alice.pub);
});

test('admission refuses what apply would fail: the same key, a bad proof', () => {
  const alice = testAccount('alice');
  const fresh = testAccount('alice-2');
  const chain = opened(alice);
  const admit = (body: ReturnType<typeof signRotateBody>) => {
    const ctx = {
      state: { get: () => undefined, entries: () => [] }, params: chain.kernel.params,
      accounts: accountKeys({ get: (k) => chain.get(k), entries: () => [] }),
      tx: { chain: chain.genesis.chain, type: 'auth.rotate', from: alice.id, nonce: alice.nonce, expires: 0, body: { ...body } },
      pub: alice.pub, known: true, nowMs: chain.time,
    } satisfies AdmitContext;
    try {
      rotate.admit!(ctx, body);
      return 'admitted';
    } catch (err) {
      return (err as TallyError).code;
    }
  };
  assert.equal(admit(signRotateBody(chain.genesis.chain, alice.id, alice.nonce, fresh.signer)), 'admitted');
  assert.equal(admit(signRotateBody(chain.genesis.chain, alice.id, alice.nonce, alice.signer)), 'key_unchanged');
  assert.equal(admit(signRotateBody(chain.genesis.chain, alice.id, alice.nonce + 1, fresh.signer)), 'bad_rotation_proof');
  assert.equal(admit(signRotateBody('other-chain', alice.id, alice.nonce, fresh.signer)), 'bad_rotation_proof');
});

test('the kernel carries auth.rotate on every chain, and no module may take the name auth', () => {
  const chain = createTestChain(modules);
  assert.ok(chain.kernel.txTypeNames().includes('auth.rotate'));
  assert.throws(() => createTestChain([{ name: 'auth', txTypes: [], queries: [] }]));
});
