// One market. Its record (state key markets/market/<id>: status, last and index prices,
// trades and positions counts, parameters) is proven here against the stateRoot of a block
// the pinned key signed (GET /v1/state/proof). The order book and the trades are the
// node's word, kept live: the book from a snapshot plus the markets.book deltas, checked
// against the feed's checksum and taken again when one was missed (book-sync.ts); trades
// from markets.trades. The mark is computed by the node and shown as reported.
import { api, ApiError, subscribe } from '../api.js';
import { badge, setBadge } from '../badge.js';
import { fields, h, replace, short } from '../h.js';
import { accountLink, blockLink, time } from '../format.js';
import { pinnedKey } from '../pin.js';
import type { PageContext } from '../router.js';
import { serial } from '../serial.js';
import { verifyKeyBundle } from '../verify.js';
import { BookSync, FEED_LEVELS, CHECKSUM_LEVELS, type BookMessage, type BookSnapshot, type Level } from './book-sync.js';
import { kindLabel, maturityText, price, reported, type MarketView } from './markets.js';

const TRADES_SHOWN = 20;
const SNAPSHOT_TRIES = 3;
const MARKET_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

interface Trade { seq: number; height: number; time?: number; price: number; size: number; side: string; maker: string; taker: string; kind?: string; liquidation?: boolean; adl?: boolean }
interface TradesMessage { type: 'trades'; market: string; height: number; trades: Trade[] }

