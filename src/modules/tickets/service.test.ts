// Redeem, introspect, spend and revoke on a real encrypted store, with a fake clock.
import crypto from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateTicketsConfig } from './config.js';
import { newPid, tallyMemoTag, tokenHash } from './pid.js';
import { TicketsService } from './service.js';
import { openTestStore } from './test-store.js';

const keepAlive: unknown[] = [];

describe('tickets service', () => {
  let db: ReturnType<typeof openTestStore>;
  let service: TicketsService;
  let now = 1_700_000_000_000;
  const key = crypto.randomBytes(32);
  const pay = (pid: string, amount: bigint, txid = `tx-${pid}-${amount}`) =>
    db.store.transaction(() => db.store.recordPayment({ source: 'tally', txid, pid: tallyMemoTag(pid), amount, height: 1 }, 0n, now));

  beforeEach(() => {
    db = openTestStore();
    service = new TicketsService(db.store, validateTicketsConfig({ redeemGraceSecs: 600 }), 6, key, () => now);
  });
  afterEach(() => db.close());

  it('already_claimed gives the same token back until it is first presented, then only within the grace period', async () => {
    const pid = newPid();
    pay(pid, 12_500_000n);
    const first = await service.redeem(pid);
    assert.equal(first.status, 'success');
    assert.match(first.token!, /^[0-9a-f]{64}$/);
    assert.equal(first.balance, '12.5');
    now += 599_000;
    const retry = await service.redeem(pid);
    assert.deepEqual([retry.status, retry.token, retry.balance], ['already_claimed', first.token, '12.5']);
    now += 1_000; // exactly redeemGraceSecs after the first redeem: the token was never presented, so it may not have arrived
    assert.equal((await service.redeem(pid)).token, first.token);
    await service.introspect(first.token); // it has reached whoever uses it
    const late = await service.redeem(pid);
    assert.equal(late.status, 'already_claimed');
    assert.equal(late.token, undefined);
    assert.equal(late.balance, undefined, 'after first use and the grace period the PID reveals nothing about the token');
    assert.equal(service.stats.redeems.get('success'), 1);
    assert.equal(service.stats.redeems.get('already_claimed'), 3);
  });

  it('handing a token out again resets nothing: the spent balance stays spent, a revoked token stays revoked', async () => {
    const pid = newPid();
    pay(pid, 5_000_000n);
    const { token } = await service.redeem(pid);
    await service.spend(token, '2');
    assert.deepEqual([(await service.redeem(pid)).token, (await service.redeem(pid)).balance], [token, '3']);
    await service.revoke(token, 'abuse');
    const again = await service.redeem(pid);
    assert.deepEqual([again.status, again.token, again.balance], ['already_claimed', token, '3']);
    assert.equal((await service.introspect(token)).status, 'revoked');
    await assert.rejects(service.spend(token, '1'), { code: 'token_revoked' });
  });

  it('a token made from another node secret (or a random one from before) is not handed out again', async () => {
    const pid = newPid();
    pay(pid, 1_000_000n);
    await service.redeem(pid);
    const otherKey = new TicketsService(db.store, validateTicketsConfig({ redeemGraceSecs: 600 }), 6, crypto.randomBytes(32), () => now);
    const r = await otherKey.redeem(pid);
    assert.deepEqual([r.status, r.token, r.balance], ['already_claimed', undefined, undefined]);
  });

  it('a crash after the claim commits strands nothing: after a restart the PID gets the same token and balance', async () => {
    const pid = newPid();
    pay(pid, 3_000_000n);
    const lost = await service.redeem(pid); // committed on disk; the answer never reached the payer
    const restarted = new TicketsService(db.store, validateTicketsConfig({ redeemGraceSecs: 600 }), 6, key, () => now);
    const again = await restarted.redeem(pid);
    assert.deepEqual([again.status, again.token, again.balance, again.source], ['already_claimed', lost.token, '3', 'tally']);
  });

  it('refuses malformed PIDs with invalid_pid and unknown ones with payment_not_found', async () => {
    for (const bad of ['', 'abc', '0123456789ABCDEF', '0123456789abcdef0', '0000000000000000', 42, null, { pid: 1 }, undefined]) {
      await assert.rejects(service.redeem(bad), { code: 'invalid_pid', status: 400 }, String(bad));
    }
    await assert.rejects(service.redeem(newPid()), { code: 'payment_not_found', status: 404 });
    assert.equal(service.stats.redeems.get('invalid_pid'), 9);
  });

  it('stores tokens only as their SHA-256: no table holds the token', async () => {
    const pid = newPid();
    pay(pid, 1_000_000n);
    const { token } = await service.redeem(pid);
    const rows = ['tickets_pids', 'tickets_payments', 'tickets_tokens', 'tickets_cursors', 'tickets_claims'].flatMap((t) => {
      const stmt = db.sqlite.db.prepare(`SELECT * FROM ${t}`);
      keepAlive.push(stmt); // Node 24: see src/store/sqlite.ts
      return stmt.all() as Array<Record<string, unknown>>;
    });
    const dump = rows.flatMap((r) => Object.values(r).map((v) => (Buffer.isBuffer(v) ? v.toString('hex') : String(v)))).join(' ');
    assert.ok(!dump.includes(token!), 'the token is not in the database');
    assert.ok(dump.includes(tokenHash(token!).toString('hex')), 'its hash is');
  });

  it('introspects, spends never below zero, revokes for good', async () => {
    const pid = newPid();
    pay(pid, 3_000_000n);
    const { token } = await service.redeem(pid);
    assert.deepEqual({ ...await service.introspect(token), issued_at: 'x' }, { status: 'active', source: 'tally', balance: '3', spent: '0', issued_at: 'x', revoked_at: null });
    assert.equal((await service.spend(token, '1.25')).balance, '1.75');
    await assert.rejects(service.spend(token, '2'), { code: 'insufficient_balance', status: 409, details: { balance: '1.75' } });
    await assert.rejects(service.spend(token, '-1'), { code: 'amount_negative' });
    await assert.rejects(service.spend(token, 1), { code: 'amount_not_string' });
    await assert.rejects(service.spend(token, '0'), { code: 'amount_zero' });
    assert.equal((await service.introspect(token)).balance, '1.75');
    await assert.rejects(service.revoke(token, ''), { code: 'reason_invalid' });
    await assert.rejects(service.revoke(token, 'x'.repeat(257)), { code: 'reason_invalid' });
    const revoked = await service.revoke(token, 'chargeback');
    assert.equal(revoked.status, 'revoked');
    assert.equal(revoked.revoke_reason, 'chargeback');
    now += 5000;
    assert.equal((await service.revoke(token, 'again')).revoked_at, revoked.revoked_at, 'revoking again keeps the first revocation');
    await assert.rejects(service.spend(token, '1'), { code: 'token_revoked', status: 410 });
    await assert.rejects(service.introspect('ab'.repeat(31)), { code: 'invalid_token', status: 400 });
    await assert.rejects(service.introspect('ab'.repeat(32)), { code: 'token_not_found', status: 404 });
    assert.equal(service.stats.tokenChecks.get('token_not_found'), 1);
  });

  it('a PID first paid on one source does not add payments from the other', async () => {
    const pid = newPid();
    pay(pid, 1_000_000n);
    const r = db.store.transaction(() => db.store.recordPayment({ source: 'monero', txid: 'm1', pid: tallyMemoTag(pid), amount: 10n ** 12n, height: 5 }, 0n, now));
    assert.equal(r, 'conflict');
    assert.equal((await service.redeem(pid)).balance, '1');
  });

  it('one PID, one token: Monero dust, a Tally redeem, then a real Monero payment give no second token', async () => {
    const pid = newPid();
    const monero = (txid: string, amount: bigint) =>
      db.store.transaction(() => db.store.recordPayment({ source: 'monero', txid, pid, amount, height: 7 }, 1_000n, now));
    assert.equal(monero('m-dust', 10n), 'dust');
    pay(pid, 4_000_000n);
    const first = await service.redeem(pid);
    assert.deepEqual([first.status, first.source, first.balance], ['success', 'tally', '4']);
    assert.equal(monero('m-real', 5n * 10n ** 12n), 'conflict', 'a payment that cannot reach a token is not credited');
    const again = await service.redeem(pid);
    assert.equal(again.status, 'already_claimed', 'the PID was redeemed once already');
    assert.equal(again.token, first.token);
    db.store.applyClaims(Infinity);
    const tokens = db.sqlite.db.prepare('SELECT count(*) AS n FROM tickets_tokens');
    keepAlive.push(tokens);
    assert.equal((tokens.get() as { n: number }).n, 1);
    assert.equal((await service.paymentStatus(pid)).claimed, true);
  });

  it('a Tally payment is redeemed with its PID, never with the public memo tag', async () => {
    const pid = newPid();
    pay(pid, 2_000_000n);
    await assert.rejects(service.redeem(tallyMemoTag(pid)), { code: 'payment_not_found' });
    assert.equal((await service.redeem(pid)).status, 'success');
  });
});

