// The executor's contract: deterministic (key order, clock and randomness do not matter),
// values read from state are frozen, a module's bug stops the block instead of becoming a
// failed receipt, a module stays inside its prefix, and a refused transaction changes
// nothing but what the rules say (its nonce).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../core/canonical.js';
import { fail } from '../core/errors.js';
import type { ChainModule, TxContext, TxType } from './module.js';
import { DEMO_REFUSED, demoModule } from './testing/demo-module.js';
import { createTestChain, testAccount, type TestChain } from './testing/test-chain.js';
import type { Envelope } from './envelope.js';

const alice = () => testAccount('alice');
const bob = () => testAccount('bob');

/** The same three blocks: open accounts, nested writes (one refused), a deletion. */
function runDemo(chain: TestChain): void {
  const [a, b] = [alice(), bob()];
  chain.block([chain.tx(a, 'demo.open', {}), chain.tx(b, 'demo.open', {})]);
  chain.block([chain.tx(a, 'demo.put', { key: 'x', value: 'one' }), chain.tx(b, 'demo.put', { key: 'y', value: DEMO_REFUSED }), chain.tx(b, 'demo.put', { key: 'z', value: 'two' })]);
  chain.block([chain.tx(a, 'demo.del', { key: 'x' }), chain.tx(a, 'demo.put', { key: 'x', value: 'three' })]);
}

test('two builds of a module that differ only in key order give the same receipts, writes and roots', () => {
  const ab = createTestChain([demoModule({ order: 'ab' })]);
  const ba = createTestChain([demoModule({ order: 'ba' })]);
  runDemo(ab);
  runDemo(ba);
  assert.equal(ab.height, 3);
  for (let h = 0; h <= 3; h++) {
    const [x, y] = [ab.entries[h]!, ba.entries[h]!];
    assert.deepEqual(y.block, x.block, `block ${h}: same header, roots, hash and signature`);
    assert.deepEqual([...y.writes], [...x.writes], `block ${h}: same writes, byte for byte`);
    assert.equal(canonicalJson(y.txs.map((t) => t.receipt)), canonicalJson(x.txs.map((t) => t.receipt)));
  }
  // Not vacuous: the two builds did emit their objects in different orders.
  const events = (c: TestChain) => JSON.stringify(c.entries[2]!.txs[0]!.receipt.events);
  assert.notEqual(events(ab), events(ba));
  // And what is stored is the canonical text, nested objects included.
  assert.equal(ab.state.get('demo/kv/z'), '{"a":{"c":[1,{"y":2,"z":1}],"d":2},"b":"two"}');
  // The refused put wrote before failing: its write is gone, its nonce is used.
  assert.equal(ab.get('demo/kv/y'), undefined);
  assert.equal(ab.entries[2]!.txs[1]!.receipt.status, 'failed');
  assert.equal(ab.entries[2]!.txs[1]!.receipt.code, 'refused');
  assert.equal(ab.accounts().nonceOf(bob().id), 3);
});

test('execution reads neither the clock nor Math.random: the same block gives the same result whatever they say', () => {
  const chain = createTestChain([demoModule()]);
  const a = alice();
  chain.block([chain.tx(a, 'demo.open', {})]);
  const envs = [chain.tx(a, 'demo.put', { key: 'k', value: 'v' })];
  const [now, random] = [Date.now, Math.random];
  const results = [];
  try {
    for (const fake of [1, 9e12]) {
      Date.now = () => fake;
      Math.random = () => fake % 1;
      results.push(chain.execute(envs, { time: chain.time + 5 }));
    }
  } finally {
    Date.now = now;
    Math.random = random;
  }
  assert.equal(results[0]!.stateRoot, results[1]!.stateRoot);
  assert.equal(results[0]!.txRoot, results[1]!.txRoot);
  // The header's time is what execution sees: another time is another root.
  const open = [chain.tx(testAccount('carol'), 'demo.open', {})];
  assert.notEqual(chain.execute(open, { time: chain.time + 5 }).stateRoot, chain.execute(open, { time: chain.time + 6 }).stateRoot);
});

test('executing a block does not change its parent state', () => {
  const chain = createTestChain([demoModule()]);
  const a = alice();
  chain.block([chain.tx(a, 'demo.open', {})]);
  const before = [...chain.state.map];
  const result = chain.execute([chain.tx(a, 'demo.put', { key: 'k', value: 'v' })]);
  assert.equal(result.receipts[0]!.status, 'ok');
  assert.deepEqual([...chain.state.map], before);
});

// A module with bugs on request: its genesis writes one nested value it then misuses.
const buggy: ChainModule = {
  name: 'bug',
  genesis: {
    validate: (s) => s ?? {},
    init: ({ state }) => state.set('bug/v', { n: 1, inner: { list: [1] } }),
    defaults: () => ({}),
  },
  queries: [],
  txTypes: ([
    ['mutate', (ctx) => { (ctx.state.get('bug/v') as { n: number }).n = 2; }],
    ['mutatenested', (ctx) => { (ctx.state.get('bug/v') as { inner: { list: number[] } }).inner.list.push(2); }],
    ['crash', () => { throw new Error('boom'); }],
    ['typo', (ctx) => { Object.keys((ctx.state.get('bug/missing') as { n: object }).n); }],
    ['refuse', (ctx) => { ctx.state.set('bug/v', 0); fail('nope', 'refused'); }],
    ['trespass', (ctx) => { ctx.state.set('demo/kv/x', 1); }],
    ['forgeauth', (ctx) => { ctx.state.set('auth/' + '0'.repeat(40), { pub: 'x', nonce: 0 }); }],
  ] as Array<[string, (ctx: TxContext) => void]>).map(([action, body]): TxType => ({
    type: `bug.${action}`,
    opensAccount: true,
    parse: () => ({}),
    apply(ctx) {
      body(ctx);
      return [];
    },
  })),
};

