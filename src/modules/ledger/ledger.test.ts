import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../core/canonical.js';
import { accountIdFromPub, generateSigner } from '../../core/keys.js';
import type { IndexedTx } from '../../chain/module.js';
import { participants } from './history.js';
import { inviteSignatureValid, makeInvite, parseInvite } from './invites.js';
import { accountKey, disputeKey, ledgerInvariants, MINT_ID, type Dispute } from './state.js';
import { documentDigest, messageSignatureValid, signMessage } from './statements.js';
import { errorCode as code } from '../../core/testing.js';


const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

function dispute(status: Dispute['status'], hold: string): Dispute {
  return { id: 1, transfer: 'f'.repeat(64), from: A, to: B, amount: '50', openedBy: A, reason: 'r', opened: { height: 1, time: 0 }, status, seconds: [], hold };
}

const entries = (accounts: Record<string, { balance: string; held?: string }>, disputes: Dispute[] = []): Array<[string, string]> => [
  ...Object.entries(accounts).map(([id, a]) => [accountKey(id), JSON.stringify({ name: id.slice(0, 4), created: 0, ...a })] as [string, string]),
  ...disputes.map((d) => [disputeKey(d.id), JSON.stringify(d)] as [string, string]),
];

test('ledger invariants: double entry, and holds match open disputes', () => {
  assert.deepEqual(ledgerInvariants(entries({ [MINT_ID]: { balance: '-100' }, [A]: { balance: '60' }, [B]: { balance: '40', held: '30' } }, [dispute('open', '30')])), []);
  assert.deepEqual(ledgerInvariants(entries({ [MINT_ID]: { balance: '-100' }, [A]: { balance: '60' }, [B]: { balance: '40' } }, [dispute('reversed', '30')])), []);
  assert.match(ledgerInvariants(entries({ [MINT_ID]: { balance: '-100' }, [A]: { balance: '61' }, [B]: { balance: '40' } })).join(), /sum to 1 minor units/);
  assert.match(ledgerInvariants(entries({ [MINT_ID]: { balance: '-100' }, [A]: { balance: '60' }, [B]: { balance: '40', held: '30' } })).join(), /holds 30, but its open disputes hold 0/);
  assert.match(ledgerInvariants(entries({ [MINT_ID]: { balance: '-100' }, [A]: { balance: '60' }, [B]: { balance: '40' } }, [dispute('escalated', '30')])).join(), /holds 0, but its open disputes hold 30/);
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
