// The tally rule at its boundaries: quorum is reached exactly at quorumPct (>=), while
// veto and threshold need strictly more than their percentage (>).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { burnsDeposits, decide, type Powers } from './tally.js';

const P = { quorumPct: 33, thresholdPct: 50, vetoPct: 33 };
const powers = (yes: number, no: number, abstain: number, veto: number, total = 100): Powers => ({
  yes: BigInt(yes), no: BigInt(no), abstain: BigInt(abstain), veto: BigInt(veto), total: BigInt(total),
});

test('quorum: exactly quorumPct of the total is enough, one less is not; abstain counts', () => {
  assert.equal(decide(powers(33, 0, 0, 0), P), 'passed');
  assert.equal(decide(powers(32, 0, 0, 0), P), 'no_quorum');
  assert.equal(decide(powers(1, 0, 32, 0), P), 'passed');
  // 33 of 101 is 32.67%: below
  assert.equal(decide(powers(33, 0, 0, 0, 101), P), 'no_quorum');
  assert.equal(decide(powers(0, 0, 0, 0, 0), P), 'no_quorum');
  assert.equal(decide(powers(100, 0, 0, 0), { ...P, quorumPct: 100 }), 'passed');
  assert.equal(decide(powers(99, 0, 0, 0), { ...P, quorumPct: 100 }), 'no_quorum');
});

test('veto: more than vetoPct of the power that voted (abstain included); exactly vetoPct is not a veto', () => {
  assert.equal(decide(powers(67, 0, 0, 33), P), 'passed'); // 33/100 = 33%: not more
  assert.equal(decide(powers(66, 0, 0, 34), P), 'vetoed');
  assert.equal(decide(powers(0, 0, 67, 33), P), 'rejected'); // not vetoed; no yes at all
  assert.equal(decide(powers(40, 0, 26, 34), P), 'vetoed'); // abstain in the denominator: 34/100
  assert.equal(decide(powers(100, 0, 0, 99), { ...P, vetoPct: 100 }), 'passed');
});

test('threshold: more than thresholdPct of yes + no + veto; exactly thresholdPct is rejected; all abstain is rejected', () => {
  assert.equal(decide(powers(50, 50, 0, 0), P), 'rejected');
  assert.equal(decide(powers(51, 49, 0, 0), P), 'passed');
  assert.equal(decide(powers(30, 20, 50, 0), P), 'passed'); // abstain is not in the denominator
  assert.equal(decide(powers(0, 0, 100, 0), P), 'rejected');
  assert.equal(decide(powers(67, 33, 0, 0), { ...P, thresholdPct: 66 }), 'passed');
  assert.equal(decide(powers(66, 34, 0, 0), { ...P, thresholdPct: 66 }), 'rejected');
  // veto counts against: 60 yes, 20 no, 20 veto (20% < 33%): 60/100 > 50%
  assert.equal(decide(powers(60, 20, 0, 20), P), 'passed');
  assert.equal(decide(powers(50, 20, 0, 30), P), 'rejected');
});

test('deposits burn on veto and on a failed quorum only', () => {
  assert.deepEqual((['passed', 'rejected', 'vetoed', 'no_quorum'] as const).map(burnsDeposits), [false, false, true, true]);
});
