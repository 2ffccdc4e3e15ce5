// Scenarios with the real oracle module: BIP340 announcements and attestations (the
// dlcspecs profile), through the one executor. A future settles from an attestation, an
// attestation beyond the digits' range settles at the bound, nonce-reuse evidence freezes
// the oracle and halts its market, a perpetual pays funding at each attested index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChainModule } from '../../chain/module.js';
import { TEST_GENESIS_TIME } from '../../chain/testing/test-chain.js';
import { toHex } from '../../core/encoding.js';
import { hashText } from '../../core/hash.js';
import { xOnly } from '../oracle/bip340.js';
import { oracleChain } from '../oracle/index.js';
import { announceBodyFor, attestBodyFor, newNonceSecrets, registerBodyFor } from '../oracle/sign.js';
import type { OracleKeeper } from './oracle-view.js';
import { FUTURE, PERP, marketsWorld, order, type World } from './testing.js';

const T0 = TEST_GENESIS_TIME / 1000;
const U = 1_000_000n;
const shape = { base: 10, signed: false, digits: 5, unit: 'USD/BTC', precision: 0 };
const profile = 'dlcspecs-v0' as const;

function setup(label: string) {
  const w = marketsWorld({ oracle: oracleChain as ChainModule<OracleKeeper> });
  const secret = hashText(`markets test oracle ${label}`);
  const pub = toHex(xOnly(secret));
  assert.equal(w.send(w.root, 'oracle.register', registerBodyFor(secret, 'test', w.root.id, profile, label) as never).status, 'ok');
  const events = new Map<string, Uint8Array[]>();
  const announce = (eventId: string, maturity: number) => {
    const nonces = newNonceSecrets(shape);
    events.set(eventId, nonces);
    const r = w.send(w.root, 'oracle.announce', announceBodyFor(secret, profile, { eventId, maturity, ...shape }, nonces) as never);
    assert.equal(r.status, 'ok', JSON.stringify(r));
  };
  const attestBody = (eventId: string, value: bigint) => {
    const { clamped: _c, ...body } = attestBodyFor(secret, profile, { eventId, ...shape }, value, events.get(eventId)!);
    return body;
  };
  const attest = (eventId: string, value: bigint, time?: number) => {
    const r = w.block([[w.traders[5]!, 'oracle.attest', attestBody(eventId, value) as never]], time === undefined ? {} : { time })[0]!;
    assert.equal(r.status, 'ok', JSON.stringify(r));
  };
  return { w, pub, secret, announce, attest, attestBody, events };
}

function openFuture(s: ReturnType<typeof setup>, maturity: number): World {
  s.announce('btc-2027', maturity);
  const r = s.w.send(s.w.root, 'markets.create', { ...FUTURE, oracles: [s.pub] });
  assert.equal(r.status, 'ok', JSON.stringify(r));
  return s.w;
}

test('real oracle: a future opens, the price moves, a position is liquidated, the rest settle at maturity from the attestation', () => {
  const s = setup('future');
  const w = openFuture(s, T0 + 60);
  const [alice, bob, carol, dave] = w.traders as [World['root'], World['root'], World['root'], World['root']];
  w.send(bob, 'markets.order', order('btc-fut', 'sell', 50_000, 10));
  w.send(alice, 'markets.order', order('btc-fut', 'buy', 50_000, 10));
  w.send(dave, 'markets.order', order('btc-fut', 'buy', 45_900, 20));
  w.block([[carol, 'markets.order', order('btc-fut', 'sell', 46_000, 1)], [dave, 'markets.order', order('btc-fut', 'buy', 46_000, 1)]]);
  assert.equal(w.position('btc-fut', alice), undefined, 'liquidated in endBlock with nobody online');
  const before = w.balance(bob);
  s.attest('btc-2027', 47_000n, (T0 + 61) * 1000);
  const m = w.market('btc-fut');
  assert.deepEqual([m.status, m.settlement], ['settled', 47_000]);
  assert.equal(w.balance(bob) - before, 80n * U);
  assert.equal(w.chain.raw('markets/pos/').length, 0);
  assert.equal(w.balance(w.module('escrow')), 0n);
});

