// The tickets service over both backends, with the same tests: SQLite always, PostgreSQL
// when reachable (CI=true makes it required). On PostgreSQL, "two processes" are two
// services on two pools of one database, sharing nothing in memory.
import crypto from 'node:crypto';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupPg, freshPgSchema, pgMissing } from '../../../test/pg.js';
import { SqliteTicketsBackend, type PaymentOp, type TicketsBackend } from './backend.js';
import { validateTicketsConfig } from './config.js';
import { openPgTickets, PgTicketsBackend } from './pg-store.js';
import { newPid, tallyMemoTag } from './pid.js';
import { TicketsService } from './service.js';
import { openTestStore } from './test-store.js';

after(cleanupPg);

interface Env {
  /** a new backend on the same tables: another process on PostgreSQL, the same store on SQLite */
  open(): Promise<TicketsBackend>;
  close(): Promise<void>;
}

async function sqliteEnv(): Promise<Env> {
  const db = openTestStore();
  const backend = new SqliteTicketsBackend(db.store);
  return { open: async () => backend, close: async () => db.close() };
}

let envCount = 0;

async function pgEnv(): Promise<Env> {
  const schema = await freshPgSchema();
  const name = `TALLY_TEST_TICKETS_PG_${process.pid}_${++envCount}`;
  process.env[name] = schema.url;
  const opened: PgTicketsBackend[] = [];
  return {
    async open() {
      const b = openPgTickets({ urlEnv: name }, { max: 4 });
      opened.push(b);
      await b.ready;
      return b;
    },
    async close() {
      await Promise.all(opened.map((b) => b.close()));
      delete process.env[name];
      await schema.drop();
    },
  };
}

const config = validateTicketsConfig({ redeemGraceSecs: 600 });
const key = crypto.randomBytes(32);
const tallyPay = (pid: string, amount: bigint, txid: string, height = 1): PaymentOp => ({ kind: 'record', payment: { source: 'tally', txid, pid: tallyMemoTag(pid), amount, height } });
const moneroPay = (pid: string, amount: bigint, txid: string, height = 1): PaymentOp => ({ kind: 'record', payment: { source: 'monero', txid, pid, amount, height } });

const missing = await pgMissing();

