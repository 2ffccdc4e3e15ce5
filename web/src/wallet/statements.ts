// Statements: sign a text on chain (ledger.sign: a timestamped attestation) and verify one
// here (its signature, id and inclusion in a block the pinned key signed); and detached
// signatures ("tally/message/v1\n" + message), made and checked in the browser.
import { messageBytes } from '../../../src/core/tx-signing.js';
import { webSigner, webVerify } from '../../../src/core/webcrypto-keys.js';
import { api, type TxView } from '../api.js';
import { verdictLine } from '../badge.js';
import { blockLink, txLink } from '../format.js';
import { fields, h } from '../h.js';
import { pinnedKey } from '../pin.js';
import type { PageContext } from '../router.js';
import { verifyInclusion, type ProofView } from '../verify.js';
import { send } from './submit.js';
import { field, input, keyOrNote, onSubmit, status, walletNav } from './ui.js';

const TX_ID = /^[0-9a-f]{64}$/;

export async function statementsPage(_ctx: PageContext): Promise<HTMLElement> {
  const got = await keyOrNote();
  const root = h('div', { class: 'wallet' }, h('h1', {}, 'Statements'), walletNav());
  root.append(verifyForm(), verifyDetachedForm());
  if ('note' in got) return (root.prepend(got.note), root);
  root.append(signForm(got.key), signDetachedForm(got.key));
  return root;
}

function signForm(key: Parameters<typeof send>[0]): HTMLElement {
  const text = h('textarea', { rows: 3, cols: 60, maxlength: 1000, required: true });
  const out = status('sign-status');
  const form = h('form', { id: 'sign-statement', 'aria-labelledby': 'sign-h' }, h('h2', { id: 'sign-h' }, 'Sign a statement (recorded on chain)'),
    field('sign-text', 'Statement', text), h('button', { type: 'submit' }, 'Sign and record'), out);
  return onSubmit(form, out, async () => {
    const receipt = await send(key, 'ledger.sign', { text: text.value });
    return h('span', {}, 'Recorded: ', h('code', { id: 'statement-id' }, receipt.id), ' in block ', blockLink(receipt.height), ' (', txLink(receipt.id), ').');
  });
}

function verifyForm(): HTMLElement {
  const id = input({ required: true, maxlength: 64 });
  const out = status('verify-status');
  const form = h('form', { id: 'verify-statement', 'aria-labelledby': 'verify-h' }, h('h2', { id: 'verify-h' }, 'Verify a statement'),
    field('verify-id', 'Statement (transaction id)', id), h('button', { type: 'submit' }, 'Verify'), out);
  return onSubmit(form, out, async () => {
    if (!TX_ID.test(id.value.trim())) throw new Error('a statement id is 64 hex digits');
    const view = await api<TxView>(`/v1/txs/${id.value.trim()}`);
    const proof = await api<ProofView>(`/v1/txs/${id.value.trim()}/proof`);
    const v = view.envelope.tx.type === 'ledger.sign' ? verifyInclusion(view, proof, pinnedKey()) : { ok: false as const, reason: 'this transaction is not a statement (ledger.sign)' };
    const body = view.envelope.tx.body;
    return h('div', {}, verdictLine('the statement: signature, id, and inclusion in a block the pinned key signed', v), fields([
      ['signer (account)', h('code', {}, view.envelope.tx.from)],
      ['text', String(body.text ?? '')],
      ['digest', String(body.digest ?? '')],
      ['block', blockLink(view.receipt.height)],
    ]));
  });
}

function signDetachedForm(key: Parameters<typeof send>[0]): HTMLElement {
  const message = h('textarea', { rows: 2, cols: 60, maxlength: 4000, required: true });
  const out = status('detached-status');
  const form = h('form', { id: 'sign-detached', 'aria-labelledby': 'detached-h' }, h('h2', { id: 'detached-h' }, 'Sign a message (detached, nothing recorded)'),
    field('detached-message', 'Message', message), h('button', { type: 'submit' }, 'Sign'), out);
  return onSubmit(form, out, async () => {
    const sig = await webSigner({ privateKey: key.privateKey, pub: key.pub }).sign(messageBytes(message.value));
    return fields([['signer', h('code', {}, key.account)], ['signature', h('code', { id: 'detached-sig' }, sig)]]);
  });
}

function verifyDetachedForm(): HTMLElement {
  const signer = input({ required: true, maxlength: 64 });
  const message = h('textarea', { rows: 2, cols: 60, maxlength: 4000, required: true });
  const sig = input({ required: true, maxlength: 86 });
  const out = status('check-status');
  const form = h('form', { id: 'verify-detached', 'aria-labelledby': 'check-h' }, h('h2', { id: 'check-h' }, 'Verify a detached signature'),
    field('check-signer', 'Signer (name or account id)', signer), field('check-message', 'Message', message), field('check-sig', 'Signature', sig),
    h('button', { type: 'submit' }, 'Verify'), out);
  return onSubmit(form, out, async () => {
    const acct = await api<{ id: string; pub: string | null }>(`/v1/accounts/${encodeURIComponent(signer.value.trim())}`);
    if (!acct.pub) throw new Error('that account has no key');
    const ok = await webVerify(acct.pub, messageBytes(message.value), sig.value.trim());
    return verdictLine(`the signature by ${acct.id} (checked here against the key the node lists for the account)`, ok ? { ok: true } : { ok: false, reason: 'the signature does not verify' });
  });
}
