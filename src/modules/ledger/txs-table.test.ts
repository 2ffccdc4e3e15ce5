// Table tests of every ledger transaction type, through the in-process test chain (the
// one executor, no node process): each ok case with its events and state, each refusal
// code. A refusal by parse() or the block rules keeps the transaction out of the block
// (nothing written, nonce unused); a refusal by apply() is a failed receipt whose only
// write is the sender's nonce. After every block the ledger's invariants hold (balances
// sum to zero, holds match open disputes), and at the end verifyChain replays it all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../../core/encoding.js';
import { hashText } from '../../core/hash.js';
import { limits } from '../../core/limits.js';
import { Admission } from '../../chain/admission.js';
import type { Envelope, Receipt, TxEvent } from '../../chain/envelope.js';
import { Mempool } from '../../chain/mempool.js';
import { verifyChain } from '../../chain/replay.js';
import { authKey, LayeredState } from '../../chain/state.js';
import { createTestChain, testAccount, type TestAccount, type TestChain } from '../../chain/testing/test-chain.js';
import { VerifierPool } from '../../chain/verifier.js';
import { ledgerChain } from './index.js';
import { makeInvite } from './invites.js';
import { accountKey, disputeKey, holdKey, MINT_ID, nameKey, transferKey, type Dispute, type LedgerAccount, type TransferRecord } from './state.js';

const MAX = '9223372036854.775807'; // limits.amountMinorMax at 6 decimals

let pool: VerifierPool;
before(() => { pool = new VerifierPool(1); });
after(() => pool.close());

/**
 * A chain with six genesis accounts (root is the admin; whale holds the largest amount),
 * open registration with a grant of 5, a 60 s contest window and 2 seconds to escalate.
 * Each call has its own account objects: their nonces follow this chain only.
 */
function world(registration: Record<string, unknown> = { policy: 'open', grant: '5' }, chainId = 'test') {
  const [root, alice, bob, carol, dave, whale] = ['root', 'alice', 'bob', 'carol', 'dave', 'whale'].map(testAccount) as [TestAccount, TestAccount, TestAccount, TestAccount, TestAccount, TestAccount];
  const chain = createTestChain([ledgerChain], {
    chain: chainId,
    modules: {
      ledger: {
        registration,
        accounts: [
          { name: 'root', pub: root.pub, balance: '1000' },
          { name: 'alice', pub: alice.pub, balance: '100' },
          { name: 'bob', pub: bob.pub, balance: '50' },
          { name: 'carol', pub: carol.pub, balance: '10' },
          { name: 'dave', pub: dave.pub, balance: '0' },
          { name: 'whale', pub: whale.pub, balance: MAX },
        ],
        admins: ['root'],
        disputes: { contestWindowSecs: 60, secondsRequired: 2 },
      },
    },
  });
  return { chain, d: new Driver(chain), root, alice, bob, carol, dave, whale };
}

/** Runs one-transaction blocks on a chain and checks what each must leave behind. */
class Driver {
  constructor(readonly chain: TestChain) {}

  private run(from: TestAccount, type: string, body: Record<string, unknown>, time?: number) {
    const env = this.chain.tx(from, type, body, { nonce: from.nonce });
    const out = this.chain.block([env], time === undefined ? {} : { time });
    if (out.receipts.length) from.nonce++;
    assert.deepEqual(this.chain.invariants(), [], 'the ledger invariants hold after every block');
    assert.equal(balanceSum(this.chain), 0n);
    return out;
  }

  ok(from: TestAccount, type: string, body: Record<string, unknown>, time?: number): Receipt {
    const out = this.run(from, type, body, time);
    assert.deepEqual(out.excluded, []);
    assert.equal(out.receipts[0]!.status, 'ok', `${type} ${JSON.stringify(body)}: ${out.receipts[0]!.code}`);
    return out.receipts[0]!;
  }

  events(from: TestAccount, type: string, body: Record<string, unknown>, time?: number): TxEvent[] {
    return this.ok(from, type, body, time).events;
  }

  /** apply() refuses: a failed receipt with `code`; only the nonce moves. */
  fails(from: TestAccount, type: string, body: Record<string, unknown>, code: string, time?: number): void {
    const out = this.run(from, type, body, time);
    assert.deepEqual(out.excluded, []);
    const r = out.receipts[0]!;
    assert.deepEqual([r.status, r.code, r.events], ['failed', code, []], `${type} ${JSON.stringify(body)}`);
    assert.deepEqual([...out.result.writes.keys()], [authKey(from.id)], 'a failed transaction writes only its nonce');
  }

