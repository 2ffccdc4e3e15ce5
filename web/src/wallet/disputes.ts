// Disputes: contest a transfer you sent or received (ledger.contest; the page fills in the
// transfer's block and index, as the CLI does) and second another's dispute (ledger.second).
import { api } from '../api.js';
import { txLink } from '../format.js';
import { h } from '../h.js';
import type { PageContext } from '../router.js';
import { send } from './submit.js';
import { field, input, keyOrNote, onSubmit, status, walletNav } from './ui.js';

export async function disputesPage(_ctx: PageContext): Promise<HTMLElement> {
  const got = await keyOrNote();
  const root = h('div', { class: 'wallet' }, h('h1', {}, 'Disputes'), walletNav());
  if ('note' in got) return (root.append(got.note), root);
  const { key } = got;

  const transfer = input({ required: true, maxlength: 64 });
  const reason = input({ maxlength: 256 });
  const cOut = status('contest-status');
  const contest = h('form', { id: 'contest', 'aria-labelledby': 'contest-h' }, h('h2', { id: 'contest-h' }, 'Contest a transfer'),
    field('contest-transfer', 'Transfer (ledger.send transaction id)', transfer), field('contest-reason', 'Reason', reason),
    h('button', { type: 'submit' }, 'Contest'), cOut);
  onSubmit(contest, cOut, async () => {
    const t = await api<{ height: number; index: number }>('/v1/query/ledger.transfer', { body: { transfer: transfer.value.trim() } });
    const body: Record<string, unknown> = { transfer: transfer.value.trim(), height: t.height, index: t.index };
    if (reason.value) body.reason = reason.value;
    const receipt = await send(key, 'ledger.contest', body);
    const opened = receipt.events.find((e) => e.type === 'ledger.dispute_opened');
    const n = typeof opened?.dispute === 'number' ? opened.dispute : undefined;
    return h('span', {}, 'Opened ', n !== undefined ? h('a', { href: `#/dispute/${n}`, id: 'dispute-opened' }, `dispute ${n}`) : 'a dispute', ' (', txLink(receipt.id), ').');
  });

  const dispute = input({ required: true, maxlength: 15, inputmode: 'numeric', pattern: '#?[0-9]+' });
  const sOut = status('second-status');
  const second = h('form', { id: 'second', 'aria-labelledby': 'second-h' }, h('h2', { id: 'second-h' }, 'Second a dispute'),
    field('second-dispute', 'Dispute number', dispute), h('button', { type: 'submit' }, 'Second'), sOut);
  onSubmit(second, sOut, async () => {
    const n = Number(dispute.value.replace(/^#/, ''));
    if (!Number.isSafeInteger(n) || n < 1) throw new Error('a dispute number is an integer from 1');
    const receipt = await send(key, 'ledger.second', { dispute: n });
    return h('span', {}, `Seconded dispute ${n} (`, txLink(receipt.id), ').');
  });
  root.append(contest, second);
  return root;
}
