// Hostile and broken input against a real node: each refusal carries its stable error code
// and leaves the chain as it was (height, balances, nonces); transactions that are valid
// but cannot apply are recorded as failed receipts that use the nonce and move no money.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { type Envelope, type Receipt } from '../src/chain/envelope.js';
import {
  cleanup, getOk, httpPost, makeTx, newAccount, nowSecs, RawSocket, replySignatureValid, startNode, toMinor, withTimeout,
  type Account, type NodeProcess,
} from './helpers.js';

interface Snapshot {
  height: number;
  mempool: number;
  balances: Record<string, string>;
  nonces: Record<string, number>;
}

describe('bad input changes nothing', { timeout: 120_000 }, () => {
  let node: NodeProcess;
  let alice: Account;
  let bob: Account;
  const stranger = newAccount(); // never registered

  async function snapshot(): Promise<Snapshot> {
    const info = await getOk(`${node.http}/v1/node`);
    const balances: Record<string, string> = {};
    const nonces: Record<string, number> = {};
    for (const [name, acct] of [['alice', alice], ['bob', bob], ['stranger', stranger]] as const) {
      const auth = await getOk(`${node.http}/v1/auth/${acct.id}`);
      nonces[name] = auth.nonce;
      if (name !== 'stranger') balances[name] = (await getOk(`${node.http}/v1/accounts/${name}`)).balance;
    }
    balances.mint = (await getOk(`${node.http}/v1/accounts/mint`)).balance;
    return { height: info.height, mempool: info.mempool, balances, nonces };
  }

  /** POST one envelope (or raw text); it must be refused with `code` and change nothing. */
  async function refused(body: unknown, code: string, status: number, raw = false): Promise<any> {
    const before = await snapshot();
    const res = await httpPost(`${node.http}/v1/txs`, body, { raw });
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body?.error?.code, code, JSON.stringify(res.body));
    assert.equal(typeof res.body.error.message, 'string');
    assert.deepEqual(await snapshot(), before, `${code} changed the chain`);
    return res.body.error;
  }

  /** A valid transaction that fails when applied: recorded, nonce used, no money moves. */
  async function failedReceipt(env: Envelope, code: string): Promise<Receipt> {
    const before = await snapshot();
    const res = await httpPost(`${node.http}/v1/txs`, env);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const r = res.body as Receipt;
    assert.equal(r.status, 'failed');
    assert.equal(r.code, code);
    assert.deepEqual(r.events, []);
    const after = await snapshot();
    assert.deepEqual(after.balances, before.balances, `${code} moved money`);
    assert.equal(after.height, before.height + 1);
    assert.equal(after.nonces.alice, before.nonces.alice! + (env.tx.from === alice.id ? 1 : 0));
    assert.equal(after.nonces.bob, before.nonces.bob! + (env.tx.from === bob.id ? 1 : 0));
    const stored = await getOk(`${node.http}/v1/txs/${r.id}`);
    assert.deepEqual(stored.receipt, r);
    return r;
  }

  const send = (from: Account, body: Record<string, unknown>, opts = {}) => makeTx(from, 'ledger.send', body, opts);
  /** A transfer from alice with her next nonce, not consuming it locally. */
  const aliceSend = (body: Record<string, unknown>, opts = {}) => send(alice, body, { nonce: alice.nonce, ...opts });

  before(async () => {
    node = await startNode();
    alice = newAccount();
    bob = newAccount();
    const res = await httpPost(`${node.http}/v1/txs`, [makeTx(alice, 'ledger.register', { name: 'alice' }), makeTx(bob, 'ledger.register', { name: 'bob' })]);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.map((r: Receipt) => r.status), ['ok', 'ok']);
    const ok = await httpPost(`${node.http}/v1/txs`, makeTx(alice, 'ledger.send', { to: 'bob', amount: '1.5' }));
    assert.equal(ok.body.status, 'ok');
    const s = await snapshot();
    assert.deepEqual(s.balances, { alice: '998.5', bob: '1001.5', mint: '-2000' });
    assert.deepEqual(s.nonces, { alice: 2, bob: 1, stranger: 0 });
  }, { timeout: 60_000 });

  after(async () => {
    if (node) assert.equal(await node.stop(), 0, node.stderr());
    await cleanup();
  }, { timeout: 60_000 });

  it('malformed JSON over HTTP: 400 bad_json', async () => {
    await refused('{"tx": {"chain": "tally-dev",', 'bad_json', 400, true);
    await refused('not json at all', 'bad_json', 400, true);
    await refused('{"tx":1}}', 'bad_json', 400, true);
  });

  it('malformed JSON over the socket: bad_json, and the connection keeps working', async () => {
    const before = await snapshot();
    const sock = await RawSocket.connect(node.socket);
    try {
      for (const line of ['{"id": 1, "method": "tx.submit", "params": {', 'hello', '[1,2,3]', '"a string"', 'null']) {
        await sock.write(line + '\n');
        const reply = await sock.next();
        assert.equal(reply.error?.code, 'bad_json', line);
        assert.equal(reply.id, null);
        assert.ok(replySignatureValid(reply, node.nodeKey));
      }
      const info = await sock.request(7, 'node.info');
      assert.equal(info.id, 7);
      assert.equal(info.result.height, before.height);
    } finally {
      sock.close();
    }
    assert.deepEqual(await snapshot(), before);
  });

  it('an oversized socket line (> 64 KiB): line_too_long, then the connection still works', async () => {
    const before = await snapshot();
    const sock = await RawSocket.connect(node.socket);
    try {
      // A valid transaction padded past the limit must not be executed.
      const padded = aliceSend({ to: 'bob', amount: '1', memo: 'x'.repeat(100) });
      const line = JSON.stringify({ id: 1, method: 'tx.submit', params: { tx: padded, pad: 'p'.repeat(70 * 1024) } }) + '\n';
      assert.ok(Buffer.byteLength(line) > 64 * 1024);
      await sock.write(line);
      const r1 = await sock.next();
      assert.equal(r1.error?.code, 'line_too_long');
      assert.ok(replySignatureValid(r1, node.nodeKey));
      // A much longer line written in pieces gets one refusal, not one per chunk.
      const big = 'z'.repeat(300 * 1024);
      for (let i = 0; i < big.length; i += 16 * 1024) await sock.write(big.slice(i, i + 16 * 1024));
      await sock.write('\n');
      const r2 = await sock.next();
      assert.equal(r2.error?.code, 'line_too_long');
      const info = await sock.request(2, 'node.info');
      assert.equal(info.id, 2, JSON.stringify(info));
      assert.equal(info.result.chain, 'tally-dev');
      assert.equal(sock.queued, 0, 'no extra replies');
      // A line just under the limit is served.
      const near = JSON.stringify({ id: 3, method: 'node.info', params: { pad: 'q'.repeat(60 * 1024) } }) + '\n';
      assert.ok(Buffer.byteLength(near) < 64 * 1024);
      await sock.write(near);
      const r3 = await sock.next();
      assert.equal(r3.id, 3);
      assert.equal(r3.result.chain, 'tally-dev');
    } finally {
      sock.close();
    }
    assert.deepEqual(await snapshot(), before);
  });

  it('wrong chain id: wrong_chain (over HTTP and the socket)', async () => {
    const env = aliceSend({ to: 'bob', amount: '1' }, { chain: 'tally-main' });
    await refused(env, 'wrong_chain', 400);
    const before = await snapshot();
    const sock = await RawSocket.connect(node.socket);
    try {
      const reply = await sock.request(1, 'tx.submit', { tx: env });
      assert.ok(replySignatureValid(reply, node.nodeKey));
      assert.equal(reply.result.error.code, 'wrong_chain');
    } finally {
      sock.close();
    }
    assert.deepEqual(await snapshot(), before);
  });

  it('bad signature (a flipped byte, or a body changed after signing): bad_signature', async () => {
    const env = aliceSend({ to: 'bob', amount: '1' });
    const sig = Buffer.from(env.sig, 'base64url');
    sig[10] = sig[10]! ^ 0x01;
    await refused({ ...env, sig: sig.toString('base64url') }, 'bad_signature', 401);
    await refused({ ...env, tx: { ...env.tx, body: { to: 'bob', amount: '100' } } }, 'bad_signature', 401);
    // Someone else's key on alice's transaction.
    const mallory = newAccount();
    const forged = makeTx({ ...mallory, id: alice.id }, 'ledger.send', { to: 'bob', amount: '1' }, { nonce: alice.nonce });
    await refused(forged, 'wrong_key', 401);
    // The untouched transaction is fine.
    const ok = await httpPost(`${node.http}/v1/txs`, env);
    assert.equal(ok.body.status, 'ok');
    alice.nonce++;
  });

  it('replayed nonce: the same tx returns its receipt, another tx with a used nonce is nonce_used', async () => {
    const env = send(alice, { to: 'bob', amount: '2' });
    const first = await httpPost(`${node.http}/v1/txs`, env);
    assert.equal(first.body.status, 'ok');
    const before = await snapshot();
    const again = await httpPost(`${node.http}/v1/txs`, env);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body, 'a resubmission answers the original receipt');
    const inBatch = await httpPost(`${node.http}/v1/txs`, [env]);
    assert.deepEqual(inBatch.body, [first.body]);
    assert.deepEqual(await snapshot(), before, 'a resubmission executes nothing');
    const err = await refused(aliceSend({ to: 'bob', amount: '2.5' }, { nonce: env.tx.nonce }), 'nonce_used', 409);
    assert.equal(err.details.expected, alice.nonce);
    await refused(aliceSend({ to: 'bob', amount: '3' }, { nonce: 0 }), 'nonce_used', 409);
  });

  it('nonce gap: nonce_gap', async () => {
    const err = await refused(aliceSend({ to: 'bob', amount: '1' }, { nonce: alice.nonce + 5 }), 'nonce_gap', 409);
    assert.equal(err.details.expected, alice.nonce);
  });

  it('two transactions with the same new nonce in one batch: the second is nonce_pending', async () => {
    const before = await snapshot();
    const a = aliceSend({ to: 'bob', amount: '1' });
    const b = aliceSend({ to: 'bob', amount: '2' });
    const res = await httpPost(`${node.http}/v1/txs`, [a, b]);
    assert.equal(res.status, 200);
    assert.equal(res.body[0].status, 'ok');
    assert.equal(res.body[1].error.code, 'nonce_pending');
    alice.nonce++;
    const after = await snapshot();
    assert.equal(toMinor(after.balances.bob!), toMinor(before.balances.bob!) + 1_000_000n);
    assert.equal(after.nonces.alice, before.nonces.alice! + 1);
  });

  it('the same transaction sent twice before it commits: both get the one receipt, applied once', async () => {
    const before = await snapshot();
    const a = aliceSend({ to: 'bob', amount: '1' });
    const res = await httpPost(`${node.http}/v1/txs`, [a, a]);
    assert.equal(res.status, 200);
    assert.equal(res.body[0].status, 'ok');
    assert.deepEqual(res.body[1], res.body[0]);
    alice.nonce++;
    const after = await snapshot();
    assert.equal(toMinor(after.balances.bob!), toMinor(before.balances.bob!) + 1_000_000n);
    assert.equal(after.nonces.alice, before.nonces.alice! + 1);
  });

  it('unknown type: unknown_type', async () => {
    const err = await refused(makeTx(alice, 'ledger.mint', { to: 'alice', amount: '1000000' }, { nonce: alice.nonce }), 'unknown_type', 400);
    // every type the node carries (modules add theirs), and not the invented one
    assert.deepEqual(err.details.known.sort(), (await getOk(`${node.http}/v1/node`)).txTypes.sort());
    assert.ok(err.details.known.includes('ledger.send') && !err.details.known.includes('ledger.mint'));
  });

  it('amounts: negative, JSON number, too precise, zero, malformed', async () => {
    await refused(aliceSend({ to: 'bob', amount: '-5' }), 'amount_negative', 400);
    await refused(aliceSend({ to: 'bob', amount: 12.5 }), 'amount_not_string', 400);
    await refused(aliceSend({ to: 'bob', amount: 1 }), 'amount_not_string', 400);
    await refused(aliceSend({ to: 'bob', amount: '1.0000001' }), 'amount_too_precise', 400);
    await refused(aliceSend({ to: 'bob', amount: '0' }), 'amount_zero', 400);
    await refused(aliceSend({ to: 'bob', amount: '0.000000' }), 'amount_zero', 400);
    for (const bad of ['1e3', '01', '1.', '.5', ' 1', '1,5', '0x10', '', 'NaN', '+1']) {
      await refused(aliceSend({ to: 'bob', amount: bad }), 'amount_invalid', 400);
    }
    await refused(aliceSend({ to: 'bob', amount: null }), 'amount_invalid', 400);
    await refused(aliceSend({ to: 'bob' }), 'amount_invalid', 400);
  });

  it('huge amounts: 2^63 minor units and a long digit string are amount_overflow', async () => {
    // 2^63 minor units with 6 decimals: 9223372036854.775808
    await refused(aliceSend({ to: 'bob', amount: '9223372036854.775808' }), 'amount_overflow', 400);
    await refused(aliceSend({ to: 'bob', amount: '9'.repeat(30) }), 'amount_overflow', 400);
    await refused(aliceSend({ to: 'bob', amount: '1'.repeat(200) }), 'amount_overflow', 400);
    await refused(aliceSend({ to: 'bob', amount: '1' + '0'.repeat(5000) }), 'amount_overflow', 400);
    // 2^63 - 1 minor units is a valid amount; alice just does not have it.
    await failedReceipt(send(alice, { to: 'bob', amount: '9223372036854.775807' }), 'insufficient_funds');
  });

  it('memo too long: memo_too_long; unknown body field: bad_body', async () => {
    await refused(aliceSend({ to: 'bob', amount: '1', memo: 'é'.repeat(129) }), 'memo_too_long', 400);
    await refused(aliceSend({ to: 'bob', amount: '1', note: 'hi' }), 'bad_body', 400);
  });

  it('sending to an unknown account: failed receipt unknown_account', async () => {
    await failedReceipt(send(alice, { to: 'nobody', amount: '1' }), 'unknown_account');
    await failedReceipt(send(alice, { to: stranger.id, amount: '1' }), 'unknown_account');
  });

  it('insufficient funds: failed receipt insufficient_funds', async () => {
    const s = await snapshot();
    const balance = s.balances.alice!;
    const [whole, frac = ''] = balance.split('.');
    const justOver = (BigInt(whole! + frac.padEnd(6, '0')) + 1n).toString().padStart(7, '0');
    const overAmount = `${justOver.slice(0, -6)}.${justOver.slice(-6)}`;
    await failedReceipt(send(alice, { to: 'bob', amount: overAmount }), 'insufficient_funds');
    await failedReceipt(send(alice, { to: 'alice', amount: '1' }), 'self_transfer');
  });

  it('a transaction from an unregistered account: account_not_found', async () => {
    await refused(makeTx(stranger, 'ledger.send', { to: 'bob', amount: '1' }, { nonce: 0 }), 'account_not_found', 404);
  });

  it('a batch of 1,001 is refused whole; 1,000 is accepted', async () => {
    const batch = Array.from({ length: 1001 }, (_, i) => send(alice, { to: 'bob', amount: '0.000001' }, { nonce: alice.nonce + i }));
    const before = await snapshot();
    const res = await httpPost(`${node.http}/v1/txs`, batch);
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'batch_too_large', JSON.stringify(res.body));
    assert.deepEqual(await snapshot(), before);
    // Over the socket the node's check answers (tiny envelopes keep the line under 64 KiB).
    const sock = await RawSocket.connect(node.socket);
    try {
      const reply = await sock.request(1, 'tx.submit', { txs: Array.from({ length: 1001 }, () => ({})) });
      assert.equal(reply.error?.code, 'batch_too_large');
      assert.ok(replySignatureValid(reply, node.nodeKey));
    } finally {
      sock.close();
    }
    assert.deepEqual(await snapshot(), before);
    const ok = await httpPost(`${node.http}/v1/txs`, batch.slice(0, 1000));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.length, 1000);
    assert.ok(ok.body.every((r: Receipt) => r.status === 'ok'), JSON.stringify(ok.body.find((r: Receipt) => r.status !== 'ok')));
    alice.nonce += 1000;
    const after = await snapshot();
    assert.equal(after.nonces.alice, before.nonces.alice! + 1000);
    assert.equal(toMinor(after.balances.bob!), toMinor(before.balances.bob!) + 1000n);
    assert.equal(toMinor(after.balances.alice!), toMinor(before.balances.alice!) - 1000n);
  });

  it('expired, and expiring too far ahead', async () => {
    await refused(aliceSend({ to: 'bob', amount: '1' }, { expires: nowSecs() - 60 }), 'expired', 409);
    await refused(aliceSend({ to: 'bob', amount: '1' }, { expires: 0 }), 'expired', 409);
    await refused(aliceSend({ to: 'bob', amount: '1' }, { expires: nowSecs() + 25 * 3600 }), 'expires_too_far', 400);
  });

  it('unknown or missing fields in the envelope: bad_envelope', async () => {
    const env = aliceSend({ to: 'bob', amount: '1' });
    const e1 = await refused({ ...env, extra: true }, 'bad_envelope', 400);
    assert.equal(e1.details.field, 'extra');
    const e2 = await refused({ ...env, tx: { ...env.tx, fee: '1' } }, 'bad_envelope', 400);
    assert.equal(e2.details.field, 'fee');
    const { sig: _sig, ...noSig } = env;
    await refused(noSig, 'bad_envelope', 400);
    await refused({ ...env, pub: 'short' }, 'bad_envelope', 400);
    await refused({ ...env, tx: { ...env.tx, from: 'ALICE' } }, 'bad_envelope', 400);
    await refused({ ...env, tx: { ...env.tx, nonce: -1 } }, 'bad_nonce', 400);
    await refused({ ...env, tx: { ...env.tx, nonce: 1.5 } }, 'bad_nonce', 400);
    // An empty batch is not an error: it answers an empty array.
    const empty = await httpPost(`${node.http}/v1/txs`, []);
    assert.deepEqual({ status: empty.status, body: empty.body }, { status: 200, body: [] });
  });

  it('a body over 4 MiB: 413 body_too_large', async () => {
    // The node answers from the declared length, before the body arrives. (With fetch the
    // upload races the early answer and the client may see a reset instead of the 413.)
    const before = await snapshot();
    const { hostname, port } = new URL(node.http);
    const answer = await withTimeout(new Promise<string>((resolve, reject) => {
      const conn = net.createConnection(Number(port), hostname);
      let text = '';
      conn.setEncoding('utf8');
      conn.on('data', (c: string) => { text += c; });
      conn.on('end', () => resolve(text));
      conn.on('close', () => resolve(text));
      conn.on('error', reject);
      conn.write(`POST /v1/txs HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${4 * 1024 * 1024 + 1}\r\nConnection: close\r\n\r\n{"tx":"`);
    }), 10_000, 'the 413 answer');
    assert.match(answer, /^HTTP\/1\.1 413 /);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
    assert.equal(body.error.code, 'body_too_large');
    assert.deepEqual(await snapshot(), before);
  });

  it('the node is still healthy and the chain verifies', async () => {
    const health = await getOk(`${node.internal}/health`);
    assert.equal(health.ok, true);
    assert.equal(health.mempool, 0);
    const ok = await httpPost(`${node.http}/v1/txs`, send(alice, { to: 'bob', amount: '1' }));
    assert.equal(ok.body.status, 'ok');
  });
});
