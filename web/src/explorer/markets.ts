// Markets: every market as the node lists it (GET /v1/markets), refreshed per block. The
// list is the node's word; each market's own page proves its record against a header the
// pinned key signed.
import { api, ApiError, subscribe } from '../api.js';
import { h, replace } from '../h.js';
import { time } from '../format.js';
import type { PageContext } from '../router.js';
import { serial } from '../serial.js';

export interface MarketView {
  id: string;
  kind: 'future' | 'perpetual';
  status: 'active' | 'halted' | 'settled';
  oracles: string[];
  event?: string;
  series?: string;
  maturity?: number;
  last?: number;
  index?: number;
  mark?: number;
  settlement?: number;
  trades: number;
  positions: number;
  tickSize: number;
  lotSize: number;
  multiplier: string;
  initialMarginBps: number;
  maintenanceMarginBps: number;
  makerFeeBps: number;
  takerFeeBps: number;
  badDebt: string;
  created: number;
}

export const kindLabel = (k: string): string => (k === 'future' ? 'future (dated)' : k === 'perpetual' ? 'perpetual' : k);
export const price = (p: number | undefined): string => (p === undefined ? '—' : String(p));
export const maturityText = (m: MarketView): string => (m.maturity === undefined ? (m.kind === 'perpetual' ? 'none (perpetual)' : '—') : time(m.maturity * 1000));

/** The "as reported by the node" mark next to what the page cannot check. */
export function reported(what: string): HTMLElement {
  return h('span', { class: 'badge listed', 'data-verified': 'listed', title: `${what}: the node's answer, not checked in this browser` }, 'as reported by the node');
}

export const marketLink = (id: string): HTMLElement => h('a', { href: `#/market/${encodeURIComponent(id)}` }, id);

export async function marketsPage(ctx: PageContext): Promise<HTMLElement> {
  const body = h('tbody', {});
  const load = async () => {
    let list: MarketView[];
    try {
      list = (await api<{ markets: MarketView[] }>('/v1/markets', { signal: ctx.signal })).markets;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        replace(body, h('tr', {}, h('td', { colspan: 8 }, 'This node runs no markets module.')));
        return;
      }
      throw err;
    }
    replace(body, list.length === 0 ? h('tr', {}, h('td', { colspan: 8 }, 'No markets yet.')) : list.map((m) => h('tr', { 'data-market': m.id },
      h('td', {}, marketLink(m.id)), h('td', {}, kindLabel(m.kind)), h('td', {}, m.status),
      h('td', { class: 'num' }, price(m.mark)), h('td', { class: 'num' }, price(m.last)), h('td', { class: 'num' }, price(m.index)),
      h('td', {}, maturityText(m)), h('td', { class: 'num' }, String(m.positions)))));
  };
  await load();
  const reload = serial(load, 'markets');
  subscribe(reload, ctx.signal, '', reload);
  return h('div', { class: 'markets' },
    h('h1', {}, 'Markets'),
    h('p', {}, reported('the list of markets'), ' Prices are in each market\'s price units. Open a market for its record proven against a block the pinned key signed, its order book and its trades, live.'),
    h('table', { id: 'markets' }, h('caption', { class: 'sr' }, 'markets'),
      h('thead', {}, h('tr', {}, ['market', 'kind', 'status', 'mark', 'last', 'index', 'maturity', 'positions'].map((c) => h('th', { scope: 'col' }, c)))),
      body));
}