export async function marketPage(ctx: PageContext): Promise<HTMLElement> {
  const id = ctx.params.id ?? '';
  if (!MARKET_ID.test(id)) return h('p', { role: 'alert' }, 'A market id is 1 to 32 lowercase letters, digits and dashes.');
  const stateKey = `markets/market/${id}`;

  // The record, proven.
  const recordBadge = badge(`market ${id}'s record`);
  recordBadge.id = 'market-record';
  const recordPart = h('div', {});
  const markEl = h('span', { id: 'mark' }, '—');
  const loadRecord = async () => {
    const [bundle, view] = await Promise.all([
      api(`/v1/state/proof?key=${encodeURIComponent(stateKey)}`, { signal: ctx.signal }),
      // An unknown market is a 404 here; the proof says so for itself.
      api<MarketView>(`/v1/markets/${id}`, { signal: ctx.signal }).catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      }),
    ]);
    markEl.textContent = price(view?.mark);
    const v = verifyKeyBundle(bundle, stateKey, pinnedKey());
    setBadge(recordBadge, v.ok ? { ok: true } : v, `market ${id}'s record`);
    if (!v.ok) {
      replace(recordPart, h('p', { class: 'reason' }, `Not shown: ${v.reason}`));
      return;
    }
    const m = v.value as MarketView | null;
    absent = m === null;
    if (m === null) {
      replace(recordPart, h('p', {}, `No market ${id} at block ${v.proven.height} (proven absent).`));
      return;
    }
    replace(recordPart, fields([
      ['kind', kindLabel(m.kind)],
      ['status', h('strong', { id: 'market-status' }, m.status)],
      ['last price', h('span', { id: 'last' }, price(m.last))],
      ['index price', price(m.index)],
      ...(m.settlement !== undefined ? [['settlement price', String(m.settlement)] as [string, string]] : []),
      ['maturity', maturityText(m)],
      [m.kind === 'future' ? 'event' : 'series', h('code', {}, m.event ?? m.series ?? '—')],
      ['trades', h('span', { id: 'trade-count' }, String(m.trades))],
      ['open positions', h('span', { id: 'position-count' }, String(m.positions))],
      ['tick / lot / multiplier', `${m.tickSize} / ${m.lotSize} / ${m.multiplier}`],
      ['margins (initial / maintenance)', `${m.initialMarginBps} / ${m.maintenanceMarginBps} bps`],
      ['fees (maker / taker)', `${m.makerFeeBps} / ${m.takerFeeBps} bps`],
      ['bad debt (minor units)', m.badDebt],
      ['oracles', h('ul', { class: 'plain' }, m.oracles.map((o) => h('li', {}, short(o))))],
      ['created at', blockLink(m.created)],
      ['proven at', [blockLink(v.proven.height), ' stateRoot ', short(v.proven.stateRoot)]],
    ]));
  };
  let absent = false;
  await loadRecord();
  if (absent) return h('div', { class: 'market' }, h('h1', {}, `Market ${id} `, recordBadge), recordPart);
  const reloadRecord = serial(loadRecord, `market ${id}`);

  // The book: snapshot, then deltas; a gap or a checksum that differs takes a new snapshot.
  const sync = new BookSync();
  const bidsBody = h('tbody', {});
  const asksBody = h('tbody', {});
  const bookStatus = h('p', { id: 'book-status', class: 'hint', 'data-resyncs': 0 });
  let resyncs = 0;
  let pending: BookMessage[] | null = null;
  /** why the latest snapshot is not to be trusted, shown with the book */
  let snapshotProblem = '';
  const drawBook = () => {
    const rows = (levels: Level[], side: string) => levels.length === 0
      ? h('tr', {}, h('td', { colspan: 2 }, `no ${side}`))
      : levels.slice(0, CHECKSUM_LEVELS).map(([p, s]) => h('tr', {}, h('td', { class: 'num' }, String(p)), h('td', { class: 'num' }, String(s))));
    replace(bidsBody, rows(sync.bids, 'bids'));
    replace(asksBody, rows(sync.asks, 'asks'));
    bookStatus.dataset.height = String(sync.height ?? '');
    bookStatus.dataset.resyncs = String(resyncs);
    bookStatus.textContent = `At block ${sync.height ?? '—'}; ${resyncs} resync${resyncs === 1 ? '' : 's'} from the node's snapshot${resyncs > 0 ? ` (last: ${sync.reason})` : ''}.`;
    if (snapshotProblem) bookStatus.append(' ', h('span', { class: 'reason', role: 'alert' }, `The book shown may be wrong: ${snapshotProblem}.`));
  };
  const onBook = (m: BookMessage) => {
    if (m.type !== 'book' || m.market !== id) return;
    if (pending) {
      pending.push(m);
      return;
    }
    if (sync.apply(m) === 'resync') {
      resyncs++;
      void snapshot();
    }
    drawBook();
  };
  const snapshot = async () => {
    if (pending) return;
    pending = [];
    try {
      snapshotProblem = '';
      let ok = false;
      for (let i = 0; i < SNAPSHOT_TRIES && !ok; i++) ok = sync.reset(await api<BookSnapshot>(`/v1/markets/${id}/book?depth=${FEED_LEVELS}`, { signal: ctx.signal }));
      if (!ok) snapshotProblem = sync.reason;
    } catch (err) {
      snapshotProblem = `no snapshot: ${(err as Error).message}`;
    }
    const queued = pending;
    pending = null;
    for (const m of queued) onBook(m);
    drawBook();
  };
  await snapshot();
  subscribe<BookMessage>(onBook, ctx.signal, `?topic=markets.book&market=${id}`, () => { void snapshot(); });

  // Trades: the latest from HTTP, then each block's fills from the feed.
  const trades = new Map<number, Trade>();
  const tradesBody = h('tbody', {});
  const drawTrades = () => {
    const shown = [...trades.values()].sort((a, b) => b.seq - a.seq).slice(0, TRADES_SHOWN);
    for (const t of trades.keys()) if (!shown.some((s) => s.seq === t)) trades.delete(t);
    replace(tradesBody, shown.length === 0 ? h('tr', {}, h('td', { colspan: 8 }, 'no trades yet')) : shown.map((t) => h('tr', { 'data-seq': t.seq },
      h('td', { class: 'num' }, String(t.seq)), h('td', {}, blockLink(t.height)), h('td', {}, t.time === undefined ? '—' : time(t.time)),
      h('td', { class: 'num' }, String(t.price)), h('td', { class: 'num' }, String(t.size)), h('td', {}, t.side),
      h('td', {}, t.kind ?? (t.adl ? 'adl' : t.liquidation ? 'liquidation' : 'trade')),
      h('td', {}, accountLink(t.maker), ' / ', accountLink(t.taker)))));
  };
  const loadTrades = async () => {
    const got = await api<{ trades: Trade[] }>(`/v1/markets/${id}/trades?limit=${TRADES_SHOWN}`, { signal: ctx.signal });
    for (const t of got.trades) trades.set(t.seq, t);
    drawTrades();
  };
  await loadTrades();
  const reloadTrades = serial(loadTrades, 'trades');
  subscribe<TradesMessage>((m) => {
    if (m.type !== 'trades' || m.market !== id || !Array.isArray(m.trades)) return;
    for (const t of m.trades) if (!trades.has(t.seq)) trades.set(t.seq, { ...t, height: m.height });
    drawTrades();
    // The feed's fills carry no time: the node's list has it (and the kind).
    reloadTrades();
    reloadRecord();
  }, ctx.signal, `?topic=markets.trades&market=${id}`, () => {
    reloadTrades();
    reloadRecord();
  });

  drawBook();
  const side = (label: string, body: HTMLElement, tableId: string) => h('table', { id: tableId, class: 'book' },
    h('caption', {}, label), h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'price'), h('th', { scope: 'col' }, 'size'))), body);
  return h('div', { class: 'market' },
    h('h1', {}, `Market ${id} `, recordBadge),
    h('p', {}, 'The record below is proven against a block the pinned key signed (state key ', h('code', {}, stateKey), ').'),
    recordPart,
    fields([['mark price', [markEl, ' ', reported('the mark price')]]]),
    h('h2', {}, 'Order book ', reported('the order book')),
    h('p', { class: 'hint' }, `Top ${CHECKSUM_LEVELS} levels per side, best first. Kept live from the node's deltas; each is checked against the node's checksum of the top levels, which shows the page applied them as the node did, not that the node told the truth.`),
    h('div', { class: 'book-sides' }, side('bids (buy)', bidsBody, 'book-bids'), side('asks (sell)', asksBody, 'book-asks')),
    bookStatus,
    h('h2', {}, 'Recent trades ', reported('the trades')),
    h('table', { id: 'trades' }, h('caption', { class: 'sr' }, 'recent trades, newest first'),
      h('thead', {}, h('tr', {}, ['seq', 'block', 'time', 'price', 'size', 'taker side', 'kind', 'maker / taker'].map((c) => h('th', { scope: 'col' }, c)))),
      tradesBody),
    h('p', { class: 'hint' }, 'Each fill is an event in a transaction\'s receipt (or the block\'s endBlock); the block link shows the block verified.'));
}