  /** parse() or the block rules refuse: not in the block, nothing written, nonce unused. */
  excluded(from: TestAccount, type: string, body: Record<string, unknown>, code: string): void {
    const before = from.nonce;
    const out = this.run(from, type, body);
    assert.deepEqual(out.excluded, [{ input: 0, code }], `${type} ${JSON.stringify(body)}`);
    assert.equal(out.result.writes.size, 0);
    assert.equal(from.nonce, before);
  }
}

function balanceSum(chain: TestChain): bigint {
  return chain.raw('ledger/acct/').reduce((sum, [, v]) => sum + BigInt((JSON.parse(v) as LedgerAccount).balance), 0n);
}

const acct = (chain: TestChain, a: { id: string }) => chain.get<LedgerAccount>(accountKey(a.id))!;
const balance = (chain: TestChain, a: { id: string }) => acct(chain, a).balance;

async function replays(chain: TestChain): Promise<void> {
  const report = await verifyChain(chain.source(), [ledgerChain], pool);
  assert.deepEqual(report.issues, []);
  assert.equal(report.height, chain.height);
}

describe('ledger.register (open policy)', () => {
  const { chain, d } = world();
  const newbie = testAccount('newbie');

  test('ok: opens the account and pays the grant from the mint', () => {
    assert.deepEqual(d.events(newbie, 'ledger.register', { name: 'newbie' }), [
      { type: 'ledger.registered', account: newbie.id, name: 'newbie' },
      { type: 'ledger.transfer', from: MINT_ID, to: newbie.id, amount: '5' },
    ]);
    assert.deepEqual(acct(chain, newbie), { name: 'newbie', balance: '5000000', created: chain.height });
    assert.equal(chain.get(nameKey('newbie')), newbie.id);
    assert.equal(chain.accounts().pubOf(newbie.id), newbie.pub);
  });

  test('refusals in apply: already_registered, name_taken (a failed attempt still opens the key)', () => {
    d.fails(newbie, 'ledger.register', { name: 'other' }, 'already_registered');
    const late = testAccount('late');
    d.fails(late, 'ledger.register', { name: 'alice' }, 'name_taken');
    assert.equal(chain.accounts().nonceOf(late.id), 1, 'the failed registration used nonce 0');
    assert.equal(chain.get(accountKey(late.id)), undefined);
    d.ok(late, 'ledger.register', { name: 'late' });
  });

  test('refusals in parse: name_invalid, name_reserved, bad_body, invite_invalid', () => {
    const x = testAccount('x');
    for (const [body, code] of [
      [{ name: 'Bad' }, 'name_invalid'],
      [{ name: '' }, 'name_invalid'],
      [{ name: 'a'.repeat(33) }, 'name_invalid'],
      [{ name: 7 }, 'name_invalid'],
      [{}, 'name_invalid'],
      [{ name: 'mint' }, 'name_reserved'],
      [{ name: 'xx', extra: 1 }, 'bad_body'],
      [{ name: 'xx', invite: 'garbage' }, 'invite_invalid'],
    ] as Array<[Record<string, unknown>, string]>) d.excluded(x, 'ledger.register', body, code);
  });

  test('block rules: a stranger sending anything else is account_not_found', () => {
    d.excluded(testAccount('stranger'), 'ledger.send', { to: 'alice', amount: '1' }, 'account_not_found');
  });

  test('the chain replays', () => replays(chain));
});

describe('ledger.register (closed policy, zero grant)', () => {
  test('registration_closed; genesis accounts still transact', () => {
    const root = testAccount('root');
    const chain = createTestChain([ledgerChain], { modules: { ledger: { registration: { policy: 'closed' }, accounts: [{ name: 'root', pub: root.pub, balance: '1' }] } } });
    const d = new Driver(chain);
    d.fails(testAccount('newbie'), 'ledger.register', { name: 'newbie' }, 'registration_closed');
    d.ok(root, 'ledger.sign', { text: 'still here' });
  });

  test('open with no grant: registered, no transfer', () => {
    const chain = createTestChain([ledgerChain]);
    const d = new Driver(chain);
    const n = testAccount('newbie');
    assert.deepEqual(d.events(n, 'ledger.register', { name: 'newbie' }), [{ type: 'ledger.registered', account: n.id, name: 'newbie' }]);
    assert.equal(balance(chain, n), '0');
  });
});

