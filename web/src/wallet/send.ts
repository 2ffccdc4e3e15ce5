// Send with a preview: the recipient resolved by name to its account id (the id is what is
// signed, as `tally send` does), the amount, fee (none on Tally), the nonce and expiry, and
// the transaction id before anything is signed. "Sign and send" signs exactly the previewed
// transaction.
import { api } from '../api.js';
import { blockLink, txLink } from '../format.js';
import { fields, h, replace } from '../h.js';
import type { PageContext } from '../router.js';
import { prepare, submit, type Prepared } from './submit.js';
import { field, input, keyOrNote, onSubmit, status, walletNav } from './ui.js';

const AMOUNT = /^(?:0|[1-9]\d{0,18})(?:\.\d{1,18})?$/;

export async function sendPage(_ctx: PageContext): Promise<HTMLElement> {
  const got = await keyOrNote();
  const root = h('div', { class: 'wallet' }, h('h1', {}, 'Send'), walletNav());
  if ('note' in got) return (root.append(got.note), root);
  const { key } = got;
  const to = input({ required: true, maxlength: 64 });
  const amount = input({ required: true, maxlength: 40, inputmode: 'decimal' });
  const memo = input({ maxlength: 256 });
  const out = status('send-status');
  const previewPart = h('section', { id: 'preview', 'aria-label': 'preview' });
  const form = h('form', { id: 'send-form' },
    field('send-to', 'To (name or account id)', to),
    field('send-amount', 'Amount', amount, 'whole units, e.g. 12.5'),
    field('send-memo', 'Memo (public)', memo),
    h('button', { type: 'submit' }, 'Preview'), out);
  onSubmit(form, out, async () => {
    // A preview of the transfer before this one must not stay signable while this one loads.
    replace(previewPart);
    if (!AMOUNT.test(amount.value)) throw new Error('the amount is a decimal like 12.5 (no sign, no exponent)');
    const recipient = await api<{ id: string; name: string | null; registered: boolean }>(`/v1/accounts/${encodeURIComponent(to.value.trim())}`);
    if (!recipient.registered) throw new Error(`${to.value} has no registered account`);
    const body: Record<string, unknown> = { to: recipient.id, amount: amount.value };
    if (memo.value) body.memo = memo.value;
    const prepared = await prepare(key, 'ledger.send', body);
    replace(previewPart, preview(prepared, recipient, key.name));
    return 'Check the preview below, then sign.';
  });
  root.append(h('p', {}, `From key ${key.name} (account `, h('code', {}, key.account), ').'), form, previewPart);
  return root;

  function preview(p: Prepared, recipient: { id: string; name: string | null }, keyName: string): HTMLElement {
    const result = status('send-result');
    const confirm = h('form', { id: 'send-confirm' }, h('button', { type: 'submit' }, 'Sign and send'), result);
    onSubmit(confirm, result, async () => {
      const receipt = await submit(key, p);
      (confirm.querySelector('button') as HTMLButtonElement).remove();
      return h('span', { id: 'send-done' }, 'Sent: ', txLink(receipt.id), ' in block ', blockLink(receipt.height), '.');
    });
    return h('div', {}, h('h2', {}, 'Preview'), fields([
      ['to', [recipient.name ?? '(no name)', ' ', h('code', { id: 'preview-to' }, recipient.id)]],
      ['amount', h('strong', { id: 'preview-amount' }, String(p.tx.body.amount))],
      ['memo', String(p.tx.body.memo ?? '—')],
      ['fee', h('span', { id: 'preview-fee' }, 'none (Tally charges no fees)')],
      ['nonce', h('span', { id: 'preview-nonce' }, String(p.tx.nonce))],
      ['chain', p.tx.chain],
      ['valid until', new Date(p.tx.expires * 1000).toISOString()],
      ['transaction id', h('code', { id: 'preview-id' }, p.id)],
      ['signed by', `key ${keyName}, in this browser`],
    ]), confirm);
  }
}
