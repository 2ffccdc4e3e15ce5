// Four validators on an in-memory bus with real BLS signatures (blst), real journals and
// real timers: they finalize blocks whose certificates any node verifies, keep going with
// one of them silent, refuse forged input, and turn an equivocation into evidence.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { blstBls } from './bls-native.js';
import { ValidatorDriver } from './driver.js';
import { SignJournal } from './journal.js';
import { ConsensusSigner } from './signer.js';
import type { Proposal, Vote } from './types.js';
import { verifyCertificate } from './certificate.js';
import { memoryValidators, type MemoryNet } from './memory-net.js';
import { certificateMessage, signMessage } from './wire.js';

const TIMEOUTS = { proposeBase: 150, proposePerRound: 50, prevoteBase: 80, prevotePerRound: 40, precommitBase: 80, precommitPerRound: 40 };
const network = (): MemoryNet => {
  const net = memoryValidators({ count: 4, timeouts: TIMEOUTS, commitWaitMs: 10, chainId: CHAIN });
  after(() => net.close());
  return net;
};
const CHAIN = 'driver-test';
const blockId = (height: number, by: number) => Buffer.alloc(32, height * 16 + by).toString('hex');

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('four validators finalize the same blocks, each with a certificate anyone can check', async () => {
  const net = network();
  net.drivers.forEach((d) => d.start(0));
  await until('5 heights everywhere', () => net.commits.every((c) => c.length >= 5));
  for (let h = 0; h < 5; h++) {
    const at = net.commits.map((c) => c[h]!);
    assert.ok(at.every((c) => c.height === h && c.id === at[0]!.id), `one block at height ${h}`);
    for (const c of at) assert.equal(verifyCertificate(blstBls, net.validators, certificateMessage(CHAIN, h, c.round, c.id), c.certificate).ok, true);
  }
});

test('with one validator silent the other three keep finalizing; forged input is refused and counted', async () => {
  const net = network();
  net.silent.add(2);
  net.drivers.forEach((d) => d.start(0));
  await until('4 heights on the three', () => [0, 1, 3].every((i) => net.commits[i]!.length >= 4));
  const signers = net.commits[0]![3]!.certificate.signers;
  assert.equal(signers, '0b', 'validators 0, 1 and 3 signed');
  const forged = { ...signMessage(blstBls, net.secrets[2]!, CHAIN, { type: 'prevote', height: 9, round: 0, value: null, validator: 2 }), message: { type: 'prevote', height: 9, round: 0, value: null, validator: 1 } };
  net.drivers[0]!.receive(forged);
  net.drivers[0]!.receive({ junk: true });
  assert.equal(net.drivers[0]!.refusals.get('bad_consensus_signature'), 1);
  assert.equal(net.drivers[0]!.refusals.get('bad_consensus_message'), 1);
});

test('an equivocating validator is caught: both signed votes come out as checked evidence', async () => {
  const net = network();
  net.silent.add(3);
  net.drivers.slice(0, 3).forEach((d) => d.start(0));
  // Validator 3 signs two different prevotes for height 0, round 0, as a Byzantine one would.
  for (const value of [blockId(0, 9), null]) net.inject(-1, signMessage(blstBls, net.secrets[3]!, CHAIN, { type: 'prevote', height: 0, round: 0, value, validator: 3 }));
  await until('evidence from the three', () => net.evidence.length >= 3);
  assert.ok(net.evidence.every((e) => e.first.message.validator === 3 && e.second.message.validator === 3));
});

/** Validator 3 alone, with a journal in `dir`; timers never fire (the test drives it). */
function lone(net: MemoryNet, dir: string, commits: Array<{ signers: string }>): ValidatorDriver {
  return new ValidatorDriver({
    scheme: blstBls, chainId: CHAIN, validators: net.validators, self: 3,
    signer: new ConsensusSigner(blstBls, net.secrets[3]!, CHAIN, SignJournal.open(dir)),
    app: { propose: () => blockId(0, 3), valid: () => true, commit: (_h, _r, _id, c) => commits.push(c) },
    net: { broadcast: () => {} },
    timers: { after: () => {} },
    timeouts: TIMEOUTS,
  });
}

test('a restarted validator signs its journaled votes again, so its precommit still counts in a certificate', () => {
  const net = network();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-driver-restart-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const X = blockId(0, 0);
  const from = (v: number, m: Omit<Vote, 'validator'> | Omit<Proposal, 'validator'>) => signMessage(blstBls, net.secrets[v]!, CHAIN, { ...m, validator: v } as Vote | Proposal);
  const proposal = from(0, { type: 'proposal', height: 0, round: 0, value: X, validRound: -1 });
  const before: Array<{ signers: string }> = [];
  const first = lone(net, dir, before);
  first.start(0);
  for (const m of [proposal, from(0, { type: 'prevote', height: 0, round: 0, value: X }), from(1, { type: 'prevote', height: 0, round: 0, value: X })]) first.receive(m);
  assert.equal(before.length, 0, 'it precommitted, nothing is decided yet');
  first.close();

  const restartedCommits: Array<{ signers: string }> = [];
  const second = lone(net, dir, restartedCommits);
  second.start(0);
  for (const m of [proposal, from(0, { type: 'precommit', height: 0, round: 0, value: X }), from(1, { type: 'precommit', height: 0, round: 0, value: X })]) second.receive(m);
  assert.deepEqual(restartedCommits.map((c) => c.signers), ['0b'], 'validators 0, 1 and 3 (itself, from before the restart) signed');
});

