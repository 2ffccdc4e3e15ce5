// Trade: place a limit order (markets.order) after a preview of exactly what will be signed
// (the order, its notional, the most margin and fee the chain will hold for it, the nonce
// and the transaction id), and cancel resting ones (markets.cancel), signed in this browser
// by the chosen key as every wallet transaction is (submit.ts). The
// account's resting orders and positions are the node's lists (GET
// /v1/markets/accounts/:id/orders and /positions), refreshed live from the markets.account
// topic; each order's transaction is on chain and its block verifies on the block page.
import { api, subscribe } from '../api.js';
import { blockLink, minorToUnits, txLink } from '../format.js';
import { fields, h, replace } from '../h.js';
import type { PageContext } from '../router.js';
import { serial } from '../serial.js';
import { reported, type MarketView } from '../explorer/markets.js';
import { prepare, send, submit, type Prepared } from './submit.js';
import { field, input, keyOrNote, onSubmit, status, walletNav } from './ui.js';

const POSITIVE = /^[1-9]\d{0,11}$/;

interface RestingOrder { id: string; market: string; side: string; price: number; size: number; orig: number; tif?: string }
interface Position { market: string; size: number; entry?: number; mark?: number; collateral: string; unrealisedPnl?: string }

export async function tradePage(ctx: PageContext): Promise<HTMLElement> {
  const got = await keyOrNote();
  const root = h('div', { class: 'wallet' }, h('h1', {}, 'Trade'), walletNav());
  if ('note' in got) return (root.append(got.note), root);
  const { key } = got;
  const markets = (await api<{ markets: MarketView[] }>('/v1/markets', { signal: ctx.signal })).markets.filter((m) => m.status === 'active');
  if (markets.length === 0) return (root.append(h('p', {}, 'No active market on this node.')), root);

  const market = h('select', {}, markets.map((m) => h('option', { value: m.id }, `${m.id} (${m.kind}, tick ${m.tickSize}, lot ${m.lotSize})`)));
  const side = h('select', {}, h('option', { value: 'buy' }, 'buy'), h('option', { value: 'sell' }, 'sell'));
  const tif = h('select', {}, [['gtc', 'good till cancelled'], ['post', 'post only'], ['ioc', 'immediate or cancel'], ['fok', 'fill or kill']].map(([v, l]) => h('option', { value: v! }, l!)));
  const price = input({ required: true, maxlength: 13, inputmode: 'numeric' });
  const size = input({ required: true, maxlength: 13, inputmode: 'numeric' });
  const out = status('order-status');
  const form = h('form', { id: 'order-form' },
    field('order-market', 'Market', market), field('order-side', 'Side', side),
    field('order-price', 'Limit price', price, 'price units, a multiple of the tick'),
    field('order-size', 'Size', size, 'size units, a multiple of the lot'),
    field('order-tif', 'Time in force', tif),
    h('button', { type: 'submit' }, 'Preview order'), out);
  const previewPart = h('section', { id: 'order-preview', 'aria-label': 'order preview' });

  const ordersBody = h('tbody', {});
  const positionsBody = h('tbody', {});
  const load = async () => {
    const [orders, positions] = await Promise.all([
      api<{ orders: RestingOrder[] }>(`/v1/markets/accounts/${key.account}/orders`, { signal: ctx.signal }),
      api<{ positions: Position[] }>(`/v1/markets/accounts/${key.account}/positions`, { signal: ctx.signal }),
    ]);
    replace(ordersBody, orders.orders.length === 0 ? h('tr', {}, h('td', { colspan: 6 }, 'no resting orders')) : orders.orders.map((o) => h('tr', { 'data-order': o.id },
      h('td', {}, o.market), h('td', {}, h('code', {}, o.id)), h('td', {}, o.side), h('td', { class: 'num' }, String(o.price)), h('td', { class: 'num' }, `${o.size} of ${o.orig}`),
      h('td', {}, cancelForm(o)))));
    replace(positionsBody, positions.positions.length === 0 ? h('tr', {}, h('td', { colspan: 6 }, 'no positions')) : positions.positions.map((p) => h('tr', { 'data-market': p.market },
      h('td', {}, h('a', { href: `#/market/${encodeURIComponent(p.market)}` }, p.market)), h('td', { class: 'num' }, String(p.size)), h('td', { class: 'num' }, p.entry === undefined ? '—' : String(p.entry)),
      h('td', { class: 'num' }, p.mark === undefined ? '—' : String(p.mark)), h('td', { class: 'num' }, p.collateral), h('td', { class: 'num' }, p.unrealisedPnl ?? '—'))));
  };
  const reload = serial(load, 'orders and positions');

  function cancelForm(o: RestingOrder): HTMLElement {
    const result = status(`cancel-${o.id}`);
    const f = h('form', { class: 'inline' }, h('button', { type: 'submit', 'aria-label': `cancel order ${o.id}` }, 'Cancel'), result);
    onSubmit(f, result, async () => {
      const receipt = await send(key, 'markets.cancel', { market: o.market, order: o.id });
      reload();
      return h('span', {}, 'cancelled: ', txLink(receipt.id));
    });
    return f;
  }

  onSubmit(form, out, async () => {
    if (!POSITIVE.test(price.value.trim()) || !POSITIVE.test(size.value.trim())) throw new Error('price and size are positive whole numbers');
    // A preview of the order before this one must not stay signable while this one loads.
    replace(previewPart);
    const m = markets.find((x) => x.id === market.value)!;
    const body = { market: m.id, side: side.value, price: Number(price.value.trim()), size: Number(size.value.trim()), tif: tif.value };
    replace(previewPart, orderPreview(await prepare(key, 'markets.order', body), m));
    return 'Check the preview below, then sign.';
  });

  /**
   * What will be signed, and what the chain holds for it: initial margin and the larger fee
   * on the notional at the limit price, floored, as src/modules/markets/margin.ts computes
   * them (the page may not import a module's code; test/web-markets.test.ts checks the two
   * agree). A sell below the best bid is held at the bid.
   */
  function orderPreview(p: Prepared, m: MarketView): HTMLElement {
    const b = p.tx.body as { side: string; price: number; size: number; tif: string };
    const n = BigInt(b.price) * BigInt(b.size) * BigInt(m.multiplier);
    const ofBps = (x: bigint, bp: number) => (x * BigInt(bp)) / 10_000n;
    const held = ofBps(n, m.initialMarginBps) + ofBps(n, Math.max(m.takerFeeBps, m.makerFeeBps));
    const units = (minor: bigint) => `${minorToUnits(minor.toString(), p.node.decimals)}`;
    const result = status('order-result');
    const confirm = h('form', { id: 'order-confirm' }, h('button', { type: 'submit' }, 'Sign and place order'), result);
    onSubmit(confirm, result, async () => {
      const receipt = await submit(key, p);
      (confirm.querySelector('button') as HTMLButtonElement).remove();
      const fills = receipt.events.filter((e) => e.type === 'markets.fill');
      const rested = receipt.events.find((e) => e.type === 'markets.order_rested');
      reload();
      return h('span', { id: 'order-done' }, 'Placed: ', txLink(receipt.id), ' in block ', blockLink(receipt.height),
        `; ${fills.length} fill${fills.length === 1 ? '' : 's'}`, rested ? `; ${String(rested.size)} resting as order ${String(rested.order)}` : '; nothing rests', '.');
    });
    return h('div', {}, h('h2', {}, 'Preview'), fields([
      ['order', h('span', { id: 'order-preview-order' }, `${b.side} ${b.size} ${m.id} at ${b.price} (${b.tif})`)],
      ['notional', `${units(n)} (price × size × multiplier ${m.multiplier})`],
      ['held at most', h('span', { id: 'order-preview-held' }, `${units(held)}: initial margin ${m.initialMarginBps} bps and fee ${Math.max(m.takerFeeBps, m.makerFeeBps)} bps of the notional`)],
      ['nonce', String(p.tx.nonce)],
      ['valid until', new Date(p.tx.expires * 1000).toISOString()],
      ['transaction id', h('code', { id: 'order-preview-id' }, p.id)],
      ['signed by', `key ${key.name}, in this browser`],
    ]), confirm);
  }

  await load();
  subscribe(reload, ctx.signal, `?topic=markets.account&account=${key.account}`, reload);
  root.append(h('p', {}, `Orders are signed by key ${key.name} (account `, h('code', {}, key.account), ') in this browser; the node sees the signed transaction only.'),
    form, previewPart,
    h('h2', {}, 'Resting orders ', reported('your resting orders')),
    h('table', { id: 'my-orders' }, h('caption', { class: 'sr' }, 'your resting orders'),
      h('thead', {}, h('tr', {}, ['market', 'order', 'side', 'price', 'size left', 'action'].map((c) => h('th', { scope: 'col' }, c)))), ordersBody),
    h('h2', {}, 'Positions ', reported('your positions')),
    h('table', { id: 'my-positions' }, h('caption', { class: 'sr' }, 'your positions'),
      h('thead', {}, h('tr', {}, ['market', 'size', 'entry', 'mark', 'collateral', 'unrealised PnL'].map((c) => h('th', { scope: 'col' }, c)))), positionsBody));
  return root;
}
