import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../core/canonical.js';
import { accountIdFromPub, generateSigner } from '../../core/keys.js';
import type { IndexedTx } from '../../chain/app-module.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabaseKey } from '../../store/keyfile.js';
import { SqliteStore } from '../../store/sqlite.js';
import { historyRows, ledgerIndexer, ledgerMigrations, participants } from './history.js';
import { inviteSignatureValid, makeInvite, parseInvite } from './invites.js';
import { accountKey, disputeKey, holdKey, ledgerInvariants, MINT_ID, type Dispute } from './state.js';
import { documentDigest, messageSignatureValid, signMessage } from './statements.js';
import { errorCode as code } from '../../core/testing.js';


const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

function dispute(status: Dispute['status'], hold: string): Dispute {
  return { id: 1, transfer: 'f'.repeat(64), from: A, to: B, amount: '50', openedBy: A, reason: 'r', opened: { height: 1, time: 0 }, status, seconds: [], hold };
}

/** State entries: accounts, disputes, and holds by owner (by default each account's `held` is the ledger's own). */
const entries = (accounts: Record<string, { balance: string; held?: string }>, disputes: Dispute[] = [], holds?: Array<[string, string, string]>): Array<[string, string]> => [
  ...Object.entries(accounts).map(([id, a]) => [accountKey(id), JSON.stringify({ name: id.slice(0, 4), created: 0, ...a })] as [string, string]),
  ...disputes.map((d) => [disputeKey(d.id), JSON.stringify(d)] as [string, string]),
  ...(holds ?? Object.entries(accounts).filter(([, a]) => a.held).map(([id, a]): [string, string, string] => [id, 'ledger', a.held!]))
    .map(([id, owner, amount]) => [holdKey(id, owner), JSON.stringify(amount)] as [string, string]),
];

test('ledger invariants: double entry, holds by owner add up, and the ledger\'s holds match open disputes', () => {
  assert.deepEqual(ledgerInvariants(entries({ [MINT_ID]: { balance: '-100' }, [A]: { balance: '60' }, [B]: { balance: '40', held: '30' } }, [dispute('open', '30')])), []);
  assert.deepEqual(ledgerInvariants(entries({ [MINT_ID]: { balance: '-100' }, [A]: { balance: '60' }, [B]: { balance: '40' } }, [dispute('reversed', '30')])), []);
  assert.match(ledgerInvariants(entries({ [MINT_ID]: { balance: '-100' }, [A]: { balance: '61' }, [B]: { balance: '40' } })).join(), /sum to 1 minor units/);
  assert.match(ledgerInvariants(entries({ [MINT_ID]: { balance: '-100' }, [A]: { balance: '60' }, [B]: { balance: '40', held: '30' } })).join(), /disputes hold 30, but its open disputes hold 0/);
  assert.match(ledgerInvariants(entries({ [MINT_ID]: { balance: '-100' }, [A]: { balance: '60' }, [B]: { balance: '40' } }, [dispute('escalated', '30')])).join(), /disputes hold 0, but its open disputes hold 30/);
  // A market's margin is not a dispute's hold: the totals add up by owner.
  const margin = { [MINT_ID]: { balance: '-100' }, [A]: { balance: '60', held: '10' }, [B]: { balance: '40', held: '30' } };
  assert.deepEqual(ledgerInvariants(entries(margin, [dispute('open', '30')], [[A, 'markets', '10'], [B, 'ledger', '30']])), []);
  assert.match(ledgerInvariants(entries(margin, [dispute('open', '30')], [[A, 'markets', '10'], [B, 'markets', '30']])).join(), /disputes hold 0, but its open disputes hold 30/);
  assert.match(ledgerInvariants(entries(margin, [dispute('open', '30')], [[B, 'ledger', '30']])).join(), /holds 10, but its holds by owner add up to 0/);
  assert.match(ledgerInvariants(entries({ [MINT_ID]: { balance: '-100' }, [A]: { balance: '80' }, [B]: { balance: '20', held: '30' } }, [dispute('open', '30')])).join(), /more than its balance/);
  assert.match(ledgerInvariants(entries({ [MINT_ID]: { balance: '100' }, [A]: { balance: '-100' } })).join(), /negative balance/);
});

test('invite codes: made, parsed and checked; malformed ones are invite_invalid', () => {
  const { signer } = generateSigner();
  const admin = accountIdFromPub(signer.pub);
  const { code: text, payload } = makeInvite('c1', admin, signer, 2_000_000_000);
  const invite = parseInvite(text);
  assert.deepEqual(invite.payload, payload);
  assert.ok(inviteSignatureValid(invite, signer.pub));
  assert.equal(inviteSignatureValid(invite, generateSigner().signer.pub), false);
  const [body, sig] = text.split('.') as [string, string];
  const tampered = Buffer.from(canonicalJson({ ...payload, expires: payload.expires + 1 })).toString('base64url');
  assert.equal(inviteSignatureValid(parseInvite(`${tampered}.${sig}`), signer.pub), false);
  for (const bad of [undefined, 5, '', 'x'.repeat(600), 'nodot', `${body}`, `!!.${sig}`, `${Buffer.from('[]').toString('base64url')}.${sig}`, `${body}.short`,
    `${Buffer.from(JSON.stringify({ ...payload, extra: 1 })).toString('base64url')}.${sig}`,
    `${Buffer.from(JSON.stringify({ expires: payload.expires, admin, chain: 'c1', id: payload.id })).toString('base64url')}.${sig}`]) {
    assert.equal(code(() => parseInvite(bad)), 'invite_invalid', String(bad).slice(0, 40));
  }
});