test('votes kept for certificates and evidence stay bounded whatever rounds and values a validator sends', () => {
  const net = network();
  const d = net.drivers[0]!;
  d.start(0);
  for (let round = 0; round < 200; round++) {
    for (let k = 0; k < 3; k++) d.receive(signMessage(blstBls, net.secrets[1]!, CHAIN, { type: 'prevote', height: 0, round, value: blockId(round % 16, k), validator: 1 }));
  }
  for (let k = 0; k < 10; k++) d.receive(signMessage(blstBls, net.secrets[2]!, CHAIN, { type: 'precommit', height: 0, round: 0, value: Buffer.alloc(32, k + 100).toString('hex'), validator: 2 }));
  assert.ok(d.retainedVotes <= 5 * 3 + 4 + 2, `at most ROUNDS_AHEAD_MAX + 1 rounds x 3 values, 4 values in a slot (and its own votes): ${d.retainedVotes}`);
});

test('hurry starts the next height at once instead of after the commit wait', async () => {
  const net = memoryValidators({ count: 4, timeouts: TIMEOUTS, commitWaitMs: 60_000, chainId: CHAIN });
  after(() => net.close());
  net.drivers.forEach((d) => d.start(1));
  await until('height 1 decided', () => net.commits.every((c) => c.length >= 1));
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(net.commits.every((c) => c.length === 1), 'the commit wait holds height 2 back');
  net.drivers.forEach((d) => d.hurry());
  await until('height 2 decided after hurry', () => net.commits.every((c) => c.length >= 2), 5000);
});

/** Validator 3 with timers the test fires and a list of what it sent. */
function manual(net: MemoryNet): { driver: ValidatorDriver; fire: () => void; prevotes: () => Array<string | null> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-driver-hold-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const timers: Array<{ fn: () => void; fired: boolean }> = [];
  const sent: Vote[] = [];
  const driver = new ValidatorDriver({
    scheme: blstBls, chainId: CHAIN, validators: net.validators, self: 3,
    signer: new ConsensusSigner(blstBls, net.secrets[3]!, CHAIN, SignJournal.open(dir)),
    app: { propose: () => blockId(0, 3), valid: () => true, commit: () => {} },
    net: { broadcast: (s) => { if (s.message.type !== 'proposal') sent.push(s.message as Vote); } },
    timers: { after: (_ms, fn) => { timers.push({ fn, fired: false }); } },
    timeouts: TIMEOUTS,
  });
  // every timer the machine asked for so far fires (the propose timeout is the only one at the start of a round)
  const fire = () => { for (const t of timers.filter((x) => !x.fired)) { t.fired = true; t.fn(); } };
  return { driver, fire, prevotes: () => sent.filter((v) => v.type === 'prevote').map((v) => v.value) };
}

test('the propose timeout waits while the round proposer\'s block is checked, then the machine prevotes the outcome', () => {
  const net = network();
  const X = blockId(0, 0);
  const proposal = signMessage(blstBls, net.secrets[0]!, CHAIN, { type: 'proposal', height: 0, round: 0, value: X, validRound: -1, validator: 0 });

  // valid block, checked past the timeout: a prevote for it and no nil
  const a = manual(net);
  a.driver.start(0);
  assert.equal(a.driver.checkingProposal(0, 0, 0), true);
  a.fire();
  assert.deepEqual(a.prevotes(), [], 'no nil prevote while the check runs');
  a.driver.receive(proposal);
  a.driver.proposalChecked(0, 0);
  assert.deepEqual(a.prevotes(), [X]);

  // a check that ends without a block for the machine (refused payload): the held timeout fires then
  const b = manual(net);
  b.driver.start(0);
  assert.equal(b.driver.checkingProposal(0, 0, 0), true);
  b.fire();
  assert.deepEqual(b.prevotes(), []);
  b.driver.proposalChecked(0, 0);
  assert.deepEqual(b.prevotes(), [null], 'the held timeout fires when the check ends');

  // only the round's proposer holds it, and only CHECKS_HOLDING_TIMEOUT_MAX proposals per round
  const c = manual(net);
  c.driver.start(0);
  assert.equal(c.driver.checkingProposal(0, 0, 1), false, 'validator 1 does not propose round 0');
  assert.equal(c.driver.checkingProposal(0, 7, 0), false, 'a round too far ahead');
  assert.equal(c.driver.checkingProposal(0, 0, 0), true);
  c.driver.proposalChecked(0, 0);
  assert.equal(c.driver.checkingProposal(0, 0, 0), true);
  assert.equal(c.driver.checkingProposal(0, 0, 0), false, 'a third block of one round holds nothing');
  c.fire();
  assert.deepEqual(c.prevotes(), [], 'the second check still holds the timeout');
  c.driver.proposalChecked(0, 0);
  assert.deepEqual(c.prevotes(), [null]);
});

test('start at a height the driver has reached already (a catch-up finishing after consensus moved on) changes nothing', () => {
  const net = memoryValidators({ count: 4, timeouts: TIMEOUTS, commitWaitMs: 10, chainId: CHAIN });
  after(() => net.close());
  const { driver, fire, prevotes } = manual(net);
  driver.start(5);
  fire(); // the propose timeout: a nil prevote, the machine waits in the prevote step
  assert.deepEqual(prevotes(), [null]);
  assert.doesNotThrow(() => driver.start(5), 'the same height again');
  assert.doesNotThrow(() => driver.start(4), 'a lower height');
  assert.deepEqual(driver.position(), { height: 5, round: 0, step: 'prevote' }, 'the running height was not restarted');
  assert.deepEqual(prevotes(), [null]);
  driver.start(6);
  assert.equal(driver.position().height, 6, 'a higher height still starts');
});