test('real oracle: a price beyond the digits\' range is attested at the bound and settles there', () => {
  const s = setup('bound');
  const w = openFuture(s, T0 + 60);
  const [a, b] = w.traders as [World['root'], World['root']];
  w.send(b, 'markets.order', order('btc-fut', 'sell', 90_000, 1));
  w.send(a, 'markets.order', order('btc-fut', 'buy', 90_000, 1));
  const before = w.balance(a);
  s.attest('btc-2027', 250_000n, (T0 + 61) * 1000); // 5 digits: at most 99,999
  const m = w.market('btc-fut');
  assert.deepEqual([m.status, m.settlement], ['settled', 99_999]);
  // a: collateral 9 + (99,999 − 90,000) × 1000 = 9 + 9.999; b lost 9.999 of its 9: the fund is empty, a is cut to escrow's 18
  assert.equal(w.balance(a) - before, 18n * U);
});

test('real oracle: nonce-reuse evidence freezes the oracle and halts its market; the admin closes it at its mark', () => {
  const s = setup('reuse');
  const w = openFuture(s, T0 + 60);
  w.send(w.traders[1]!, 'markets.order', order('btc-fut', 'sell', 100, 2));
  w.send(w.traders[0]!, 'markets.order', order('btc-fut', 'buy', 100, 2));
  w.send(w.traders[0]!, 'markets.order', order('btc-fut', 'buy', 90, 1));
  s.announce('other', T0 + 1);
  // the oracle attests "other", then signs another outcome with the same nonces off chain
  s.attest('other', 123n);
  const a = s.attestBody('other', 123n);
  const b = s.attestBody('other', 124n);
  const r = w.send(w.traders[4]!, 'oracle.evidence', { oracle: s.pub, a: { outcome: a.outcomes[4], sig: a.sigs[4] }, b: { outcome: b.outcomes[4], sig: b.sigs[4] } });
  assert.equal(r.status, 'ok', JSON.stringify(r));
  assert.equal(w.market('btc-fut').status, 'halted');
  assert.equal(w.send(w.traders[0]!, 'markets.order', order('btc-fut', 'buy', 100, 1)).code, 'market_halted');
  // its only oracle is frozen: it can never settle by attestation; the admin closes it
  const c = w.send(w.root, 'markets.close', { market: 'btc-fut' });
  assert.equal(c.status, 'ok', JSON.stringify(c));
  assert.deepEqual([w.market('btc-fut').status, w.market('btc-fut').settlement], ['settled', 100]);
  assert.equal(w.chain.raw('markets/pos/').length + w.chain.raw('markets/book/').length, 0);
  assert.equal(w.held(w.traders[0]!), 0n);
});

test('real oracle: a perpetual pays funding at each attested index', () => {
  const s = setup('perp');
  const w = s.w;
  s.announce('btc-idx-1', T0 + 1);
  assert.equal(w.send(w.root, 'markets.create', { ...PERP, oracles: [s.pub] }).status, 'ok');
  s.attest('btc-idx-1', 50_000n);
  const [a, b] = w.traders as [World['root'], World['root']];
  w.send(b, 'markets.order', order('btc-perp', 'sell', 49_800, 10));
  w.send(a, 'markets.order', order('btc-perp', 'buy', 49_800, 10));
  s.announce('btc-idx-2', T0 + 2);
  const cb = BigInt(w.position('btc-perp', b)!.collateral);
  s.attest('btc-idx-2', 50_000n);
  // mark 49,800 below index 50,000: shorts pay longs 10 × 200 × 1000 = 2 units
  assert.equal(BigInt(w.position('btc-perp', b)!.collateral), cb - 2n * U);
  assert.equal(w.market('btc-perp').lastFunding, 'btc-idx-2');
});
