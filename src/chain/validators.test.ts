// The core's validator set: evidence of equivocation jails a validator (once, from the
// next block on), and the keeper governance uses changes the set within its rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blstBls } from './consensus/bls-native.js';
import { validatorEntry, type ValidatorEntry } from './consensus/validator-key.js';
import { signMessage } from './consensus/wire.js';
import { validateGenesis } from './genesis.js';
import { LayeredState } from './state.js';
import { TEST_GENESIS_TIME, TestChain, testAccount } from './testing/test-chain.js';
import { coreValidators, signersOf, validatorSet, validatorsKeeper } from './validators.js';

const CHAIN = 'vals-test';

function makeSet(n: number) {
  const secrets = Array.from({ length: n }, (_, i) => blstBls.keygen(new Uint8Array(32).fill(40 + i)));
  const entries = secrets.map((sk, i) => validatorEntry(blstBls, testAccount(`validator-${i}`).pub, sk, 1));
  const genesis = validateGenesis({ chain: CHAIN, time: TEST_GENESIS_TIME, validators: entries }, []);
  // the genesis set is sorted by key: the secret of each sorted entry
  const secretOf = (e: ValidatorEntry) => secrets[entries.findIndex((x) => x.key === e.key)]!;
  return { genesis, sorted: genesis.validators!, secretOf };
}

function equivocation(sk: Uint8Array, validator: number, height: number) {
  const vote = (value: string) => signMessage(blstBls, sk, CHAIN, { type: 'precommit' as const, height, round: 0, value, validator });
  return { first: vote('a'.repeat(64)), second: vote('b'.repeat(64)) };
}

test('evidence jails the validator from the next block; the same offence again is stale', () => {
  const { genesis, sorted, secretOf } = makeSet(4);
  const chain = new TestChain([], genesis, testAccount('node'));
  assert.equal(validatorSet({ get: (k) => chain.get(k), entries: () => [] })?.length, 4);
  const reporter = testAccount('reporter');
  const offender = 2;
  const evidence = equivocation(secretOf(sorted[offender]!), offender, 1);

  // In block 1 the votes' height is not decided yet: refused, nothing jailed.
  const early = chain.block([chain.tx(reporter, 'validators.evidence', evidence)]);
  assert.equal(early.receipts[0]!.status, 'failed');
  assert.equal(early.receipts[0]!.code, 'bad_evidence');
  assert.equal(chain.get<ValidatorEntry[]>('validators/set')!.length, 4);

  const ok = chain.block([chain.tx(reporter, 'validators.evidence', evidence)]);
  assert.equal(ok.receipts[0]!.status, 'ok', JSON.stringify(ok.receipts[0]));
  assert.deepEqual(ok.receipts[0]!.events, [{ type: 'validators.jailed', key: sorted[offender]!.key, height: 1, round: 0 }]);
  const set = chain.get<ValidatorEntry[]>('validators/set')!;
  assert.deepEqual(set.map((v) => v.key), sorted.filter((_, i) => i !== offender).map((v) => v.key));
  assert.equal(chain.get<number>('validators/since'), 3, 'the new set signs from the next block');
  assert.equal(chain.get<{ jailedAt: number }>(`validators/jailed/${sorted[offender]!.key}`)!.jailedAt, 2);
  // Block 2 (the tip) was signed by the four; a node restarting here checks block 3's last commit against them.
  const reader = { get: <T>(k: string) => chain.get<T>(k) };
  assert.equal(signersOf(reader, 2)!.length, 4);
  assert.equal(signersOf(reader, 3)!.length, 3);

  const again = chain.block([chain.tx(reporter, 'validators.evidence', evidence)]);
  assert.equal(again.receipts[0]!.code, 'evidence_stale');

  // Governance may restore it (through the keeper): back in the set, out of jail.
  const state = new LayeredState(chain.state);
  validatorsKeeper(chain.kernel.blockContext(coreValidators, state, 4, TEST_GENESIS_TIME)).unjail(sorted[offender]!.key);
  assert.deepEqual(state.get<ValidatorEntry[]>('validators/set')!.map((v) => v.key), sorted.map((v) => v.key));
  assert.equal(state.get(`validators/jailed/${sorted[offender]!.key}`), undefined);
});

test('evidence that proves nothing is refused and jails no one', () => {
  const { genesis, sorted, secretOf } = makeSet(4);
  const chain = new TestChain([], genesis, testAccount('node'));
  const reporter = testAccount('reporter');
  chain.block([chain.tx(reporter, 'validators.evidence', equivocation(secretOf(sorted[0]!), 0, 1))]); // (refused: height 1 undecided; opens the account)
  const same = equivocation(secretOf(sorted[1]!), 1, 1);
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['one vote twice', { first: same.first, second: same.first }, 'bad_evidence'],
    ['signed by another validator', { first: same.first, second: equivocation(secretOf(sorted[2]!), 1, 1).second }, 'bad_consensus_signature'],
    ['not two votes', { first: same.first }, 'bad_evidence'],
  ];
  for (const [what, body, code] of cases) {
    const r = chain.block([chain.tx(reporter, 'validators.evidence', body)]);
    assert.equal(r.receipts[0]?.code ?? r.excluded[0]?.code, code, what);
  }
  assert.equal(chain.get<ValidatorEntry[]>('validators/set')!.length, 4);
});

test('the keeper adds, re-weights, removes and unjails within its rules', () => {
  const { genesis, sorted } = makeSet(2);
  const chain = new TestChain([], genesis, testAccount('node'));
  const state = new LayeredState(chain.state);
  const keeper = validatorsKeeper(chain.kernel.blockContext(coreValidators, state, 5, TEST_GENESIS_TIME));
  const fresh = validatorEntry(blstBls, testAccount('newcomer').pub, blstBls.keygen(new Uint8Array(32).fill(9)), 3);
  assert.throws(() => keeper.add({ ...fresh, pop: sorted[0]!.pop }), { code: 'bad_pop' });
  assert.throws(() => keeper.add({ ...fresh, key: sorted[0]!.key }), { code: 'validator_exists' });
  keeper.add(fresh);
  assert.equal(keeper.list().length, 3);
  assert.equal(state.get('validators/since'), 6);
  keeper.setPower(fresh.key, 7);
  assert.equal(keeper.list().find((v) => v.key === fresh.key)!.power, 7);
  keeper.setPower(sorted[0]!.key, 0);
  keeper.setPower(fresh.key, 0);
  assert.deepEqual(keeper.list().map((v) => v.key), [sorted[1]!.key]);
  assert.throws(() => keeper.setPower(sorted[1]!.key, 0), { code: 'last_validator' });
  assert.throws(() => keeper.setPower('nobody', 1), { code: 'validator_unknown' });
  assert.throws(() => keeper.unjail(sorted[0]!.key), { code: 'validator_unknown' });
});
