// The member audit under repetition (issue 10 item 7): one signed audit request is usable
// once (a replay is refused with query_auth_replayed and costs the node nothing), and the
// audit's own check stays exact as new transfers arrive after earlier audits.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { signQuery } from '../src/chain/query-auth.js';
import { cleanup, httpPost, makeTx, newAccount, RawSocket, startNode, type Account, type NodeProcess } from './helpers.js';

describe('ledger audit: single-use signatures, exact after new transfers', { timeout: 120_000 }, () => {
  let node: NodeProcess;
  let sock: RawSocket;
  let rid = 0;
  const alice = newAccount();
  const bob = newAccount();

  async function call(method: string, params: Record<string, unknown>): Promise<any> {
    return sock.request(++rid, method, params, 30_000);
  }

  /** One HTTP batch (a socket line holds at most 64 KiB). */
  async function submitAll(txs: unknown[]): Promise<void> {
    const reply = await httpPost(`${node.http}/v1/txs`, txs, { timeoutMs: 30_000 });
    for (const r of reply.body as Array<{ status: string }>) assert.equal(r.status, 'ok', JSON.stringify(r));
  }

  const sends = (from: Account, to: Account, count: number, amount: string) =>
    Array.from({ length: count }, () => makeTx(from, 'ledger.send', { to: to.id, amount }));

  async function balance(acct: Account): Promise<string> {
    return (await call('query', { name: 'ledger.balance', params: { account: acct.id } })).result.total;
  }

  before(async () => {
    node = await startNode();
    sock = await RawSocket.connect(node.socket);
    await submitAll([makeTx(alice, 'ledger.register', { name: 'alice' }), makeTx(bob, 'ledger.register', { name: 'bob' })]);
    await submitAll(sends(alice, bob, 600, '0.5'));
  }, { timeout: 60_000 });

  after(async () => {
    sock?.close();
    await cleanup();
  }, { timeout: 60_000 });

  it('a replayed signed audit request is refused, and changes nothing', async () => {
    const signed = signQuery('tally-dev', 'ledger.audit', {}, alice.signer, alice.id);
    const first = await call('query', { name: 'ledger.audit', params: signed });
    assert.equal(first.error, undefined, JSON.stringify(first.error));
    assert.equal(first.result.own.ok, true, JSON.stringify(first.result.own));
    const replay = await call('query', { name: 'ledger.audit', params: signed });
    assert.equal(replay.error?.code, 'query_auth_replayed', JSON.stringify(replay));
    // A freshly signed request of the same account is answered, the same way.
    const fresh = await call('query', { name: 'ledger.audit', params: signQuery('tally-dev', 'ledger.audit', {}, alice.signer, alice.id, Date.now() + 1) });
    assert.deepEqual(fresh.result, first.result);
  });

  it('the audit stays exact after new transfers (both directions) following earlier audits', async () => {
    const audit = async (acct: Account) => {
      const reply = await call('query', { name: 'ledger.audit', params: signQuery('tally-dev', 'ledger.audit', {}, acct.signer, acct.id) });
      assert.equal(reply.error, undefined, JSON.stringify(reply.error));
      return reply.result.own;
    };
    const before = await audit(bob);
    assert.equal(before.ok, true);
    assert.equal(before.balance, '1300');
    await submitAll(sends(bob, alice, 70, '1.25'));
    await submitAll(sends(alice, bob, 3, '0.000001'));
    for (const [acct, expected] of [[alice, '787.499997'], [bob, '1212.500003']] as const) {
      const own = await audit(acct);
      assert.deepEqual(own, { ok: true, balance: expected, fromHistory: expected, held: '0', heldByDisputes: '0', problems: [] });
      assert.equal(await balance(acct), expected);
    }
  });
});
