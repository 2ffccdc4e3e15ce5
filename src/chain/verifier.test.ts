import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigner } from '../core/keys.js';
import { accountIdFromPub } from '../core/keys.js';
import { signTx, txId, type Envelope } from './envelope.js';
import { VerifierPool } from './verifier.js';

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
