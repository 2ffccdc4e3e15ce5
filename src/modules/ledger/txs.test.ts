// Body parsing of the ledger's transaction types: one form per intent, the codes clients
// switch on, and the field each refusal names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorCode as code } from '../../core/testing.js';
import type { ChainParams } from '../../chain/module.js';
import { generateSigner } from '../../core/keys.js';
import { ledgerGenesis } from './genesis.js';
import { contest, resolve, second, send, sign } from './txs.js';

const params: ChainParams = { chain: 'tally-test', decimals: 6, genesisHash: '0'.repeat(64), moduleGenesis: () => ({}) };

test('ledger.second and ledger.resolve take the dispute as a JSON integer only', () => {
  assert.deepEqual(second.parse({ dispute: 3 }, params), { dispute: 3 });
  for (const dispute of ['3', '#3', 0, -1, 1.5, null, true, 2 ** 53]) {
    assert.equal(code(() => second.parse({ dispute }, params)), 'bad_dispute_id', JSON.stringify(dispute));
    assert.equal(code(() => resolve.parse({ dispute, action: 'dismiss', note: 'n' }, params)), 'bad_dispute_id', JSON.stringify(dispute));
  }
  assert.equal(code(() => second.parse({}, params)), 'bad_dispute_id');
  assert.equal(code(() => second.parse({ dispute: 3, also: 4 }, params)), 'bad_body');
});

test('bodies keep their codes and name the field', () => {
  assert.deepEqual(send.parse({ to: 'bob', amount: '1.5' }, params), { to: 'bob', amount: 1_500_000n });
  assert.equal(code(() => send.parse({ to: 'Bob', amount: '1' }, params)), 'bad_recipient');
  assert.equal(code(() => send.parse({ amount: '1' }, params)), 'bad_recipient');
  assert.equal(code(() => send.parse({ to: 'bob' }, params)), 'amount_invalid');
  assert.equal(code(() => send.parse({ to: 'bob', amount: '1', memo: 7 }, params)), 'memo_invalid');
  assert.equal(code(() => send.parse({ to: 'bob', amount: '1', memo: 'é'.repeat(129) }, params)), 'memo_too_long');
  assert.deepEqual(send.parse({ to: 'bob', amount: '1', memo: '' }, params).memo, '');
  assert.throws(() => send.parse({ to: 'bob', amount: '1', note: 'x' }, params), { code: 'bad_body', message: /^body\.note is not a known field/, details: { field: 'note', path: 'body.note', allowed: ['to', 'amount', 'memo'] } });
  assert.equal(code(() => sign.parse({}, params)), 'statement_invalid');
  assert.equal(code(() => sign.parse({ text: 'a', digest: `blake3:${'0'.repeat(64)}` }, params)), 'statement_invalid');
  assert.equal(code(() => sign.parse({ text: 'x'.repeat(2049) }, params)), 'statement_too_long');
  assert.equal(code(() => sign.parse({ text: 'x', label: ' ' }, params)), 'label_invalid');
  const at = { transfer: 'a'.repeat(64), height: 1, index: 0, reason: 'r' };
  assert.deepEqual(contest.parse(at, params), at);
  assert.equal(code(() => contest.parse({ ...at, index: 4096 }, params)), 'bad_transfer_id');
  assert.equal(code(() => contest.parse({ ...at, height: 0 }, params)), 'bad_transfer_id');
  assert.throws(() => contest.parse({ ...at, reason: 'x'.repeat(257) }, params), { code: 'reason_too_long', message: /^body\.reason must be at most 256 bytes/ });
  assert.equal(code(() => resolve.parse({ dispute: 1, action: 'refund', note: 'n' }, params)), 'bad_action');
});

test('the ledger genesis section has exact keys', () => {
  const admin = generateSigner().signer;
  const ok = { registration: { policy: 'invite' }, accounts: [{ name: 'root', pub: admin.pub }], admins: ['root'] };
  const g = ledgerGenesis.validate(ok, { decimals: 2 }) as { registration: unknown; disputes: unknown };
  assert.deepEqual(g.registration, { policy: 'invite', grant: '0' });
  assert.deepEqual(g.disputes, { contestWindowSecs: 604800, secondsRequired: 2 });
  // A typo used to be dropped silently: "admin" for "admins" left the chain without admins.
  assert.throws(() => ledgerGenesis.validate({ ...ok, admin: ['root'] }, { decimals: 2 }), { code: 'genesis_invalid', message: /^ledger\.admin is not a known field/ });
  assert.throws(() => ledgerGenesis.validate({ ...ok, accounts: [{ name: 'root', pub: admin.pub, balanse: '5' }] }, { decimals: 2 }), { code: 'genesis_invalid', message: /^ledger\.accounts\[0\]\.balanse is not a known field/ });
  assert.throws(() => ledgerGenesis.validate({ ...ok, registration: { policy: 'everyone' } }, { decimals: 2 }), { code: 'genesis_invalid', message: /ledger\.registration\.policy must be "open", "invite" or "closed"/ });
  assert.throws(() => ledgerGenesis.validate({ ...ok, disputes: { secondsRequired: 0 } }, { decimals: 2 }), { code: 'genesis_invalid', message: /ledger\.disputes\.secondsRequired must be a whole number from 1 to 1000/ });
});