for (const [kind, makeEnv, skip] of [['sqlite', sqliteEnv, undefined], ['postgres', pgEnv, missing]] as const) {
  describe(`tickets service on ${kind}`, { skip }, () => {
    const withEnv = (fn: (env: Env, service: (b: TicketsBackend) => TicketsService) => Promise<void>) => async () => {
      const env = await makeEnv();
      try {
        await fn(env, (b) => new TicketsService(b, config, 6, key));
      } finally {
        await env.close();
      }
    };

    it('credits, redeems once, hands the same token out again, spends, revokes', withEnv(async (env, svc) => {
      const b = await env.open();
      const s = svc(b);
      const pid = newPid();
      assert.deepEqual(await b.applyPayments([tallyPay(pid, 5_000_000n, 'tx1'), tallyPay(pid, 1n, 'tx2')], 10n, 1000, { source: 'tally', height: 7 }), ['credited', 'dust']);
      assert.deepEqual(await b.applyPayments([tallyPay(pid, 5_000_000n, 'tx1', 8)], 10n, 1000), ['known']);
      assert.equal(await b.cursor('tally'), 7);
      const st = await s.paymentStatus(pid);
      assert.deepEqual([st.credited, st.dust, st.claimed, st.payments.length], ['5', '0.000001', false, 2]);
      const first = await s.redeem(pid);
      assert.deepEqual([first.status, first.balance, first.source], ['success', '5', 'tally']);
      const again = await s.redeem(pid);
      assert.deepEqual([again.status, again.token], ['already_claimed', first.token]);
      assert.equal((await s.introspect(first.token)).status, 'active');
      assert.equal((await s.spend(first.token, '1.5')).balance, '3.5');
      await assert.rejects(s.spend(first.token, '4'), { code: 'insufficient_balance' });
      // A top-up of a redeemed PID goes to its token.
      assert.deepEqual(await b.applyPayments([tallyPay(pid, 500_000n, 'tx3', 9)], 10n, 1000), ['credited']);
      assert.equal((await s.introspect(first.token)).balance, '4');
      const revoked = await s.revoke(first.token, 'abuse');
      assert.equal(revoked.status, 'revoked');
      assert.equal((await s.revoke(first.token, 'again')).revoke_reason, 'abuse', 'the first revocation stays');
      await assert.rejects(s.spend(first.token, '1'), { code: 'token_revoked' });
      const list = await s.listTokens({ status: 'revoked' });
      assert.equal(list.tokens.length, 1);
      assert.equal((await s.listTokens({ status: 'active' })).tokens.length, 0);
      await assert.rejects(s.revokeByHash('ab'.repeat(32), 'x'), { code: 'token_not_found' });
    }));

    it('one PID, one token: conflicts across sources, vanished credit taken back before a redeem', withEnv(async (env, svc) => {
      const b = await env.open();
      const s = svc(b);
      const pid = newPid();
      await b.applyPayments([tallyPay(pid, 2_000_000n, 'ta')], 0n, 1);
      assert.equal((await s.redeem(pid)).status, 'success');
      assert.deepEqual(await b.applyPayments([moneroPay(pid, 10n ** 12n, 'ma')], 0n, 2), ['conflict'], 'redeemed through Tally: a Monero payment cannot reach a second token');
      assert.equal((await s.redeem(pid)).status, 'already_claimed');
      const other = newPid();
      await b.applyPayments([moneroPay(other, 10n ** 12n, 'mb')], 0n, 3);
      assert.deepEqual(await b.applyPayments([{ kind: 'vanish', source: 'monero', txid: 'mb' }], 0n, 4), [{ vanished: true, redeemed: false }]);
      await assert.rejects(s.redeem(other), { code: 'payment_not_found' });
      assert.equal((await b.payment('monero', 'mb'))!.status, 'vanished');
      assert.deepEqual(await b.applyPayments([moneroPay(other, 10n ** 12n, 'mb', 5)], 0n, 5), ['recredited']);
      assert.equal((await s.redeem(other)).balance, '1');
      assert.deepEqual((await b.paymentsInRange('monero', 0, 10)).map((p) => p.txid).sort(), ['ma', 'mb']);
    }));

    it('concurrent redeems of one PID through two services give one token', withEnv(async (env, svc) => {
      const a = svc(await env.open());
      const c = svc(await env.open());
      const pids = Array.from({ length: 5 }, () => newPid());
      await a.backend.applyPayments(pids.map((p, i) => tallyPay(p, 1_000_000n, `t${i}`)), 0n, 1);
      for (const pid of pids) {
        const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a : c).redeem(pid)));
        assert.equal(answers.filter((r) => r.status === 'success').length, 1, `one success for ${pid}`);
        assert.equal(new Set(answers.map((r) => r.token)).size, 1, 'every answer carries the same token');
      }
      const list = await a.listTokens({ limit: '100' });
      assert.equal(list.tokens.length, 5);
    }));

    it('redeems of many PIDs at once commit together and each gets its own token', withEnv(async (env, svc) => {
      const a = svc(await env.open());
      const c = svc(await env.open());
      const pay = (pids: string[], tag: string) => pids.map((p, i) => (i % 3 ? tallyPay(p, BigInt(1_000_000 + i), `${tag}m${i}`) : moneroPay(p, BigInt(10 ** 12 + i), `${tag}x${i}`)));
      // Batching, measured in one process with nothing racing it: how many commits 60
      // claims made together take does not depend on the machine's load.
      const alone = Array.from({ length: 60 }, () => newPid());
      await a.backend.applyPayments(pay(alone, 'a'), 0n, 1);
      const before = a.backend.cacheSizes().commits!;
      const first = await Promise.all(alone.map((pid) => a.redeem(pid)));
      assert.equal(first.filter((r) => r.status === 'success').length, 60);
      const commits = a.backend.cacheSizes().commits! - before;
      assert.ok(commits < 10, `${commits} commits for 60 claims made together in one process`);
      // Correctness, with two processes racing for every PID: each PID one token, whatever
      // the interleaving (conflicts fall back to claims one at a time, so no count here).
      const pids = Array.from({ length: 60 }, () => newPid());
      await a.backend.applyPayments(pay(pids, 'b'), 0n, 2);
      const answers = await Promise.all(pids.flatMap((pid) => [a.redeem(pid), c.redeem(pid)]));
      assert.equal(answers.filter((r) => r.status === 'success').length, 60);
      for (let i = 0; i < pids.length; i++) {
        const mine = answers.slice(2 * i, 2 * i + 2);
        assert.equal(mine[0]!.token, mine[1]!.token);
        assert.equal((await a.introspect(mine[0]!.token)).balance, i % 3 ? String((1_000_000 + i) / 1e6) : `1.${String(i).padStart(12, '0')}`.replace(/0+$/, '').replace(/\.$/, ''));
      }
    }));

    it('a token revoked through one service is revoked through the other at once', withEnv(async (env, svc) => {
      const a = svc(await env.open());
      const c = svc(await env.open());
      const pid = newPid();
      await a.backend.applyPayments([tallyPay(pid, 1_000_000n, 't')], 0n, 1);
      const { token } = await a.redeem(pid);
      assert.equal((await c.introspect(token)).status, 'active', 'B sees the token A issued');
      assert.equal((await a.introspect(token)).status, 'active');
      await a.revoke(token, 'stolen');
      assert.equal((await c.introspect(token)).status, 'revoked', 'never shown active by B after A revoked it');
      await assert.rejects(c.spend(token, '0.1'), { code: 'token_revoked' });
    }));
  });
}

describe('tickets on PostgreSQL: the store itself', { skip: missing }, () => {
  it('two spends through two pools never take the same balance', async () => {
    const env = await pgEnv();
    try {
      const a = new TicketsService(await env.open(), config, 6, key);
      const c = new TicketsService(await env.open(), config, 6, key);
      const pid = newPid();
      await a.backend.applyPayments([tallyPay(pid, 3_000_000n, 't')], 0n, 1);
      const { token } = await a.redeem(pid);
      const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : c).spend(token, '1')));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
      assert.equal((await c.introspect(token)).balance, '0');
    } finally {
      await env.close();
    }
  });

  it('answers pg_unreachable (503) while the store is not open', async () => {
    process.env.TALLY_TEST_TICKETS_PG_DOWN = 'postgres://nobody@127.0.0.1:1/none';
    const b = openPgTickets({ urlEnv: 'TALLY_TEST_TICKETS_PG_DOWN' });
    try {
      await assert.rejects(b.token(Buffer.alloc(32)), { code: 'pg_unreachable', status: 503 });
    } finally {
      await b.close();
    }
  });
});
