import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { errorCode } from '../../core/testing.js';
import type { IndexedTx } from '../../chain/app-module.js';
import { createDatabaseKey } from '../../store/keyfile.js';
import { SqliteStore, txSeq, type TxRow } from '../../store/sqlite.js';
import { AUDIT_PAGE_ROWS, AuditTotals } from './audit.js';
import { ledgerIndexer, ledgerMigrations } from './history.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

/** A store with the ledger history index (merging every 300 rows, so merges happen mid-test). */
function ledgerStore() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-audit-'));
  createDatabaseKey(path.join(dir, 'db.key'));
  const store = SqliteStore.open({ dbPath: path.join(dir, 'tally.db'), keyPath: path.join(dir, 'db.key'), create: true, synchronous: 'NORMAL' });
  store.migrate('ledger', ledgerMigrations);
  const indexer = ledgerIndexer(store, 300);
  let height = 0;
  /** Net of every transfer committed so far, by account (the brute-force answer). */
  const expected = new Map<string, bigint>();
  const commit = (transfers: Array<[string, string, number]>) => {
    const h = ++height;
    const rows: TxRow[] = [];
    const indexed: IndexedTx[] = [];
    transfers.forEach(([from, to, minor], i) => {
      const events = [{ type: 'ledger.transfer', from, to, amount: `0.${String(minor).padStart(6, '0')}` }];
      const id = crypto.randomBytes(32);
      rows.push({ id, height: h, idx: i, sender: from, type: 'ledger.send', env: '{}', status: 'ok', code: null, events: JSON.stringify(events) });
      indexed.push({ seq: txSeq(h, i), id: id.toString('hex'), tx: { chain: 'c', type: 'ledger.send', from, nonce: 0, expires: 0, body: {} },
        receipt: { id: id.toString('hex'), height: h, index: i, status: 'ok', events } });
      expected.set(from, (expected.get(from) ?? 0n) - BigInt(minor));
      expected.set(to, (expected.get(to) ?? 0n) + BigInt(minor));
    });
    store.commitBlock({ block: { height: h, hash: crypto.randomBytes(32).toString('hex'), header: '{}', sig: 's' }, txs: rows, writes: new Map(), also: () => indexer.index({ height: h, timeMs: h }, indexed) });
    indexer.committed!();
  };
  const block = (n: number, seed: number) => commit(Array.from({ length: n }, (_, i) => {
    const k = (seed * 31 + i * 7) % 3;
    return k === 0 ? [A, B, i + 1] : k === 1 ? [B, A, 2 * i + 3] : [A, C, 5];
  }));
  return { store, commit, block, expected, close: () => { store.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

test('the kept net equals the brute-force sum, while blocks keep committing between the pages of a catch-up', async () => {
  const s = ledgerStore();
  try {
    for (let h = 0; h < 12; h++) s.block(97, h); // ~1,160 rows: several pages, two merges
    const totals = new AuditTotals(s.store, 6);
    let committing = true;
    const writer = (async () => { for (let h = 100; committing && h < 140; h++) { s.block(13, h); await tick(); } })();
    await totals.catchUp(A);
    committing = false;
    await writer;
    assert.equal(totals.netNow(A), s.expected.get(A));
    // Later transfers in both directions, then audits again: only the new rows are read.
    s.commit([[B, A, 1], [A, C, 2], [C, A, 3]]);
    for (const acct of [A, B, C]) {
      await totals.catchUp(acct);
      assert.equal(totals.netNow(acct), s.expected.get(acct), acct);
    }
    assert.equal(new AuditTotals(s.store, 6).netNow(C), s.expected.get(C), 'a fresh one (no memory) agrees');
  } finally {
    s.close();
  }
});

test('a catch-up yields to the event loop between pages', async () => {
  const s = ledgerStore();
  try {
    for (let h = 0; h < 8; h++) s.block(AUDIT_PAGE_ROWS, h);
    let ticks = 0;
    let counting = true;
    const counter = (async () => { while (counting) { ticks++; await tick(); } })();
    await new AuditTotals(s.store, 6).catchUp(A);
    counting = false;
    await counter;
    assert.ok(ticks >= 4, `the event loop ran ${ticks} times during the catch-up of ${8 * AUDIT_PAGE_ROWS} rows`);
  } finally {
    s.close();
  }
});

test('accounts forgotten past the bound are recomputed exactly', async () => {
  const s = ledgerStore();
  try {
    const totals = new AuditTotals(s.store, 6, 1);
    for (let round = 0; round < 3; round++) {
      s.block(50, round);
      for (const acct of [A, B, C]) {
        await totals.catchUp(acct);
        assert.equal(totals.netNow(acct), s.expected.get(acct) ?? 0n, `round ${round} ${acct}`);
      }
    }
  } finally {
    s.close();
  }
});

test('one audit per account at a time: a second one meanwhile is audit_busy', async () => {
  const s = ledgerStore();
  try {
    const totals = new AuditTotals(s.store, 6);
    let release!: () => void;
    const first = totals.exclusive(A, () => new Promise<string>((r) => { release = () => r('done'); }));
    await assert.rejects(totals.exclusive(A, () => 'again'), (e: unknown) => errorCode(() => { throw e; }) === 'audit_busy');
    assert.equal(await totals.exclusive(B, () => 'other account'), 'other account');
    release();
    assert.equal(await first, 'done');
    assert.equal(await totals.exclusive(A, () => 'after'), 'after');
  } finally {
    s.close();
  }
});
