// The caches in front of the tickets tables stay exact (revoke, spend, top-up, payment after
// a miss, rollback), the negative cache stays bounded under a flood of random keys, and
// group commit keeps one token per PID under concurrent redeems.
import crypto from 'node:crypto';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteStore } from '../../store/sqlite.js';
import { validateTicketsConfig } from './config.js';
import { GroupCommit } from './group-commit.js';
import { newPid, tallyMemoTag, tokenHash } from './pid.js';
import { TicketsService } from './service.js';
import { TicketsStore } from './store.js';
import { tokenFor } from './token-key.js';
import { openTestStore } from './test-store.js';

const keepAlive: unknown[] = [];

describe('tickets caches', () => {
  let db: ReturnType<typeof openTestStore>;
  let service: TicketsService;
  const now = 1_700_000_000_000;
  const key = crypto.randomBytes(32);
  const pay = (pid: string, amount: bigint, txid = `tx-${pid}-${amount}`) =>
    db.store.transaction(() => db.store.recordPayment({ source: 'tally', txid, pid: tallyMemoTag(pid), amount, height: 1 }, 0n, now));

  beforeEach(() => {
    db = openTestStore({ rows: 100, misses: 50 });
    service = new TicketsService(db.store, validateTicketsConfig({}), 6, key, () => now);
  });
  afterEach(() => db.close());

  async function paidToken(amount = 3_000_000n): Promise<{ pid: string; token: string }> {
    const pid = newPid();
    pay(pid, amount);
    return { pid, token: (await service.redeem(pid)).token! };
  }

  it('a cached token is shown revoked right after it is revoked, by token or by hash', async () => {
    const a = await paidToken();
    const b = await paidToken();
    db.store.applyClaims(10); // out of the claim log, into the token table and its cache
    assert.equal((await service.introspect(a.token)).status, 'active');
    assert.equal((await service.introspect(a.token)).status, 'active', 'now served from the cache');
    assert.equal(db.store.cacheSizes().tokens >= 1, true);
    await service.revoke(a.token, 'abuse');
    assert.equal((await service.introspect(a.token)).status, 'revoked');
    await service.introspect(b.token);
    const hash = (await (await service.listTokens({ status: 'active' }))).tokens[0]!.hash;
    await service.revokeByHash(hash, 'abuse');
    assert.equal((await service.introspect(b.token)).status, 'revoked');
  });

  it('a revoke that lands while a first introspection waits for its commit is in its answer', async () => {
    const a = await paidToken();
    const pending = service.introspect(a.token);
    await service.revoke(a.token, 'abuse');
    assert.equal((await pending).status, 'revoked');
  });

  it('a spend and a top-up change the balance introspection shows at once', async () => {
    const { pid, token } = await paidToken();
    assert.equal((await service.introspect(token)).balance, '3');
    await service.spend(token, '1.5');
    assert.equal((await service.introspect(token)).balance, '1.5');
    pay(pid, 2_000_000n, 'top-up');
    assert.equal((await service.introspect(token)).balance, '3.5');
  });

  it('an unknown PID, once paid, redeems: the payment drops its negative entry', async () => {
    const pid = newPid();
    await assert.rejects(service.redeem(pid), { code: 'payment_not_found' });
    await assert.rejects(service.redeem(pid), { code: 'payment_not_found' }, 'now served from the negative cache');
    assert.ok(db.store.cacheSizes().misses >= 1);
    pay(pid, 1_000_000n);
    assert.equal((await service.redeem(pid)).status, 'success');
  });

  it('a token asked for before it was issued is found once it is: the claim drops its negative entry', async () => {
    const pid = newPid();
    const token = tokenFor(key, pid);
    await assert.rejects(service.introspect(token), { code: 'token_not_found' });
    await assert.rejects(service.introspect(token), { code: 'token_not_found' });
    pay(pid, 1_000_000n);
    assert.equal((await service.redeem(pid)).token, token);
    assert.equal((await service.introspect(token)).status, 'active');
    db.store.applyClaims(10);
    assert.equal((await service.introspect(token)).balance, '1');
  });

  it('a token first presented while its claim waits in the log is marked on the log row, across a reopen, and applied with it', async () => {
    const { token } = await paidToken();
    assert.equal(db.store.cacheSizes().claimsPending, 1);
    await service.introspect(token);
    assert.equal(db.store.cacheSizes().claimsPending, 1, 'the claim is not applied for the mark');
    const logged = db.sqlite.db.prepare('SELECT used_at FROM tickets_claims').all() as Array<{ used_at: number }>;
    assert.deepEqual(logged.map((r) => r.used_at), [now]);
    const hash = tokenHash(token);
    const reopened = new TicketsStore(db.sqlite.db);
    assert.equal(reopened.token(hash)!.used_at, now, 'read back from the log after a restart');
    reopened.applyClaims(10);
    const row = db.sqlite.db.prepare('SELECT used_at FROM tickets_tokens WHERE hash = ?').get(hash) as { used_at: number };
    assert.equal(row.used_at, now);
    assert.equal(reopened.token(hash)!.used_at, now);
  });

  it('a mark on a log row that rolls back is undone in memory too', async () => {
    const { token } = await paidToken();
    const hash = tokenHash(token);
    assert.throws(() => db.store.transaction(() => {
      db.store.markUsed(hash, now);
      assert.equal(db.store.token(hash)!.used_at, now);
      throw new Error('abort');
    }), /abort/);
    assert.equal(db.store.token(hash)!.used_at, null);
  });

  it('a rolled-back write leaves nothing in the caches', async () => {
    const pid = newPid();
    assert.equal(db.store.pid(tallyMemoTag(pid)), undefined);
    assert.throws(() => db.store.transaction(() => {
      db.store.recordPayment({ source: 'tally', txid: 't', pid: tallyMemoTag(pid), amount: 5n, height: 1 }, 0n, now);
      assert.equal(db.store.pid(tallyMemoTag(pid))?.credited, '5', 'seen inside the transaction');
      throw new Error('abort');
    }), /abort/);
    assert.equal(db.store.pid(tallyMemoTag(pid)), undefined);
  });

  it('a flood of random PIDs and tokens keeps the negative cache at its bound and evicts no real token', async () => {
    const real = await paidToken();
    await service.introspect(real.token);
    const tokensBefore = db.store.cacheSizes().tokens;
    for (let i = 0; i < 400; i++) {
      await assert.rejects(service.redeem(newPid()), { code: 'payment_not_found' });
      await assert.rejects(service.introspect(crypto.randomBytes(32).toString('hex')), { code: 'token_not_found' });
    }
    const sizes = db.store.cacheSizes();
    assert.ok(sizes.misses >= 25 && sizes.misses <= 50, `${sizes.misses} misses kept: within the bound`);
    assert.ok(sizes.misses + sizes.missEvictions >= 1200, 'two keys per redeem (PID, memo tag), one per token: the rest evicted');
    assert.equal(sizes.tokens, tokensBefore, 'misses live apart from the rows');
    assert.equal((await service.introspect(real.token)).status, 'active');
  });
});

