// The markets' WebSocket topics. WsTopic.message sees the committed block and its
// receipts; the book topic also reads the committed state (given by the markets service
// when the node starts), which is the state of the block being announced.
//   markets.book   (?market=ID): per block that changed the top of the book,
//                  {type:"book", market, height, prev, seq, changes:[[side, price, size]], checksum}
//                  — prev is the height of the previous message for this market: a client
//                  whose last height is not prev missed one and resyncs from
//                  GET /v1/markets/:id/book (a snapshot at a height); checksum covers the
//                  top 10 levels after the changes (checksum.ts). size 0 removes a level.
//   markets.trades (?market=ID): the block's fills {type:"trades", market, height, trades}
//   markets.account(?account=ID): the block's markets events naming the account
import { fail } from '../../core/errors.js';
import { ACCOUNT_ID } from '../../core/keys.js';
import type { WsTopic } from '../../chain/app-module.js';
import type { BlockCommitted } from '../../chain/blocks.js';
import type { TxEvent } from '../../chain/envelope.js';
import type { StateReader } from '../../chain/state.js';
import { scopedReader } from '../../chain/kernel.js';
import { bookChecksum } from './checksum.js';
import { bookView } from './queries.js';
import { MARKET_ID } from './state.js';

/** Levels per side the book feed tracks. */
export const FEED_LEVELS = 50;

let committed: StateReader | undefined;
/** The node's committed state, for the book topic (set by the markets service). */
export function setFeedState(state: StateReader | undefined): void {
  committed = state === undefined ? undefined : scopedReader(state, 'markets');
}

function marketOnly(topic: string, params: Record<string, string>): { market: string } {
  const keys = Object.keys(params);
  if (keys.some((k) => k !== 'market')) fail('bad_params', `${topic} takes only ?market=ID`);
  if (typeof params.market !== 'string' || !MARKET_ID.test(params.market)) fail('bad_params', 'market must be a market id');
  return { market: params.market };
}

type Levels = Array<[number, number]>;

/** Level changes from one depth to the next: [side, price, size] with size 0 for a level gone. */
export function bookChanges(before: { bids: Levels; asks: Levels }, after: { bids: Levels; asks: Levels }): Array<['buy' | 'sell', number, number]> {
  const out: Array<['buy' | 'sell', number, number]> = [];
  for (const [side, a, b] of [['buy', before.bids, after.bids], ['sell', before.asks, after.asks]] as const) {
    const old = new Map(a);
    const now = new Map(b);
    for (const [p, s] of b) if (old.get(p) !== s) out.push([side, p, s]);
    for (const [p] of a) if (!now.has(p)) out.push([side, p, 0]);
  }
  return out;
}

export function bookTopic(): WsTopic<{ market: string }> {
  const last = new Map<string, { height: number; seq: number; book: { bids: Levels; asks: Levels } }>();
  return {
    name: 'markets.book',
    summary: 'a market\'s book: per block that changed it, {type:"book", market, height, prev, seq, changes:[[side, price, size]], checksum}; snapshot from GET /v1/markets/:id/book',
    parse: (p) => marketOnly('markets.book', p),
    key: (p) => p.market,
    message(e, { market }) {
      if (!committed) return undefined;
      const book = bookView(committed, market, FEED_LEVELS);
      const prev = last.get(market);
      const changes = bookChanges(prev?.book ?? { bids: [], asks: [] }, book);
      if (prev && changes.length === 0) return undefined;
      const seq = (prev?.seq ?? 0) + 1;
      last.set(market, { height: e.block.header.height, seq, book });
      return { type: 'book', market, height: e.block.header.height, prev: prev?.height ?? null, seq, changes, checksum: bookChecksum(book) };
    },
  };
}

/** A block's events in order: its receipts', then its hooks' (endBlock: liquidations, ADL, settlement). */
function blockEvents(e: BlockCommitted): TxEvent[] {
  const out = e.receipts.flatMap((r) => r.events);
  if (e.hookEvents) out.push(...e.hookEvents);
  return out;
}

export const tradesTopic: WsTopic<{ market: string }> = {
  name: 'markets.trades',
  summary: 'a market\'s fills per block: {type:"trades", market, height, trades:[{seq, price, size, side, maker, taker}]}',
  parse: (p) => marketOnly('markets.trades', p),
  key: (p) => p.market,
  message(e, { market }) {
    const trades = blockEvents(e).filter((ev) => ev.type === 'markets.fill' && ev.market === market);
    return trades.length === 0 ? undefined : { type: 'trades', market, height: e.block.header.height, trades };
  },
};

export const accountTopic: WsTopic<{ account: string }> = {
  name: 'markets.account',
  summary: 'an account\'s markets events per block (orders, fills, positions, cancels): {type:"account", account, height, events}',
  parse(params) {
    if (Object.keys(params).some((k) => k !== 'account') || typeof params.account !== 'string' || !ACCOUNT_ID.test(params.account)) fail('bad_params', 'markets.account takes ?account=ID (40 hex)');
    return { account: params.account };
  },
  key: (p) => p.account,
  message(e, { account }) {
    const events = blockEvents(e).filter((ev) => ev.type.startsWith('markets.') && (ev.account === account || ev.maker === account || ev.taker === account || ev.counterparty === account));
    return events.length === 0 ? undefined : { type: 'account', account, height: e.block.header.height, events };
  },
};

export const marketsTopics = [bookTopic(), tradesTopic, accountTopic];