describe('ledger.register (invite policy)', () => {
  const { chain: invChain, d, root, alice } = world({ policy: 'invite', grant: '1' }, 'inv');
  const inSecs = (secs: number) => Math.floor(invChain.time / 1000) + secs;
  const used = makeInvite('inv', root.id, root.signer, inSecs(3600)).code;

  test('ok: an admin\'s invite opens the account once, with the grant', () => {
    const n = testAccount('invited');
    const invite = makeInvite('inv', root.id, root.signer, inSecs(3600));
    assert.deepEqual(d.events(n, 'ledger.register', { name: 'invited', invite: invite.code }), [
      { type: 'ledger.registered', account: n.id, name: 'invited' },
      { type: 'ledger.invite_used', invite: invite.payload.id, admin: root.id },
      { type: 'ledger.transfer', from: MINT_ID, to: n.id, amount: '1' },
    ]);
    d.ok(testAccount('first'), 'ledger.register', { name: 'first', invite: used });
  });

  test('refusals: invite_required, invite_invalid (chain, not an admin, signature), invite_expired, invite_used', () => {
    const cases: Array<[string, string | undefined, string]> = [
      ['required', undefined, 'invite_required'],
      ['otherchain', makeInvite('other', root.id, root.signer, inSecs(3600)).code, 'invite_invalid'],
      ['notadmin', makeInvite('inv', alice.id, alice.signer, inSecs(3600)).code, 'invite_invalid'],
      ['forged', makeInvite('inv', root.id, testAccount('mallory').signer, inSecs(3600)).code, 'invite_invalid'],
      ['expired', makeInvite('inv', root.id, root.signer, inSecs(-1)).code, 'invite_expired'],
      ['again', used, 'invite_used'],
    ];
    for (const [name, invite, code] of cases) {
      d.fails(testAccount(name), 'ledger.register', invite === undefined ? { name } : { name, invite }, code);
    }
  });

  test('expiry is inclusive, against the block time', () => {
    const n = testAccount('justintime');
    const t = invChain.time + 1000;
    d.ok(n, 'ledger.register', { name: 'justintime', invite: makeInvite('inv', root.id, root.signer, Math.floor(t / 1000)).code }, t);
  });

  test('the chain replays', () => replays(invChain));
});

describe('ledger.rename', () => {
  const { chain, d, carol, dave } = world();

  test('ok: the name moves, the old one is freed', () => {
    assert.deepEqual(d.events(carol, 'ledger.rename', { name: 'caroline' }), [{ type: 'ledger.renamed', account: carol.id, old: 'carol', name: 'caroline' }]);
    assert.equal(acct(chain, carol).name, 'caroline');
    assert.equal(chain.get(nameKey('carol')), undefined);
    assert.equal(chain.get(nameKey('caroline')), carol.id);
    d.ok(dave, 'ledger.rename', { name: 'carol' });
  });

  test('refusals: name_unchanged, name_taken, not_registered, and the parse codes', () => {
    d.fails(carol, 'ledger.rename', { name: 'caroline' }, 'name_unchanged');
    d.fails(carol, 'ledger.rename', { name: 'alice' }, 'name_taken');
    // A key the chain knows (its registration failed) but with no ledger account.
    const ghost = testAccount('ghost');
    d.fails(ghost, 'ledger.register', { name: 'alice' }, 'name_taken');
    d.fails(ghost, 'ledger.rename', { name: 'ghost' }, 'not_registered');
    for (const [body, code] of [
      [{ name: 'mint' }, 'name_reserved'], [{ name: 'NO' }, 'name_invalid'], [{ name: 'ok', more: 1 }, 'bad_body'],
    ] as Array<[Record<string, unknown>, string]>) d.excluded(carol, 'ledger.rename', body, code);
  });

  test('the chain replays', () => replays(chain));
});

