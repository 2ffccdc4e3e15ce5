// An envelope signed by the browser wallet's code (WebCrypto Ed25519, core/tx-signing.ts)
// is the envelope the CLI would make with the same key: same bytes, same id, and the
// node's parser and verifier accept it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { canonicalJson } from '../core/canonical.js';
import { accountIdFromPub, signerFromPrivateKey, verifySignature } from '../core/keys.js';
import { accountIdPure, signTxAsync, txIdPure } from '../core/tx-signing.js';
import { generateWebKey, importPkcs8, webSigner } from '../core/webcrypto-keys.js';
import { parseEnvelope, signingText, signTx, txId, type Tx } from './envelope.js';
import { utf8 } from '../core/encoding.js';

function txFor(from: string): Tx {
  return { chain: 'tally-dev', type: 'ledger.send', from, nonce: 7, expires: 1795000000, body: { to: 'b'.repeat(40), amount: '12.5', memo: 'lunch ☕' } };
}

describe('envelopes signed in the browser', () => {
  it('match the CLI envelope byte for byte for the same key', async () => {
    const { privateKey } = crypto.generateKeyPairSync('ed25519');
    const der = new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }));
    const web = await importPkcs8(der);
    const cli = signerFromPrivateKey(privateKey);
    assert.equal(web.pub, cli.pub);
    const from = accountIdFromPub(cli.pub);
    assert.equal(accountIdPure(web.pub), from);
    const tx = txFor(from);
    const fromPage = await signTxAsync(tx, webSigner(web));
    const fromCli = signTx(tx, cli);
    assert.equal(canonicalJson(fromPage), canonicalJson(fromCli));
    assert.equal(JSON.stringify(fromPage), JSON.stringify(fromCli));
    assert.equal(txIdPure(tx), txId(tx));
  });

  it('a key generated non-extractable in WebCrypto signs envelopes the node accepts', async () => {
    const web = await generateWebKey();
    const tx = txFor(accountIdPure(web.pub));
    const env = await signTxAsync(tx, webSigner(web));
    const parsed = parseEnvelope(JSON.parse(JSON.stringify(env)));
    assert.ok(verifySignature(parsed.pub, utf8.encode(signingText(parsed.tx)), parsed.sig));
    const forged = { ...env, tx: { ...env.tx, nonce: 8 } };
    assert.ok(!verifySignature(forged.pub, utf8.encode(signingText(forged.tx)), forged.sig));
  });

  it('ids agree between the pure and the node hashing on many shapes', () => {
    for (let i = 0; i < 50; i++) {
      const tx: Tx = { chain: 'c', type: 'a.b', from: '0'.repeat(40), nonce: i, expires: i * 1000, body: { n: i, s: 'é'.repeat(i), deep: { x: [i, { y: String(i) }] } } };
      assert.equal(txIdPure(tx), txId(tx));
    }
  });
});
