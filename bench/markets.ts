// Markets benchmark (`tally bench markets`, `npm run bench:markets`):
//   1. the matching core alone on one thread: random limit/IOC/FOK/post-only orders around
//      a mid price into an in-memory book (match + book upkeep), orders per second;
//   2. settlement: a future with N open positions (state written directly, half long,
//      half short), then one block whose attestation settles them all in endBlock: the
//      block's execution time (the one executor, in memory, like replay).
// The end-to-end rate through a node is not measured here yet.
import { MemoryBook } from '../src/modules/markets/memory-book.js';
import type { Tif } from '../src/modules/markets/matching.js';
import { marketLimits } from '../src/modules/markets/limits.js';
import { FUTURE, ORACLE, marketsWorld, rng } from '../src/modules/markets/testing.js';
import { accountKey, nameKey } from '../src/modules/ledger/state.js';
import { encodeValue } from '../src/chain/state.js';
import { positionKey, marketKey, type Market } from '../src/modules/markets/state.js';

export interface MarketsBenchResult {
  matching: { orders: number; seconds: number; orders_per_s: number; fills: number; resting_at_end: number };
  settlement: { positions: number; block_ms: number; writes: number };
  node_version: string;
}

export function benchMatching(orders: number): MarketsBenchResult['matching'] {
  const r = rng(42);
  const tifs: Tif[] = ['gtc', 'gtc', 'gtc', 'gtc', 'ioc', 'fok', 'post'];
  // Orders are made before the clock starts: the figure is the core's, not the generator's.
  const list = Array.from({ length: orders }, () => ({
    account: `t${Math.floor(r() * 1000)}`, side: (r() < 0.5 ? 'buy' : 'sell') as 'buy' | 'sell',
    price: 10_000 + Math.floor(r() * 200) - 100, size: 1 + Math.floor(r() * 50), tif: tifs[Math.floor(r() * tifs.length)]!,
  }));
  const book = new MemoryBook({ fillsMax: marketLimits.fillsPerOrderMax, scanMax: marketLimits.makersScannedMax });
  let fills = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < list.length; i++) fills += book.submit(list[i]!, `o${i}`).fills.length;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { orders, seconds: round(seconds), orders_per_s: Math.round(orders / seconds), fills, resting_at_end: book.size };
}

export function benchSettlement(positions: number): MarketsBenchResult['settlement'] {
  const w = marketsWorld({ traders: 0 });
  const maturity = Math.floor(w.chain.time / 1000) + 5;
  w.send(w.root, 'oracle.announce', { oracle: ORACLE, eventId: 'btc-2027', maturity });
  w.send(w.root, 'markets.create', FUTURE);
  // Write the positions straight into the committed state, as if they had traded.
  const state = w.chain.state.map;
  const collateral = 50_000_000n;
  for (let i = 0; i < positions; i++) {
    const id = i.toString(16).padStart(40, '0');
    state.set(accountKey(id), encodeValue({ name: `p${i}`, balance: '1000000000', created: 1 }));
    state.set(nameKey(`p${i}`), encodeValue(id));
    const long = i % 2 === 0;
    state.set(positionKey('btc-fut', id), encodeValue({ size: long ? 10 : -10, cost: long ? '500000' : '-500000', collateral: collateral.toString() }));
  }
  const escrowKey = accountKey(w.module('escrow'));
  const escrow = JSON.parse(state.get(escrowKey)!) as { balance: string };
  state.set(escrowKey, encodeValue({ ...escrow, balance: (collateral * BigInt(positions)).toString() }));
  const m = JSON.parse(state.get(marketKey('btc-fut'))!) as Market;
  state.set(marketKey('btc-fut'), encodeValue({ ...m, positions }));
  const tx = w.chain.tx(w.root, 'oracle.attest', { oracle: ORACLE, eventId: 'btc-2027', outcome: '47000' });
  const t0 = process.hrtime.bigint();
  const result = w.chain.execute([tx], { time: (maturity + 1) * 1000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const settled = result.events.filter((e) => e.type === 'markets.settled_position').length;
  if (settled !== positions) throw new Error(`settled ${settled} of ${positions} positions`);
  return { positions, block_ms: round(ms), writes: result.writes.size };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

export function runMarketsBench(options: { orders: number; positions: number }): MarketsBenchResult {
  const matching = benchMatching(options.orders);
  benchSettlement(Math.min(1000, options.positions)); // warm-up: the JIT, not the figure
  return { matching, settlement: benchSettlement(options.positions), node_version: process.version };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, def: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : def;
  };
  const r = runMarketsBench({ orders: arg('orders', 300_000), positions: arg('positions', 10_000) });
  process.stdout.write(JSON.stringify(r, null, 2) + '\n');
}
