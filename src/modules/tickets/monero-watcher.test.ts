// The Monero watcher against a fake monero-wallet-rpc (a chain of blocks in memory that
// answers get_height, get_transfers and get_transfer_by_txid with the wallet's semantics:
// min_height exclusive, max_height inclusive). The real wallet is in test/tickets-monero.test.ts.
import crypto from 'node:crypto';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TallyError } from '../../core/errors.js';
import { validateTicketsConfig, type MoneroSourceConfig } from './config.js';
import type { MoneroRpc, WalletTransfer } from './monero-rpc.js';
import { MoneroWatcher } from './monero-watcher.js';
import { cleanupPg, freshPgSchema, pgMissing } from '../../../test/pg.js';
import { SqliteTicketsBackend, type TicketsBackend } from './backend.js';
import { openPgTickets } from './pg-store.js';
import { TicketsService } from './service.js';
import { openTestStore } from './test-store.js';

after(cleanupPg);
const pgSkip = await pgMissing();

/** The tickets tables on `kind`, fresh; close() drops them. */
async function openBackend(kind: 'sqlite' | 'postgres'): Promise<{ backend: TicketsBackend; close(): Promise<void> }> {
  if (kind === 'sqlite') {
    const db = openTestStore();
    return { backend: new SqliteTicketsBackend(db.store), close: async () => db.close() };
  }
  const schema = await freshPgSchema();
  process.env.TALLY_TEST_MONERO_PG = schema.url;
  const backend = openPgTickets({ urlEnv: 'TALLY_TEST_MONERO_PG' }, { max: 2 });
  await backend.ready;
  return { backend, close: async () => { await backend.close(); await schema.drop(); } };
}

const ADDRESS = '48x17EqCtMiBw6HAJ7gvN35PLyz5Qmc4hKJpGE6H4AcDJGaynnMUxXndoty3ZXMqPcFQBvBEUigDKannW84ZR4wHFmvMr7K';
const XMR = 1_000_000_000_000;
const PID_A = 'aaaaaaaaaaaaaaaa';
const PID_B = 'bbbbbbbbbbbbbbbb';

class FakeWallet implements MoneroRpc {
  /** block count; the top block is height - 1 */
  height = 1;
  txs = new Map<string, WalletTransfer>();
  pool: WalletTransfer[] = [];
  calls: Array<{ method: string; params: Record<string, unknown> }> = [];

  pay(txid: string, pid: string, amount: number): void {
    this.txs.set(txid, { txid, payment_id: pid, amount, height: this.height, type: 'in' });
  }

  mine(n = 1): number {
    this.height += n;
    return this.height;
  }

  async call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    this.calls.push({ method, params });
    switch (method) {
      case 'refresh': return {} as T;
      case 'get_height': return { height: this.height } as T;
      case 'get_transfers': {
        const lo = params.min_height as number;
        const hi = params.max_height as number;
        assert.equal(params.in, true);
        assert.equal(params.filter_by_height, true);
        const inRange = [...this.txs.values()].filter((t) => t.height > lo && t.height <= hi && t.height < this.height);
        return { in: inRange.length ? inRange : undefined, pool: params.pool && this.pool.length ? this.pool : undefined } as T;
      }
      case 'get_transfer_by_txid': {
        const t = this.txs.get(params.txid as string);
        if (!t) throw new TallyError('monero_rpc_error', 'Transaction not found. (-8)');
        return { transfer: t } as T;
      }
      default: throw new Error(`unexpected RPC ${method}`);
    }
  }

  /** The crediting scans: get_transfers without pool, whose min is the watcher's cursor. */
  scans(): Array<[number, number]> {
    return this.calls.filter((c) => c.method === 'get_transfers' && !c.params.pool).map((c) => [c.params.min_height as number, c.params.max_height as number]);
  }
}

function moneroConfig(extra: Record<string, unknown> = {}): MoneroSourceConfig {
  return validateTicketsConfig({ monero: { address: ADDRESS, confirmations: 3, minAmount: '0.01', reorgWindow: 0, refresh: false, ...extra } }).monero!;
}