test('history participants: both sides of a transfer with their counterparty, never the mint', () => {
  const t = (from: string, events: Array<Record<string, unknown>>): IndexedTx => ({
    seq: 1, id: 'i', tx: { chain: 'c', type: 'ledger.x', from, nonce: 0, expires: 0, body: {} }, receipt: { id: 'i', height: 0, index: 0, status: 'ok', events: events as never },
  });
  assert.deepEqual([...participants(t(A, [{ type: 'ledger.transfer', from: A, to: B, amount: '1' }]))], [[A, B], [B, A]]);
  assert.deepEqual([...participants(t(A, [{ type: 'ledger.registered', account: A }, { type: 'ledger.transfer', from: MINT_ID, to: A, amount: '1' }]))], [[A, MINT_ID]]);
  const C = 'c'.repeat(40);
  assert.deepEqual([...participants(t(C, [{ type: 'ledger.dispute_resolved', from: A, to: B }, { type: 'ledger.transfer', from: B, to: A }]))], [[A, B], [B, A], [C, null]]);
});

test('detached signatures and document digests', () => {
  const { signer } = generateSigner();
  const sig = signMessage(signer, 'hello');
  assert.ok(messageSignatureValid(signer.pub, 'hello', sig));
  assert.equal(messageSignatureValid(signer.pub, 'hellp', sig), false);
  assert.equal(messageSignatureValid(signer.pub, 'hello', 'garbage'), false);
  assert.equal(documentDigest(Buffer.from('abc')), 'blake3:6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
  assert.equal(documentDigest(Buffer.from('abc'), 'sha256'), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('history index: rows merge from the recent table in bulk, and a query sees both, newest first', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-history-'));
  const keyPath = path.join(dir, 'db.key');
  createDatabaseKey(keyPath);
  const store = SqliteStore.open({ dbPath: path.join(dir, 'tally.db'), keyPath, create: true });
  try {
    store.migrate('ledger', ledgerMigrations);
    const mergeRows = 2000;
    let indexer = ledgerIndexer(store, mergeRows);
    const C = 'c'.repeat(40);
    // 3 blocks of mergeRows / 4 transfers alternating A->B and A->C: two rows each, so the
    // recent table fills up after block 2 and merges; block 3's rows wait.
    const per = mergeRows / 4;
    for (let h = 1; h <= 3; h++) {
      const txs: IndexedTx[] = [];
      for (let i = 0; i < per; i++) {
        const to = i % 2 === 0 ? B : C;
        txs.push({
          seq: h * 1_000_000 + i, id: 'x', tx: { chain: 'c', type: 'ledger.send', from: A, nonce: 0, expires: 0, body: {} },
          receipt: { id: 'x', height: h, index: i, status: 'ok', events: [{ type: 'ledger.transfer', from: A, to, amount: '1' }] },
        });
      }
      store.transaction(() => indexer.index({ height: h, timeMs: h * 1000 }, txs));
      indexer.committed!();
    }
    const count = (table: string) => (store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    assert.equal(count('ledger_history'), mergeRows, 'blocks 1 and 2 merged');
    assert.equal(count('ledger_history_recent'), mergeRows / 2, 'block 3 waits in the recent table');
    const pages = () => {
      const seqs: number[] = [];
      let before: number | undefined;
      for (;;) {
        const rows = historyRows(store, { account: A, limit: 333, ...(before !== undefined ? { before } : {}) });
        seqs.push(...rows.map((r) => r.seq));
        if (rows.length < 333) return seqs;
        before = rows[rows.length - 1]!.seq;
      }
    };
    const all = pages();
    assert.equal(all.length, 3 * per);
    assert.deepEqual(all, [...all].sort((a, b) => b - a), 'newest first across both tables');
    assert.equal(new Set(all).size, all.length);
    const withC = historyRows(store, { account: A, counterparty: C, limit: 100_000 });
    assert.equal(withC.length, 3 * per / 2);
    assert.ok(withC.every((r) => r.counterparty === C));
    assert.equal(historyRows(store, { account: B, since: 2000, until: 3000, limit: 100_000 }).length, per / 2, 'only block 2 (time 2000)');
    assert.equal(historyRows(store, { account: B, limit: 100_000 }).length, 3 * per / 2);
    // A restarted node rebuilds the memory of recent rows from their table.
    indexer = ledgerIndexer(store, mergeRows);
    assert.deepEqual(pages(), all);
    // A storage transaction that fails leaves memory as it was.
    assert.throws(() => store.transaction(() => {
      indexer.index({ height: 4, timeMs: 4000 }, [{ seq: 9_000_000, id: 'y', tx: { chain: 'c', type: 'ledger.send', from: A, nonce: 0, expires: 0, body: {} }, receipt: { id: 'y', height: 4, index: 0, status: 'ok', events: [] } }]);
      throw new Error('commit failed');
    }));
    assert.deepEqual(pages(), all);
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
