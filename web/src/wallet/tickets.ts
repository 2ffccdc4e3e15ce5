// Tickets from the page (README, "Tickets: paid anonymous access"): make a PID here (the
// browser's CSPRNG), pay it with a ledger.send to the service account whose memo is the
// PID's tag (never the PID: memos are public), redeem the PID for a token, and look at the
// token. PIDs and tokens stay in this browser's localStorage until redeemed and used; the
// PID goes to the node only when redeeming, as with `tally ticket redeem`.
import { newPid, tallyMemoTag } from '../../../src/core/tickets-pid.js';
import { api, ApiError } from '../api.js';
import { txLink } from '../format.js';
import { fields, h, replace } from '../h.js';
import type { PageContext } from '../router.js';
import { send } from './submit.js';
import { keyOrNote, onSubmit, status, walletNav } from './ui.js';

const PIDS = 'tally.wallet.tickets';
const PIDS_MAX = 50;

interface Ticket { pid: string; created: string; paid?: string; token?: string }
interface Service { sources: { tally?: { account: string; minAmount: string; price: string | null; decimals: number } } }

function load(): Ticket[] {
  try {
    const v = JSON.parse(localStorage.getItem(PIDS) ?? '[]') as unknown;
    return Array.isArray(v) ? (v as Ticket[]).filter((t) => typeof t?.pid === 'string') : [];
  } catch {
    return [];
  }
}

function save(list: Ticket[]): void {
  localStorage.setItem(PIDS, JSON.stringify(list.slice(-PIDS_MAX)));
}

function update(pid: string, change: Partial<Ticket>): void {
  save(load().map((t) => (t.pid === pid ? { ...t, ...change } : t)));
}

export async function ticketsPage(ctx: PageContext): Promise<HTMLElement> {
  const root = h('div', { class: 'wallet' }, h('h1', {}, 'Tickets'), walletNav());
  let service: Service;
  try {
    service = await api<Service>('/api/v1/tickets', { signal: ctx.signal });
  } catch (err) {
    if (err instanceof ApiError && err.code === 'tickets_disabled') return (root.append(h('p', {}, 'This node sells no tickets (its tickets module is off).')), root);
    throw err;
  }
  const tally = service.sources.tally;
  const got = await keyOrNote();
  const list = h('section', { 'aria-labelledby': 'pids-h' });
  const draw = () => replace(list, h('h2', { id: 'pids-h' }, 'Your payment ids'), load().length === 0 ? h('p', {}, 'None yet.') : load().map((t) => ticketView(t, tally, got, draw)));
  const make = h('form', { id: 'new-pid' }, h('button', { type: 'submit' }, 'Make a payment id (PID)'), status('pid-status'));
  onSubmit(make, make.querySelector('.status') as HTMLElement, async () => {
    const pid = newPid();
    save([...load(), { pid, created: new Date().toISOString() }]);
    draw();
    return h('span', {}, 'New PID ', h('code', { id: 'new-pid-value' }, pid));
  });
  root.append(
    tally ? fields([['service account', h('code', {}, tally.account)], ['price', tally.price ?? `at least ${tally.minAmount}`]]) : h('p', {}, 'This service takes no Tally payments.'),
    h('p', { class: 'hint' }, 'A PID is a secret until it is redeemed: whoever holds it can redeem its token. It stays in this browser.'),
    make, list);
  draw();
  return root;
}

function ticketView(t: Ticket, tally: Service['sources']['tally'], got: Awaited<ReturnType<typeof keyOrNote>>, draw: () => void): HTMLElement {
  const out = status(`ticket-status-${t.pid}`);
  const tag = tallyMemoTag(t.pid);
  const pay = h('form', { class: 'inline', id: `pay-${t.pid}` }, h('button', { type: 'submit', disabled: !tally || !('key' in got) }, 'Pay'));
  onSubmit(pay, out, async () => {
    if (!tally || !('key' in got)) throw new Error('choose a key first, on a node that takes Tally payments');
    const amount = tally.price ?? tally.minAmount;
    const to = await api<{ id: string }>(`/v1/accounts/${encodeURIComponent(tally.account)}`);
    const receipt = await send(got.key, 'ledger.send', { to: to.id, amount, memo: tag });
    update(t.pid, { paid: receipt.id });
    draw();
    return h('span', {}, `Paid ${amount}: `, txLink(receipt.id));
  });
  const redeem = h('form', { class: 'inline', id: `redeem-${t.pid}` }, h('button', { type: 'submit' }, 'Redeem'));
  onSubmit(redeem, out, async () => {
    const r = await api<{ status: string; token?: string; balance?: string }>('/api/v1/redeem', { body: { pid: t.pid } });
    if (r.token) update(t.pid, { token: r.token });
    draw();
    return `${r.status}${r.balance ? `, balance ${r.balance}` : ''}`;
  });
  const check = h('form', { class: 'inline', id: `check-${t.pid}` }, h('button', { type: 'submit', disabled: !t.token }, 'Check token'));
  onSubmit(check, out, async () => {
    const r = await api<Record<string, unknown>>(`/api/v1/token/${t.token}`);
    return `token ${String(r.status)}: balance ${String(r.balance)}, spent ${String(r.spent)}`;
  });
  return h('article', { class: 'ticket', 'aria-label': `ticket ${t.pid}` }, fields([
    ['PID', h('code', {}, t.pid)],
    ['memo tag (what the payment carries)', h('code', {}, tag)],
    ['payment', t.paid ? txLink(t.paid) : 'not paid from here'],
    ['token', t.token ? h('code', { class: 'token', id: `token-${t.pid}` }, t.token) : 'not redeemed'],
  ]), pay, ' ', redeem, ' ', check, out);
}
