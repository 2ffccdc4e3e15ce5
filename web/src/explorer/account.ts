// An account: its name, id and balance proven here against the stateRoot of a block the
// pinned key signed (GET /v1/accounts/:name/proof, src/core/state-bundle.ts); its history
// and disputes as the node lists them, each transaction linking to its own proof. Live:
// the ledger.account topic refreshes the page when a block touches the account.
import { api, ApiError, subscribe } from '../api.js';
import { badge, verdictLine } from '../badge.js';
import { fields, h, replace, short } from '../h.js';
import { accountLink, blockLink, json, minorToUnits, time, txLink } from '../format.js';
import { pinnedKey } from '../pin.js';
import type { PageContext } from '../router.js';
import { cachedInfo, refreshInfo } from '../shell.js';
import { verifyAccountBundle } from '../verify.js';

const HISTORY_LIMIT = 25;

interface HistoryItem { id: string; height: number; index: number; time: number; type: string; status: string; code?: string; change?: string; counterparty?: { id: string; name: string | null } | null; memo?: string; events?: Array<Record<string, unknown>> }
interface History { account: { id: string; name: string | null }; items: HistoryItem[]; next: string | null }

export async function accountPage(ctx: PageContext): Promise<HTMLElement> {
  const name = ctx.params.name ?? '';
  const decimals = (cachedInfo() ?? await refreshInfo(ctx.signal)).decimals;
  const proofPart = h('section', { 'aria-label': 'proven state' });
  const historyPart = h('section', { 'aria-label': 'history' });
  let accountId: string | null = null;

  const load = async () => {
    const bundle = await api(`/v1/accounts/${encodeURIComponent(name)}/proof`, { signal: ctx.signal });
    const v = verifyAccountBundle(bundle, pinnedKey());
    if (!v.ok) {
      replace(proofPart, verdictLine('this account\'s state proof', v));
      return;
    }
    const p = v.proven;
    const acct = p.account;
    accountId = acct?.id ?? null;
    replace(proofPart,
      verdictLine(`the account at block ${p.height}`, { ok: true }),
      acct === null || acct === undefined
        ? h('p', {}, `No account "${name}" at block ${p.height} (proven absent).`)
        : fields([
          ['name', acct.name],
          ['id', h('code', {}, acct.id)],
          ['balance', h('strong', { id: 'balance' }, minorToUnits(acct.balance, decimals))],
          ['held (disputes)', minorToUnits(acct.held, decimals)],
          ['available', minorToUnits((BigInt(acct.balance) - BigInt(acct.held)).toString(), decimals)],
          ['registered at', acct.created === 0 ? 'genesis' : blockLink(acct.created)],
          ['proven at', [blockLink(p.height), ' stateRoot ', short(p.stateRoot)]],
        ]));
    if (!acct) {
      replace(historyPart);
      return;
    }
    replace(historyPart, await historyView(name, decimals, ctx.signal));
  };
  await load();
  if (accountId) {
    let busy = false;
    let again = false;
    const reload = () => {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      load().catch((err: Error) => console.warn(err.message)).finally(() => {
        busy = false;
        if (again) {
          again = false;
          reload();
        }
      });
    };
    // Reloaded when the stream opens too: a block may have committed since the first load.
    subscribe(reload, ctx.signal, `?topic=ledger.account&account=${accountId}`, reload);
  }
  return h('div', { class: 'account' }, h('h1', {}, `Account ${name}`), proofPart, historyPart);
}

async function historyView(name: string, decimals: number, signal: AbortSignal): Promise<HTMLElement> {
  let history: History;
  try {
    history = await api<History>(`/v1/accounts/${encodeURIComponent(name)}/history?limit=${HISTORY_LIMIT}`, { signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return h('p', {}, 'No history.');
    throw err;
  }
  const disputes = new Set<number>();
  for (const item of history.items) for (const e of item.events ?? []) if (typeof e.dispute === 'number') disputes.add(e.dispute);
  const note = badge('history');
  note.className = 'badge listed';
  note.dataset.verified = 'listed';
  note.textContent = 'as listed by the node';
  note.title = 'The list is the node\'s; open a transaction to verify its inclusion.';
  return h('div', {},
    h('h2', {}, 'History ', note),
    history.items.length === 0 ? h('p', {}, 'No transactions yet.') : h('table', {},
      h('thead', {}, h('tr', {}, ['time', 'transaction', 'type', 'change', 'counterparty', 'status'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, history.items.map((i) => h('tr', {},
        h('td', {}, time(i.time)), h('td', {}, txLink(i.id)), h('td', {}, i.type), h('td', { class: 'num' }, i.change ?? ''),
        h('td', {}, i.counterparty ? accountLink(i.counterparty.name ?? i.counterparty.id) : '—'), h('td', {}, i.status + (i.code ? ` (${i.code})` : '')))))),
    h('h2', {}, 'Disputes'),
    disputes.size === 0 ? h('p', {}, 'None in this history.') : h('ul', {}, [...disputes].sort((a, b) => a - b).map((d) => h('li', {}, h('a', { href: `#/dispute/${d}` }, `dispute ${d}`)))),
    h('p', { class: 'hint' }, `Amounts in whole units (${decimals} decimals).`));
}

export async function disputePage(ctx: PageContext): Promise<HTMLElement> {
  const id = ctx.params.id ?? '';
  if (!/^\d{1,15}$/.test(id)) return h('p', { role: 'alert' }, 'A dispute is a number.');
  const d = await api<Record<string, unknown>>(`/v1/disputes/${id}`, { signal: ctx.signal });
  const transfer = typeof d.transfer === 'string' ? d.transfer : null;
  return h('div', { class: 'dispute' },
    h('h1', {}, `Dispute ${id}`),
    h('p', {}, 'As the node reports it. ', transfer && /^[0-9a-f]{64}$/.test(transfer) ? ['The disputed transfer: ', txLink(transfer), ' (verified on its page).'] : ''),
    fields(Object.entries(d).map(([k, v]) => [k, typeof v === 'object' ? json(v) : String(v)])));
}