describe('ledger.send', () => {
  const { chain, d, alice, bob, carol } = world();

  test('ok: by name and by id, with a memo; a transfer record for contests', () => {
    const r = d.ok(alice, 'ledger.send', { to: 'bob', amount: '1.5', memo: 'lunch' });
    assert.deepEqual(r.events, [{ type: 'ledger.transfer', from: alice.id, to: bob.id, amount: '1.5', memo: 'lunch' }]);
    assert.deepEqual(chain.get<TransferRecord>(transferKey(r.height, r.index)), { id: r.id, from: alice.id, to: bob.id, amount: '1500000', time: chain.time });
    d.ok(alice, 'ledger.send', { to: bob.id, amount: '0.000001' });
    assert.equal(balance(chain, alice), '98499999');
    assert.equal(balance(chain, bob), '51500001');
    // Exactly the available balance.
    d.ok(carol, 'ledger.send', { to: 'dave', amount: '10' });
    assert.equal(balance(chain, carol), '0');
  });

  test('refusals in apply: unknown_account, self_transfer, insufficient_funds, balance_overflow, not_registered', () => {
    d.fails(alice, 'ledger.send', { to: 'nobody', amount: '1' }, 'unknown_account');
    d.fails(alice, 'ledger.send', { to: 'f'.repeat(40), amount: '1' }, 'unknown_account');
    d.fails(alice, 'ledger.send', { to: 'alice', amount: '1' }, 'self_transfer');
    d.fails(carol, 'ledger.send', { to: 'alice', amount: '0.000001' }, 'insufficient_funds');
    d.fails(alice, 'ledger.send', { to: 'whale', amount: '0.000001' }, 'balance_overflow');
    const ghost = testAccount('ghost');
    d.fails(ghost, 'ledger.register', { name: 'bob' }, 'name_taken');
    d.fails(ghost, 'ledger.send', { to: 'alice', amount: '1' }, 'not_registered');
  });

  test('refusals in parse: recipient, amount and memo codes', () => {
    for (const [body, code] of [
      [{ to: 'Bob!', amount: '1' }, 'bad_recipient'],
      [{ to: 5, amount: '1' }, 'bad_recipient'],
      [{ to: 'bob', amount: 1 }, 'amount_not_string'],
      [{ to: 'bob', amount: '1e3' }, 'amount_invalid'],
      [{ to: 'bob', amount: '-1' }, 'amount_negative'],
      [{ to: 'bob', amount: '0' }, 'amount_zero'],
      [{ to: 'bob', amount: '0.0000001' }, 'amount_too_precise'],
      [{ to: 'bob', amount: '9223372036854.775808' }, 'amount_overflow'],
      [{ to: 'bob', amount: '1', memo: 5 }, 'memo_invalid'],
      [{ to: 'bob', amount: '1', memo: 'é'.repeat(limits.memoBytesMax / 2 + 1) }, 'memo_too_long'],
      [{ to: 'bob', amount: '1', fee: '1' }, 'bad_body'],
      [{ to: 'mint', amount: '1' }, 'cannot_send_to_mint'],
      [{ to: MINT_ID, amount: '1' }, 'cannot_send_to_mint'],
    ] as Array<[Record<string, unknown>, string]>) d.excluded(alice, 'ledger.send', body, code);
  });

  test('block rules: expired, nonce_gap, wrong_key', () => {
    const chainOf = chain;
    const expired = chainOf.tx(alice, 'ledger.send', { to: 'bob', amount: '1' }, { nonce: alice.nonce, expires: Math.floor(chainOf.time / 1000) });
    const gap = chainOf.tx(alice, 'ledger.send', { to: 'bob', amount: '1' }, { nonce: alice.nonce + 1 });
    const stolen = chainOf.tx(alice, 'ledger.send', { to: 'bob', amount: '1' }, { nonce: alice.nonce, signer: bob.signer });
    const out = chainOf.block([expired, gap, stolen], { time: chainOf.time + 1000 });
    assert.deepEqual(out.excluded.map((e) => e.code), ['expired', 'nonce_gap', 'wrong_key']);
    assert.equal(out.result.writes.size, 0);
  });

  test('the chain replays', () => replays(chain));
});

