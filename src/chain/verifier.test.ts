import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountIdFromPub, generateSigner, isRememberedStrongKey } from '../core/keys.js';
import { opensslAcceptsWeakKeys, weakAccount } from './testing/test-chain.js';
import { signTx, txId, type Envelope } from './envelope.js';
import { defaultVerifierThreads, VerifierPool } from './verifier.js';

function envelopes(n: number): Envelope[] {
  const { signer } = generateSigner();
  return Array.from({ length: n }, (_, i) => signTx({
    chain: 'c', type: 'ledger.send', from: accountIdFromPub(signer.pub), nonce: i, expires: 1, body: { to: 'bob', amount: '1' },
  }, signer));
}

test('verifies a batch across workers, in order, and names bad signatures', async () => {
  const pool = new VerifierPool(2);
  try {
    const envs = envelopes(50);
    envs[7] = { ...envs[7]!, sig: envs[8]!.sig };
    const verdicts = await pool.verify(envs);
    assert.equal(verdicts.length, 50);
    verdicts.forEach((v, i) => {
      assert.equal(v.id, txId(envs[i]!.tx));
      assert.equal(v.code, i === 7 ? 'bad_signature' : null);
    });
  } finally {
    await pool.close();
  }
});

test('a worker that dies is replaced and the pool keeps verifying', async () => {
  const pool = new VerifierPool(2);
  try {
    await pool.crashWorkerForTest(0);
    await new Promise((r) => setTimeout(r, 50));
    const verdicts = await pool.verify(envelopes(40));
    assert.ok(verdicts.every((v) => v.code === null));
  } finally {
    await pool.close();
  }
});

test('the workers check the keys of account-opening envelopes, and the main thread remembers the strong ones', async () => {
  const pool = new VerifierPool(2);
  try {
    const opening = Array.from({ length: 40 }, () => {
      const { signer } = generateSigner();
      return signTx({ chain: 'c', type: 'ledger.register', from: accountIdFromPub(signer.pub), nonce: 0, expires: 1, body: { name: 'n' } }, signer);
    });
    const sends = envelopes(3);
    const weak = weakAccount();
    const weakOpen = signTx({ chain: 'c', type: 'ledger.register', from: weak.id, nonce: 0, expires: 1, body: { name: 'w' } }, weak.signer);
    const envs = [...opening, ...sends, weakOpen];
    const verdicts = await pool.verify(envs, (env) => env.tx.type === 'ledger.register');
    opening.forEach((env, i) => {
      assert.equal(verdicts[i]!.strongKey, true, `opening ${i}`);
      assert.ok(isRememberedStrongKey(env.pub), `opening ${i} remembered`);
    });
    // Not an opening type: no check asked, nothing remembered.
    for (let i = 0; i < sends.length; i++) assert.equal(verdicts[opening.length + i]!.strongKey, undefined);
    assert.equal(isRememberedStrongKey(sends[0]!.pub), false);
    // A small-order key: where OpenSSL lets its signature verify, the worker finds it weak.
    const last = verdicts[envs.length - 1]!;
    if (opensslAcceptsWeakKeys()) assert.equal(last.strongKey, false);
    else assert.equal(last.code, 'bad_signature');
    assert.equal(isRememberedStrongKey(weak.pub), false);
  } finally {
    await pool.close();
  }
});

test('by default a replica leaves one core to its main thread, and a writer has a thread per core', () => {
  assert.equal(defaultVerifierThreads(true, 2), 1);
  assert.equal(defaultVerifierThreads(true, 8), 7);
  assert.equal(defaultVerifierThreads(true, 1), 1, 'never none');
  assert.equal(defaultVerifierThreads(false, 2), 2);
  assert.equal(defaultVerifierThreads(false, 1), 1);
});