describe('tickets config', () => {
  it('fills in defaults and names the option that is wrong', async () => {
    const c = validateTicketsConfig({ tally: { account: 'shop' } });
    assert.deepEqual(c, {
      store: 'sqlite', poolMax: 8, redeemGraceSecs: 600, publicSocket: null, rateLimit: { redeemPerMin: 60, introspectPerMin: 600 },
      tally: { account: 'shop', minAmount: '0', price: null, startHeight: 0 }, monero: null,
    });
    assert.throws(() => validateTicketsConfig({ store: 'mysql' }), { code: 'config_invalid', message: /tickets.store/ });
    assert.throws(() => validateTicketsConfig({ urlFile: 'pg.url' }), { code: 'config_invalid', message: /store/ });
    assert.equal(validateTicketsConfig({ store: 'postgres', urlFile: 'pg.url' }).urlFile, 'pg.url');
    assert.throws(() => validateTicketsConfig({ redeemGraceSecs: -1 }), { code: 'config_invalid', message: /tickets.redeemGraceSecs/ });
    assert.throws(() => validateTicketsConfig({ tally: { account: 'Shop' } }), { code: 'config_invalid', message: /tickets.tally.account/ });
    assert.throws(() => validateTicketsConfig({ monero: { address: 'x' } }), { code: 'config_invalid', message: /tickets.monero.address/ });
    assert.throws(() => validateTicketsConfig({ monero: { address: '4'.repeat(95) } }), { code: 'config_invalid', message: /tickets.monero.address/ });
    // A valid address, so the refusal is about the confirmations.
    const address = '48x17EqCtMiBw6HAJ7gvN35PLyz5Qmc4hKJpGE6H4AcDJGaynnMUxXndoty3ZXMqPcFQBvBEUigDKannW84ZR4wHFmvMr7K';
    assert.throws(() => validateTicketsConfig({ monero: { address, confirmations: 0 } }), { code: 'config_invalid', message: /tickets.monero.confirmations/ });
    assert.throws(() => validateTicketsConfig({ tally: { account: 'shop', minAmount: 1 } }), { code: 'config_invalid', message: /tickets.tally.minAmount/ });
    assert.throws(() => validateTicketsConfig({ tally: { account: 'shop', minAmount: '1', price: '0.5' } }), { code: 'config_invalid', message: /tickets.tally.price .* below/ });
    assert.throws(() => validateTicketsConfig({ monero: { address, price: '0.00001' } }), { code: 'config_invalid', message: /tickets.monero.price .* below/ });
    assert.equal(validateTicketsConfig({ monero: { address, price: '0.5' } }).monero?.price, '0.5');
    assert.throws(() => validateTicketsConfig({ colour: 'red' }), { code: 'config_invalid', message: /tickets\.colour is not a known field/ });
  });
});