describe('ledger.sign', () => {
  const { d, alice } = world();

  test('ok: a text statement is its BLAKE3 digest; a digest is taken as given', () => {
    const text = 'I, alice, agree.';
    assert.deepEqual(d.events(alice, 'ledger.sign', { text, label: 'terms' }), [{ type: 'ledger.statement', account: alice.id, digest: `blake3:${toHex(hashText(text))}` }]);
    const digest = `sha256:${'ab'.repeat(32)}`;
    assert.deepEqual(d.events(alice, 'ledger.sign', { digest }), [{ type: 'ledger.statement', account: alice.id, digest }]);
  });

  test('refusals: not_registered, and the parse codes', () => {
    const ghost = testAccount('ghost');
    d.fails(ghost, 'ledger.register', { name: 'alice' }, 'name_taken');
    d.fails(ghost, 'ledger.sign', { text: 'hi' }, 'not_registered');
    for (const [body, code] of [
      [{}, 'statement_invalid'],
      [{ text: 'a', digest: `blake3:${'0'.repeat(64)}` }, 'statement_invalid'],
      [{ text: '' }, 'statement_invalid'],
      [{ digest: 'md5:00' }, 'statement_invalid'],
      [{ text: 'x'.repeat(2049) }, 'statement_too_long'],
      [{ text: 'a', label: ' ' }, 'label_invalid'],
      [{ text: 'a', label: 'x'.repeat(257) }, 'label_too_long'],
      [{ text: 'a', at: 1 }, 'bad_body'],
    ] as Array<[Record<string, unknown>, string]>) d.excluded(alice, 'ledger.sign', body, code);
  });
});