function bugChain(): { chain: TestChain; send: (action: string) => Envelope[] } {
  const chain = createTestChain([demoModule(), buggy]);
  const a = alice();
  return { chain, send: (action) => [chain.tx({ ...a }, `bug.${action}`, {}, { nonce: 0 })] };
}

test('a module that mutates a value read from state throws (values are deep-frozen), and the block is not made', () => {
  const { chain, send } = bugChain();
  const before = [...chain.state.map];
  assert.throws(() => chain.block(send('mutate')), TypeError);
  assert.throws(() => chain.block(send('mutatenested')), TypeError);
  assert.equal(chain.height, 0);
  assert.deepEqual([...chain.state.map], before);
});

test('a non-TallyError thrown by a module makes executeBlock throw, not record a failed receipt', () => {
  const { chain, send } = bugChain();
  assert.throws(() => chain.execute(send('crash')), /^Error: boom$/);
  assert.throws(() => chain.execute(send('typo')), TypeError);
  // A TallyError is the transaction's fault: a failed receipt, writes dropped, nonce used.
  const out = chain.block(send('refuse'));
  assert.deepEqual(out.receipts.map((r) => [r.status, r.code]), [['failed', 'nope']]);
  assert.deepEqual(chain.get('bug/v'), { n: 1, inner: { list: [1] } });
  assert.equal(chain.accounts().nonceOf(alice().id), 1);
});

test('a TallyError in a block hook drops that hook\'s writes and is recorded; the block and the other hooks go on', () => {
  const refusing: ChainModule = { name: 'refuser', txTypes: [], queries: [], endBlock: (ctx) => {
    ctx.state.set('refuser/half', 1);
    fail('insufficient_funds', 'no money for this');
  } };
  const counting: ChainModule = { name: 'counter', txTypes: [], queries: [], endBlock: (ctx) => {
    ctx.state.set('counter/n', (ctx.state.get<number>('counter/n') ?? 0) + 1);
    return [{ type: 'counter.counted' }];
  } };
  const chain = createTestChain([demoModule(), buggy, refusing, counting]);
  const send = () => [chain.tx({ ...alice() }, 'bug.refuse', {}, { nonce: 0 })];
  const out = chain.block(send());
  assert.ok(out.block, 'the block is made');
  assert.equal(chain.get('refuser/half'), undefined, 'the failing hook wrote nothing');
  assert.equal(chain.get('counter/n'), 1, 'the next module\'s hook ran');
  assert.deepEqual(out.result.events.map((e) => [e.type, e.module, e.hook, e.code]), [
    ['hook_failed', 'refuser', 'endBlock', 'insufficient_funds'],
    ['counter.counted', 'counter', 'endBlock', undefined],
  ]);
  // a bug in a hook still stops the block
  const crashing: ChainModule = { name: 'crash', txTypes: [], queries: [], endBlock: () => { throw new Error('hook bug'); } };
  const chain2 = createTestChain([demoModule(), buggy, crashing]);
  assert.throws(() => chain2.block([chain2.tx({ ...alice() }, 'bug.refuse', {}, { nonce: 0 })]), /hook bug/);
});

test('a module writing outside its prefix is an assertion, whether another module\'s keys or the core\'s', () => {
  const { chain, send } = bugChain();
  assert.throws(() => chain.execute(send('trespass')), /invariant violated: state key "demo\/kv\/x" is outside this module's prefix "bug\/"/);
  assert.throws(() => chain.execute(send('forgeauth')), /invariant violated: state key "auth\/0+" is outside this module's prefix "bug\/"/);
  // Block hooks are held to the same prefix.
  const hooked: ChainModule = { name: 'hook', txTypes: [], queries: [], endBlock: (ctx) => { ctx.state.set('bug/v', 1); } };
  const chain2 = createTestChain([buggy, hooked]);
  assert.throws(() => chain2.block([]), /outside this module's prefix "hook\/"/);
});

test('a module calling the keeper of a module it does not require is an assertion', () => {
  const sneaky: ChainModule = {
    name: 'sneaky', queries: [],
    txTypes: [{ type: 'sneaky.go', opensAccount: true, parse: () => ({}), apply: (ctx) => { ctx.keeper(buggy); return []; } }],
  };
  const chain = createTestChain([buggy, sneaky]);
  assert.throws(() => chain.execute([chain.tx(alice(), 'sneaky.go', {})]), /calls the keeper of bug without requiring it/);
});

test('excluded transactions change nothing; an included failed one uses its nonce', () => {
  const chain = createTestChain([demoModule()]);
  const a = alice();
  chain.block([chain.tx(a, 'demo.open', {})]);
  const out = chain.block([
    chain.tx(a, 'demo.put', { key: 'k', value: 'v' }, { nonce: 5 }), // gap: excluded
    chain.tx(a, 'demo.del', { key: 'nokey' }), // nonce 1: included, fails
    chain.tx(a, 'demo.put', { key: 'k', value: 'v' }), // nonce 2: ok
  ]);
  assert.deepEqual(out.excluded, [{ input: 0, code: 'nonce_gap' }]);
  assert.deepEqual(out.result.included, [1, 2]);
  assert.deepEqual(out.receipts.map((r) => [r.index, r.status, r.code]), [[0, 'failed', 'no_key'], [1, 'ok', undefined]]);
  assert.equal(chain.accounts().nonceOf(a.id), 3);
  assert.equal(chain.tip.header.txCount, 2);
});