describe('tickets group commit', () => {
  let db: ReturnType<typeof openTestStore>;
  let service: TicketsService;
  const now = 1_700_000_000_000;
  beforeEach(() => {
    db = openTestStore();
    service = new TicketsService(db.store, validateTicketsConfig({}), 6, crypto.randomBytes(32), () => now);
  });
  afterEach(() => db.close());
  const pay = (pid: string) => db.store.transaction(() => db.store.recordPayment({ source: 'tally', txid: `tx-${pid}`, pid: tallyMemoTag(pid), amount: 1_000_000n, height: 1 }, 0n, now));
  const tokenCount = () => {
    const s = db.sqlite.db.prepare('SELECT (SELECT count(*) FROM tickets_tokens) + (SELECT count(*) FROM tickets_claims) AS n');
    keepAlive.push(s);
    return (s.get() as { n: number }).n;
  };

  it('64 concurrent redeems of one PID give one token, in one commit', async () => {
    const pid = newPid();
    pay(pid);
    const answers = await Promise.all(Array.from({ length: 64 }, () => service.redeem(pid)));
    assert.equal(answers.filter((a) => a.status === 'success').length, 1);
    assert.equal(new Set(answers.map((a) => a.token)).size, 1, 'the same token to everyone within the grace period');
    assert.equal(tokenCount(), 1);
    assert.equal(service.commits!.batches, 1);
  });

  it('redeems of many PIDs at once share few commits, and each answer is already on disk', async () => {
    const pids = Array.from({ length: 300 }, () => newPid());
    pids.forEach(pay);
    const answers = await Promise.all(pids.flatMap((pid) => [service.redeem(pid), service.redeem(pid)]));
    assert.equal(answers.filter((a) => a.status === 'success').length, 300);
    assert.ok(service.commits!.batches <= 3, `${service.commits!.batches} commits for 600 redeems`);
    // A second connection sees every claim: they were committed before the answers.
    const other = SqliteStore.open({ dbPath: path.join(db.dir, 'tally.db'), keyPath: path.join(db.dir, 'db.key') });
    try {
      const s = other.db.prepare('SELECT count(DISTINCT pid) AS n FROM tickets_claims');
      keepAlive.push(s);
      assert.equal((s.get() as { n: number }).n, 300);
    } finally {
      other.close();
    }
  });

  it('a top-up that lands between a redeem and its commit is in the token', async () => {
    const pid = newPid();
    pay(pid);
    const pending = service.redeem(pid);
    db.store.transaction(() => db.store.recordPayment({ source: 'tally', txid: 'top-up', pid: tallyMemoTag(pid), amount: 500_000n, height: 2 }, 0n, now));
    assert.equal((await pending).balance, '1.5');
  });

  it('claims in the log survive a restart, show as tokens, and settle before any other write', async () => {
    const [a, b, c] = [newPid(), newPid(), newPid()];
    [a, b, c].forEach(pay);
    const ta = (await service.redeem(a)).token!;
    const tb = (await service.redeem(b)).token!;
    await service.redeem(c);
    assert.equal(db.store.cacheSizes().claimsPending, 3);
    // A new store on the same database (a restart) reads the log back.
    const store = new TicketsStore(db.sqlite.db);
    const restarted = new TicketsService(store, validateTicketsConfig({}), 6, crypto.randomBytes(32), () => now);
    assert.equal(store.cacheSizes().claimsPending, 3);
    assert.equal((await restarted.redeem(a)).status, 'already_claimed');
    assert.equal((await restarted.listTokens({})).tokens.length, 3, 'the operator\'s list shows claimed tokens');
    assert.equal((await restarted.introspect(ta)).status, 'active');
    assert.equal((await restarted.revoke(tb, 'abuse')).status, 'revoked');
    assert.equal((await restarted.spend(ta, '0.25')).balance, '0.75');
    assert.equal(store.cacheSizes().claimsPending, 1, 'introspect (first use), revoke and spend applied their claims');
    assert.equal(store.applyClaims(100), 1);
    assert.equal(tokenCount(), 3);
    assert.equal((await restarted.listTokens({ status: 'revoked' })).tokens.length, 1);
  });

  it('the applier empties the log once redeems pause', async () => {
    const pids = Array.from({ length: 200 }, () => newPid());
    pids.forEach(pay);
    await Promise.all(pids.map((pid) => service.redeem(pid)));
    assert.equal(db.store.cacheSizes().claimsPending, 200);
    const stop = service.startClaimApplier();
    try {
      for (let waited = 0; db.store.cacheSizes().claimsPending > 0 && waited < 20_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    } finally {
      stop();
    }
    assert.equal(db.store.cacheSizes().claimsPending, 0);
    assert.equal(tokenCount(), 200);
    const s = db.sqlite.db.prepare('SELECT count(*) AS n FROM tickets_claims');
    keepAlive.push(s);
    assert.equal((s.get() as { n: number }).n, 0, 'applied claims leave the log');
  });

  it('a claim in a transaction that rolls back is forgotten', async () => {
    const pid = newPid();
    pay(pid);
    assert.throws(() => db.store.transaction(() => {
      assert.equal(db.store.claim(tallyMemoTag(pid), crypto.randomBytes(32), 'tally', 1n, now), true);
      throw new Error('abort');
    }), /abort/);
    assert.equal(db.store.cacheSizes().claimsPending, 0);
    assert.equal(db.store.pid(tallyMemoTag(pid))!.token_hash, null);
  });

  it('a write that throws fails alone; a failed commit fails its whole batch', async () => {
    const g = new GroupCommit((fn) => db.store.transaction(fn));
    const results = await Promise.allSettled([g.run(() => 1), g.run(() => { throw new Error('bad write'); }), g.run(() => 3)]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    let calls = 0;
    const failing = new GroupCommit(<T>(fn: () => T): T => {
      if (calls++ === 0) {
        fn();
        throw new Error('disk full');
      }
      return fn();
    });
    const all = await Promise.allSettled([failing.run(() => 1), failing.run(() => 2)]);
    assert.deepEqual(all.map((r) => r.status), ['rejected', 'rejected']);
  });
});