describe('disputes: ledger.contest, ledger.second, ledger.resolve', () => {
  const { chain, d, root, alice, bob, carol, dave } = world();
  let paid: Receipt; // alice -> bob 30
  let other: Receipt; // alice -> bob 40, bob spends it before the contest
  const dispute = (n: number) => chain.get<Dispute>(disputeKey(n))!;
  const contestOf = (r: Receipt, reason = 'not delivered') => ({ transfer: r.id, height: r.height, index: r.index, reason });

  test('contest ok: the receiver\'s available balance is held, up to the amount', () => {
    paid = d.ok(alice, 'ledger.send', { to: 'bob', amount: '30' });
    assert.deepEqual(d.events(alice, 'ledger.contest', contestOf(paid)), [
      { type: 'ledger.dispute_opened', dispute: 1, transfer: paid.id, from: alice.id, to: bob.id, amount: '30', held: '30' },
    ]);
    assert.equal(acct(chain, bob).held, '30000000');
    assert.equal(chain.get(holdKey(bob.id, 'ledger')), '30000000');
    assert.equal(chain.get<TransferRecord>(transferKey(paid.height, paid.index))!.dispute, 1);
    assert.equal(dispute(1).status, 'open');
    // What is held cannot be spent: bob has 80, 30 held.
    d.fails(bob, 'ledger.send', { to: 'dave', amount: '50.000001' }, 'insufficient_funds');
    // Partial hold: bob spends before the receiver's side is contested (by bob himself).
    other = d.ok(alice, 'ledger.send', { to: 'bob', amount: '40' });
    d.ok(bob, 'ledger.send', { to: 'dave', amount: '75' });
    d.ok(bob, 'ledger.contest', contestOf(other, 'sent by mistake'));
    assert.equal(dispute(2).hold, '15000000');
    assert.equal(acct(chain, bob).held, '45000000');
  });

  test('contest refusals: transfer_not_found, not_a_party, already_contested, contest_window_closed, not_registered', () => {
    d.fails(alice, 'ledger.contest', { ...contestOf(paid), transfer: 'ab'.repeat(32) }, 'transfer_not_found');
    d.fails(alice, 'ledger.contest', { ...contestOf(paid), index: paid.index + 1 }, 'transfer_not_found');
    d.fails(carol, 'ledger.contest', contestOf(paid), 'not_a_party');
    d.fails(bob, 'ledger.contest', contestOf(paid), 'already_contested');
    const late = d.ok(carol, 'ledger.send', { to: 'alice', amount: '1' });
    d.ok(carol, 'ledger.contest', contestOf(late), chain.time + 60_000);
    assert.equal(dispute(3).status, 'open', 'exactly at the window\'s end is still in time');
    const later = d.ok(carol, 'ledger.send', { to: 'alice', amount: '1' });
    d.fails(alice, 'ledger.contest', contestOf(later), 'contest_window_closed', chain.time + 60_001);
    const ghost = testAccount('ghost');
    d.fails(ghost, 'ledger.register', { name: 'alice' }, 'name_taken');
    d.fails(ghost, 'ledger.contest', contestOf(paid), 'not_registered');
  });

  test('contest parse refusals: bad_transfer_id, reason_invalid, reason_too_long, bad_body', () => {
    for (const [body, code] of [
      [{ ...contestOf(paid), transfer: 'xyz' }, 'bad_transfer_id'],
      [{ ...contestOf(paid), height: 0 }, 'bad_transfer_id'],
      [{ ...contestOf(paid), index: 4096 }, 'bad_transfer_id'],
      [{ ...contestOf(paid), index: '0' }, 'bad_transfer_id'],
      [{ ...contestOf(paid), reason: '' }, 'reason_invalid'],
      [{ ...contestOf(paid), reason: 'x'.repeat(257) }, 'reason_too_long'],
      [{ ...contestOf(paid), why: 1 }, 'bad_body'],
    ] as Array<[Record<string, unknown>, string]>) d.excluded(alice, 'ledger.contest', body, code);
  });

  test('second ok: counted, escalated at secondsRequired; refusals', () => {
    assert.deepEqual(d.events(carol, 'ledger.second', { dispute: 1 }), [{ type: 'ledger.dispute_seconded', dispute: 1, account: carol.id, seconds: 1 }]);
    d.fails(carol, 'ledger.second', { dispute: 1 }, 'already_seconded');
    d.fails(alice, 'ledger.second', { dispute: 1 }, 'party_cannot_second');
    d.fails(bob, 'ledger.second', { dispute: 1 }, 'party_cannot_second');
    d.fails(carol, 'ledger.second', { dispute: 99 }, 'dispute_not_found');
    assert.deepEqual(d.events(dave, 'ledger.second', { dispute: 1 }), [
      { type: 'ledger.dispute_seconded', dispute: 1, account: dave.id, seconds: 2 },
      { type: 'ledger.dispute_escalated', dispute: 1 },
    ]);
    assert.deepEqual([dispute(1).status, dispute(1).seconds], ['escalated', [carol.id, dave.id]]);
    // Escalated disputes take more seconds without escalating again.
    assert.deepEqual(d.events(root, 'ledger.second', { dispute: 1 }), [{ type: 'ledger.dispute_seconded', dispute: 1, account: root.id, seconds: 3 }]);
    for (const [body, code] of [
      [{ dispute: 0 }, 'bad_dispute_id'], [{ dispute: 1.5 }, 'bad_dispute_id'], [{ dispute: 'one' }, 'bad_dispute_id'], [{ dispute: 1, x: 1 }, 'bad_body'],
    ] as Array<[Record<string, unknown>, string]>) d.excluded(carol, 'ledger.second', body, code);
  });

  test('resolve reverse: the hold goes back to the sender; a partial hold leaves a shortfall', () => {
    const before = BigInt(balance(chain, alice));
    assert.deepEqual(d.events(root, 'ledger.resolve', { dispute: 1, action: 'reverse', note: 'refund' }), [
      { type: 'ledger.dispute_resolved', dispute: 1, action: 'reverse', from: alice.id, to: bob.id, reversed: '30', shortfall: '0' },
      { type: 'ledger.transfer', from: bob.id, to: alice.id, amount: '30', dispute: 1 },
    ]);
    assert.equal(BigInt(balance(chain, alice)) - before, 30_000_000n);
    assert.equal(dispute(1).status, 'reversed');
    assert.equal(dispute(1).resolution!.reversed, '30000000');
    assert.equal(acct(chain, bob).held, '15000000');
    assert.deepEqual(d.events(root, 'ledger.resolve', { dispute: 2, action: 'reverse', note: 'partial' })[0],
      { type: 'ledger.dispute_resolved', dispute: 2, action: 'reverse', from: alice.id, to: bob.id, reversed: '15', shortfall: '25' });
    assert.equal(acct(chain, bob).held, undefined);
    assert.equal(chain.get(holdKey(bob.id, 'ledger')), undefined, 'a released hold leaves no row');
  });

  test('resolve dismiss: the hold is released, nothing moves', () => {
    const before = balance(chain, alice);
    assert.deepEqual(d.events(root, 'ledger.resolve', { dispute: 3, action: 'dismiss', note: 'delivered' }), [
      { type: 'ledger.dispute_resolved', dispute: 3, action: 'dismiss', from: carol.id, to: alice.id, reversed: '0', shortfall: '0' },
    ]);
    assert.equal(balance(chain, alice), before);
    assert.equal(acct(chain, alice).held, undefined);
  });

  test('resolve refusals: not_admin, dispute_closed, dispute_not_found, not_registered, and the parse codes', () => {
    d.fails(alice, 'ledger.resolve', { dispute: 1, action: 'dismiss', note: 'n' }, 'not_admin');
    d.fails(root, 'ledger.resolve', { dispute: 1, action: 'dismiss', note: 'n' }, 'dispute_closed');
    d.fails(carol, 'ledger.second', { dispute: 2 }, 'dispute_closed');
    d.fails(root, 'ledger.resolve', { dispute: 42, action: 'dismiss', note: 'n' }, 'dispute_not_found');
    const ghost = testAccount('phantom'); // not the contest test's ghost: a fresh key
    d.fails(ghost, 'ledger.register', { name: 'alice' }, 'name_taken');
    d.fails(ghost, 'ledger.resolve', { dispute: 1, action: 'dismiss', note: 'n' }, 'not_registered');
    for (const [body, code] of [
      [{ dispute: 1, action: 'refund', note: 'n' }, 'bad_action'],
      [{ dispute: -1, action: 'dismiss', note: 'n' }, 'bad_dispute_id'],
      [{ dispute: 1, action: 'dismiss' }, 'note_invalid'],
      [{ dispute: 1, action: 'dismiss', note: 'x'.repeat(257) }, 'note_too_long'],
      [{ dispute: 1, action: 'dismiss', note: 'n', by: 'me' }, 'bad_body'],
    ] as Array<[Record<string, unknown>, string]>) d.excluded(root, 'ledger.resolve', body, code);
  });

  test('the chain replays', () => replays(chain));
});