for (const [kind, skip] of [['sqlite', undefined], ['postgres', pgSkip]] as const) describe(`Monero watcher (fake wallet RPC) on ${kind}`, { skip }, () => {
  let db: Awaited<ReturnType<typeof openBackend>>;
  let wallet: FakeWallet;
  let service: TicketsService;
  const now = 1_000_000;

  beforeEach(async () => {
    db = await openBackend(kind);
    wallet = new FakeWallet();
    service = new TicketsService(db.backend, validateTicketsConfig({}), 6, crypto.randomBytes(32), () => now);
  });
  afterEach(() => db.close());

  const pidRow = async (pid: string) => (await db.backend.pidPair(pid, pid))[0];
  const credited = async (pid: string) => (await pidRow(pid))?.credited ?? '0';

  it('credits after exactly `confirmations` blocks and reads each block once, in order', async () => {
    const w = new MoneroWatcher(service, wallet, moneroConfig({ confirmations: 3 }));
    wallet.mine(5);
    wallet.pay('t1', PID_A, 2 * XMR); // in block 6
    wallet.mine(1); // H = 7: 1 confirmation
    await w.pollOnce();
    await assert.rejects(service.redeem(PID_A), { code: 'payment_unconfirmed', details: { confirmationsLeft: 2 } });
    wallet.mine(1); // 2 confirmations
    await w.pollOnce();
    await assert.rejects(service.redeem(PID_A), { code: 'payment_unconfirmed', details: { confirmationsLeft: 1 } });
    assert.equal(await credited(PID_A), '0');
    wallet.mine(1); // 3 confirmations: H - h = 9 - 6
    await w.pollOnce();
    assert.equal(await credited(PID_A), String(2 * XMR));
    assert.equal((await service.redeem(PID_A)).balance, '2');
    for (let i = 0; i < 7; i++) {
      wallet.mine(i % 3); // sometimes no new block at all
      await w.pollOnce();
    }
    // Each scan starts where the previous ended (min exclusive, max inclusive): no gap, no overlap.
    const scans = wallet.scans();
    assert.equal(scans[0]![0], 0);
    for (let i = 1; i < scans.length; i++) assert.equal(scans[i]![0], scans[i - 1]![1], `scan ${i} starts at the previous end`);
    for (const [lo, hi] of scans) assert.ok(hi > lo && hi <= wallet.height - 3);
    assert.equal((await db.backend.cursor('monero')), wallet.height - 3);
  });

  it('never credits the all-zero PID; adds up repeated payments; records dust', async () => {
    const w = new MoneroWatcher(service, wallet, moneroConfig({ confirmations: 1 }));
    wallet.pay('t0', '0000000000000000', 5 * XMR);
    wallet.pay('t1', PID_A, XMR);
    wallet.mine();
    wallet.pay('t2', PID_A, XMR / 2);
    wallet.pay('t3', PID_B, XMR / 1000); // below minAmount 0.01
    wallet.mine();
    await w.pollOnce();
    assert.equal((await pidRow('0000000000000000')), undefined);
    assert.equal(service.stats.paymentsNoPid.get('monero'), 1);
    assert.equal(await credited(PID_A), String(1.5 * XMR));
    assert.equal(await credited(PID_B), '0');
    assert.equal((await pidRow(PID_B))!.dust, String(XMR / 1000));
    await assert.rejects(service.redeem(PID_B), { code: 'payment_not_found', details: { dust: '0.001' } });
    await assert.rejects(service.redeem('0000000000000000'), { code: 'invalid_pid' });
  });

  it('does not credit a payment whose sender set an unlock time', async () => {
    const w = new MoneroWatcher(service, wallet, moneroConfig({ confirmations: 1, reorgWindow: 5 }));
    wallet.pay('t1', PID_A, XMR);
    wallet.txs.get('t1')!.unlock_time = 1_000_000;
    wallet.mine(2);
    await w.pollOnce();
    wallet.mine();
    await w.pollOnce(); // the rescan window sees it again: still not credited, counted once
    assert.equal(await credited(PID_A), '0');
    assert.equal(service.stats.paymentsLocked.get('monero'), 1);
  });

  it('resumes from its cursor after a restart without crediting twice', async () => {
    const cfg = moneroConfig({ confirmations: 2 });
    wallet.pay('t1', PID_A, XMR);
    wallet.mine(3);
    await new MoneroWatcher(service, wallet, cfg).pollOnce();
    const cursor = (await db.backend.cursor('monero'))!;
    wallet.pay('t2', PID_A, XMR);
    wallet.mine(4);
    wallet.calls = [];
    const again = new MoneroWatcher(service, wallet, cfg); // a new process: only the database is shared
    await again.pollOnce();
    assert.equal(wallet.scans()[0]![0], cursor);
    await again.pollOnce();
    assert.equal(await credited(PID_A), String(2 * XMR));
    assert.equal(service.stats.paymentsCredited.get('monero'), 2);
  });

  it('takes back the credit of a payment that vanished before redeem; re-credits it when it returns', async () => {
    const w = new MoneroWatcher(service, wallet, moneroConfig({ confirmations: 1, reorgWindow: 10 }));
    wallet.mine(3);
    wallet.pay('t1', PID_A, XMR);
    wallet.mine(2);
    await w.pollOnce();
    assert.equal(await credited(PID_A), String(XMR));
    // A reorg drops it.
    const t1 = wallet.txs.get('t1')!;
    wallet.txs.delete('t1');
    wallet.mine();
    await w.pollOnce();
    assert.equal(await credited(PID_A), '0');
    assert.equal((await db.backend.payment('monero', 't1'))!.status, 'vanished');
    await assert.rejects(service.redeem(PID_A), { code: 'payment_not_found' });
    // ...and it is mined again, higher up.
    wallet.txs.set('t1', { ...t1, height: wallet.height });
    wallet.mine();
    await w.pollOnce();
    assert.equal(await credited(PID_A), String(XMR));
    assert.equal((await db.backend.payment('monero', 't1'))!.status, 'credited');
    assert.equal((await db.backend.payment('monero', 't1'))!.height, wallet.height - 1);
  });

  it('moves a payment re-mined at another height inside the window; never double-credits', async () => {
    const w = new MoneroWatcher(service, wallet, moneroConfig({ confirmations: 1, reorgWindow: 10 }));
    wallet.mine(3);
    wallet.pay('t1', PID_A, XMR);
    wallet.mine(4);
    await w.pollOnce();
    wallet.txs.get('t1')!.height -= 1; // the reorg put it one block lower
    wallet.mine();
    await w.pollOnce();
    wallet.mine();
    await w.pollOnce();
    assert.equal((await db.backend.payment('monero', 't1'))!.height, 3);
    assert.equal(await credited(PID_A), String(XMR));
    assert.equal(service.stats.paymentsCredited.get('monero'), 1);
  });

  it('after redeem, a vanished payment leaves the token alone and is counted for the operator', async () => {
    const w = new MoneroWatcher(service, wallet, moneroConfig({ confirmations: 1, reorgWindow: 10 }));
    wallet.pay('t1', PID_A, XMR);
    wallet.mine(2);
    await w.pollOnce();
    const { token } = await service.redeem(PID_A);
    wallet.txs.delete('t1');
    wallet.mine();
    await w.pollOnce();
    assert.equal((await service.introspect(token)).balance, '1');
    assert.equal((await db.backend.payment('monero', 't1'))!.status, 'vanished');
    assert.equal(service.stats.paymentsVanished.get('monero_after_redeem'), 1);
  });

  it('a top-up of a redeemed PID goes to its token', async () => {
    const w = new MoneroWatcher(service, wallet, moneroConfig({ confirmations: 1 }));
    wallet.pay('t1', PID_A, XMR);
    wallet.mine();
    await w.pollOnce();
    const { token } = await service.redeem(PID_A);
    wallet.pay('t2', PID_A, XMR / 4);
    wallet.mine();
    await w.pollOnce();
    assert.equal((await service.introspect(token)).balance, '1.25');
  });
});
