// A markets world for tests and benchmarks: the test chain with ledger, a fake oracle and
// markets; funded genesis accounts (root is the admin); helpers that submit one block and
// check every module's invariants after it.
import assert from 'node:assert/strict';
import type { Receipt, TxEvent } from '../../chain/envelope.js';
import { createTestChain, testAccount, type TestAccount, type TestChain } from '../../chain/testing/test-chain.js';
import { ledgerChain } from '../ledger/index.js';
import { accountKey, moduleAccountId, type LedgerAccount } from '../ledger/state.js';
import { marketsChainModule } from './chain.js';
import { fakeOracleModule } from './fake-oracle.js';
import type { ChainModule } from '../../chain/module.js';
import type { OracleKeeper } from './oracle-view.js';
import { getMarket, getPosition, type Market, type Position } from './state.js';

export const ORACLE = 'a'.repeat(64);
export const ORACLE2 = 'b'.repeat(64);
export const ORACLE3 = 'c'.repeat(64);

export interface World {
  chain: TestChain;
  root: TestAccount;
  traders: TestAccount[];
  /** one block with these transactions; asserts the invariants after it */
  block(txs: Array<[TestAccount, string, Record<string, unknown>]>, options?: { time?: number; invariants?: boolean }): Receipt[];
  /** one transaction in its own block; its receipt */
  send(from: TestAccount, type: string, body: Record<string, unknown>): Receipt;
  balance(a: TestAccount | string): bigint;
  held(a: TestAccount | string): bigint;
  market(id: string): Market;
  position(id: string, a: TestAccount): Position | undefined;
  module(label: 'escrow' | 'fees' | 'insurance'): string;
  /** every beginBlock/endBlock event of the committed blocks, in order */
  hookEvents: TxEvent[];
}

export function marketsWorld(options: { traders?: number; balance?: string; oracle?: ChainModule<OracleKeeper> } = {}): World {
  const oracle = options.oracle ?? fakeOracleModule();
  const markets = marketsChainModule({ ledger: ledgerChain, oracle });
  const root = testAccount('root');
  const traders = Array.from({ length: options.traders ?? 6 }, (_, i) => testAccount(`trader${i}`));
  const chain = createTestChain([ledgerChain, oracle, markets], {
    modules: {
      ledger: {
        registration: { policy: 'closed' },
        accounts: [{ name: 'root', pub: root.pub, balance: '1000000' }, ...traders.map((t, i) => ({ name: `trader${i}`, pub: t.pub, balance: options.balance ?? '1000' }))],
        admins: ['root'],
      },
    },
  });
  const id = (a: TestAccount | string) => (typeof a === 'string' ? a : a.id);
  const w: World = {
    chain, root, traders,
    block(txs, opts = {}) {
      // a block at a given time: its transactions expire an hour after it, not after the tip
      const txOpts = opts.time === undefined ? {} : { expires: Math.floor(opts.time / 1000) + 3600 };
      const out = chain.block(txs.map(([a, type, body]) => chain.tx(a, type, body, txOpts)), opts.time === undefined ? {} : { time: opts.time });
      assert.deepEqual(out.excluded, [], 'no transaction excluded');
      if (out.block) w.hookEvents.push(...out.result.events);
      if (opts.invariants !== false) assert.deepEqual(chain.invariants(), [], `invariants after block ${chain.height}`);
      return out.receipts;
    },
    send(from, type, body) {
      return w.block([[from, type, body]])[0]!;
    },
    balance: (a) => BigInt(chain.get<LedgerAccount>(accountKey(id(a)))?.balance ?? '0'),
    held: (a) => BigInt(chain.get<LedgerAccount>(accountKey(id(a)))?.held ?? '0'),
    market: (m) => getMarket({ get: (k) => chain.get(k), entries: () => [] }, m)!,
    position: (m, a) => getPosition({ get: (k) => chain.get(k), entries: () => [] }, m, a.id),
    module: (label) => moduleAccountId('markets', label),
    hookEvents: [],
  };
  return w;
}

/** A future on ORACLE's event "btc-2027" (maturity an hour after the chain starts): price in whole dollars, a size unit = 0.001 of the minor unit scale. */
export const FUTURE = {
  id: 'btc-fut', kind: 'future', oracles: [ORACLE], event: 'btc-2027', tickSize: 1, lotSize: 1, multiplier: '1000',
  initialMarginBps: 1000, maintenanceMarginBps: 500, makerFeeBps: 2, takerFeeBps: 5, bandBps: 0, liquidationFeeBps: 50,
};

export const PERP = {
  id: 'btc-perp', kind: 'perpetual', oracles: [ORACLE], series: 'btc-idx-', tickSize: 1, lotSize: 1, multiplier: '1000',
  initialMarginBps: 1000, maintenanceMarginBps: 500, makerFeeBps: 0, takerFeeBps: 0, bandBps: 2000, fundingBps: 10_000, fundingCapBps: 100, liquidationFeeBps: 50,
};

export const order = (market: string, side: 'buy' | 'sell', price: number, size: number, extra: Record<string, unknown> = {}) => ({ market, side, price, size, ...extra });

/** A small deterministic generator (xorshift32): the same seed, the same orders. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