describe('ledger.register: admission refuses a stranger with the code a block would record', () => {
  /** What the node's admission answers for one envelope now: a refusal code, or "queued". */
  function admit(chain: TestChain, env: Envelope, nowMs = chain.time): Promise<string> {
    return new Promise((resolve) => {
      const mempool = new Mempool();
      const admission = new Admission({
        kernel: chain.kernel, pool, mempool, state: new LayeredState(chain.state), clock: () => nowMs,
        closed: () => undefined, committedReceipt: () => undefined,
        // Called once the batch is checked; an admitted transaction's result then waits for a block.
        queued: () => { if (mempool.size > 0) resolve('queued'); },
      });
      void admission.submit([env]).then((r) => resolve((r[0] as { error?: { code: string } }).error?.code ?? 'receipt'));
    });
  }

  test('closed chain: registration_closed at admission and in a block; a known key is left to the block', async () => {
    const { chain, d, alice } = world({ policy: 'closed' });
    const s = testAccount('stranger');
    assert.equal(await admit(chain, chain.tx({ ...s }, 'ledger.register', { name: 'stranger' })), 'registration_closed');
    d.fails(s, 'ledger.register', { name: 'stranger' }, 'registration_closed');
    assert.equal(await admit(chain, chain.tx({ ...alice }, 'ledger.register', { name: 'alice2' })), 'queued');
  });

  test('invite chain: each invite refusal, at admission and in a block at the same time', async () => {
    const { chain, d, root, alice } = world({ policy: 'invite', grant: '0' }, 'inv');
    const later = Math.floor(chain.time / 1000) + 3600;
    const used = makeInvite('inv', root.id, root.signer, later).code;
    d.ok(testAccount('first'), 'ledger.register', { name: 'first', invite: used });
    const now = chain.time + 1000; // the admission clock and the next block's time
    const cases: Array<[string, string | undefined, string]> = [
      ['required', undefined, 'invite_required'],
      ['otherchain', makeInvite('other', root.id, root.signer, later).code, 'invite_invalid'],
      ['notadmin', makeInvite('inv', alice.id, alice.signer, later).code, 'invite_invalid'],
      ['forged', makeInvite('inv', root.id, testAccount('mallory').signer, later).code, 'invite_invalid'],
      ['expired', makeInvite('inv', root.id, root.signer, Math.floor(now / 1000) - 1).code, 'invite_expired'],
      ['again', used, 'invite_used'],
    ];
    for (const [name, invite, code] of cases) {
      const s = testAccount(name);
      const body = invite === undefined ? { name } : { name, invite };
      assert.equal(await admit(chain, chain.tx({ ...s }, 'ledger.register', body), now), code, `admission: ${name}`);
      d.fails(s, 'ledger.register', body, code, now);
    }
    // The last second of an invite's life counts at admission as in a block.
    const edge = makeInvite('inv', root.id, root.signer, Math.floor(now / 1000) + 1).code;
    assert.equal(await admit(chain, chain.tx(testAccount('edge'), 'ledger.register', { name: 'edge', invite: edge }, { nonce: 0 }), chain.time + 1000), 'queued');
  });
});
