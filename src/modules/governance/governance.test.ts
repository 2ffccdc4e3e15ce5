// The governance module through the one executor: propose, deposit, vote, tally and
// execute end to end; every refusal (which changes nothing but the sender's nonce);
// refund against burn; a parameter that changes at its execution height and not before;
// validator proposals reaching the validator set's keeper (a fake of the core's); failed
// executions; replay to the same roots; and the invariants.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestChain, testAccount, type TestAccount, type TestChain } from '../../chain/testing/test-chain.js';
import type { ChainModule, QueryContext } from '../../chain/module.js';
import type { StateReader } from '../../chain/state.js';
import { authKey } from '../../chain/state.js';
import { scopedReader } from '../../chain/kernel.js';
import { verifyChain } from '../../chain/replay.js';
import { VerifierPool } from '../../chain/verifier.js';
import { nobleBls } from '../../core/bls.js';
import { toB64u } from '../../core/encoding.js';
import { hashText } from '../../core/hash.js';
import { TallyError } from '../../core/errors.js';
import { ledgerChain } from '../ledger/index.js';
import { accountKey, holdKey, moduleAccountId, type LedgerAccount } from '../ledger/state.js';
import { governanceChainModule } from './chain.js';
import { governanceGenesis } from './genesis.js';
import { governanceInvariants } from './invariants.js';
import { governanceLimits } from './limits.js';
import { governanceParam, PARAMS } from './params.js';
import { governanceQueries } from './queries.js';
import { governanceRoutes } from './routes.js';
import Fastify from 'fastify';
import type { NodeHandle } from '../../chain/app-module.js';
import { proposalKey, type Proposal } from './state.js';
import { FAKE_VALIDATORS_PREFIX, fakeValidatorsChain } from './testing.js';
import type { ValidatorEntry } from './validator-set.js';

const governanceChain = governanceChainModule({ ledger: ledgerChain, validators: fakeValidatorsChain });
const MODULES: ChainModule[] = [ledgerChain, fakeValidatorsChain as ChainModule, governanceChain];

let pool: VerifierPool;
before(() => { pool = new VerifierPool(1); });
after(() => pool.close());

/** A BLS key and its proof of possession, deterministic per label. */
function blsOf(label: string): { blsKey: string; pop: string } {
  const sk = nobleBls.keygen(hashText(`tally/test-bls/${label}`));
  return { blsKey: toB64u(nobleBls.publicKey(sk)), pop: toB64u(nobleBls.popProve(sk)) };
}

const GOV_PARAMS = { votingPeriodBlocks: 10, depositPeriodBlocks: 10, executionDelayBlocks: 3, minDeposit: 1000 };

interface World {
  chain: TestChain;
  alice: TestAccount;
  bob: TestAccount;
  filler: TestAccount;
  vals: TestAccount[];
}

/** alice and bob hold 1 unit (1,000,000 minor) each; validators v0..v{n-1} with the given powers. */
function world(powers: number[] = [10, 20, 30, 40], options: { jailed?: number[]; extra?: TestAccount[]; params?: Record<string, number> } = {}): World {
  const [alice, bob, filler] = ['alice', 'bob', 'filler'].map(testAccount) as [TestAccount, TestAccount, TestAccount];
  const vals = powers.map((_, i) => testAccount(`v${i}`));
  const accounts = [alice, bob, filler, ...vals, ...(options.extra ?? [])].map((a) => ({ name: a.label, pub: a.pub, balance: '1' }));
  const chain = createTestChain(MODULES, {
    chain: 'gov',
    modules: {
      ledger: { registration: { policy: 'closed', grant: '0' }, accounts, admins: [] },
      fakevalidators: {
        validators: vals.map((v, i) => ({ key: v.pub, ...blsOf(v.label), power: powers[i]!, ...(options.jailed?.includes(i) ? { jailed: true } : {}) })),
      },
      governance: { params: { ...GOV_PARAMS, ...options.params } },
    },
  });
  return { chain, alice, bob, filler, vals };
}

/** One block with one transaction; its receipt and the block's hook events. */
function one(chain: TestChain, from: TestAccount, type: string, body: object) {
  const out = chain.block([chain.tx(from, type, body as Record<string, unknown>)]);
  assert.equal(out.excluded.length, 0, `${type} was not excluded: ${JSON.stringify(out.excluded)}`);
  return { receipt: out.receipts[0]!, events: out.result.events, writes: out.result.writes };
}

function ok(chain: TestChain, from: TestAccount, type: string, body: object) {
  const r = one(chain, from, type, body);
  assert.equal(r.receipt.status, 'ok', `${type}: ${r.receipt.code}`);
  return r;
}

/** A failed transaction writes only the sender's nonce. */
function refused(chain: TestChain, from: TestAccount, type: string, body: object, code: string) {
  const { receipt, writes } = one(chain, from, type, body);
  assert.deepEqual([receipt.status, receipt.code], ['failed', code], `${type} ${JSON.stringify(body).slice(0, 100)} is refused with ${code}`);
  assert.deepEqual([...writes.keys()].filter((k) => k !== authKey(from.id)), []);
}

/** A body the static checks refuse: excluded from the block, nothing recorded. */
function excluded(chain: TestChain, from: TestAccount, type: string, body: object, code: string) {
  const out = chain.block([chain.tx(from, type, body as Record<string, unknown>, { nonce: from.nonce })]);
  assert.deepEqual(out.excluded.map((e) => e.code), [code], `${type} ${JSON.stringify(body).slice(0, 120)}`);
  assert.equal(out.block, undefined);
}

/** Blocks (a statement from the filler each) until the tip is at `height`; the hook events of each. */
function tickTo(w: World, height: number) {
  const events = [];
  while (w.chain.height < height) events.push(...one(w.chain, w.filler, 'ledger.sign', { text: `tick ${w.chain.height}` }).events);
  assert.equal(w.chain.height, height);
  return events;
}

const proposal = (chain: TestChain, id: number) => chain.get<Proposal>(proposalKey(id))!;
const account = (chain: TestChain, a: TestAccount) => chain.get<LedgerAccount>(accountKey(a.id))!;
const BURNED = moduleAccountId('governance', 'burned');

/** The committed state as the node's readers see it. */
function reader(chain: TestChain): StateReader {
  return {
    get: (k) => chain.get(k),
    entries: (p, o = {}) => chain.state.range(p, o.after, o.limit ?? 1000).map(([k, v]) => [k, JSON.parse(v)]),
  };
}

function query(chain: TestChain, name: string, params: Record<string, unknown> = {}): unknown {
  const q = governanceQueries.find((x) => x.name === name)!;
  return q.run({ state: scopedReader(reader(chain), 'governance'), params: chain.kernel.params } as QueryContext, params);
}

const paramProposal = (name: string, value: unknown, deposit = '0.001') => ({ kind: 'param', name, value, deposit });

describe('governance end to end', () => {
  test('a param proposal: voting at once, tally, refund, and the new value from its execution height only', () => {
    const w = world();
    const { chain, alice, vals } = w;
    const p1 = ok(chain, alice, 'governance.propose', paramProposal('maxBlockTxs', 500, '0.0015'));
    const h0 = chain.height;
    assert.deepEqual(p1.receipt.events.map((e) => e.type), ['governance.proposed', 'ledger.hold', 'governance.deposited', 'governance.voting_started']);
    let p = proposal(chain, 1);
    assert.deepEqual([p.status, p.votingStart, p.votingEnd, p.deposit, p.depositors], ['voting', h0, h0 + 9, '1500', 1]);
    assert.equal(account(chain, alice).held, '1500');
    assert.equal(chain.get(holdKey(alice.id, 'governance')), '1500');
    // v3 (40) and v2 (30) vote yes, v1 (20) no; v2 changes its mind to yes after no.
    ok(chain, vals[2]!, 'governance.vote', { proposal: 1, option: 'no' });
    const again = ok(chain, vals[2]!, 'governance.vote', { proposal: 1, option: 'yes' });
    assert.equal(again.receipt.events[0]!.replaced, 'no');
    ok(chain, vals[3]!, 'governance.vote', { proposal: 1, option: 'yes' });
    ok(chain, vals[1]!, 'governance.vote', { proposal: 1, option: 'no' });
    assert.deepEqual((query(chain, 'governance.proposal', { id: 1 }) as { tallySoFar: object }).tallySoFar, { yes: '70', no: '20', abstain: '0', veto: '0' });
    assert.deepEqual(chain.invariants(), []);
    tickTo(w, h0 + 8);
    assert.equal(proposal(chain, 1).status, 'voting', 'not tallied before the last block of the period');
    const events = tickTo(w, h0 + 9);
    p = proposal(chain, 1);
    assert.equal(p.status, 'passed');
    assert.deepEqual(p.tally, { yes: '70', no: '20', abstain: '0', veto: '0', totalPower: '100', height: h0 + 9 });
    assert.equal(p.deposits, 'refunded');
    assert.equal(p.executeAt, h0 + 9 + GOV_PARAMS.executionDelayBlocks);
    assert.equal(account(chain, alice).held, undefined, 'the deposit is released');
    assert.equal(account(chain, alice).balance, '1000000', 'and nothing was taken');
    assert.ok(events.some((e) => e.type === 'governance.deposits_refunded'));
    assert.equal(chain.raw('governance/v/').length, 0, 'votes are dropped once counted');
    // Not before the execution height...
    tickTo(w, p.executeAt! - 1);
    assert.equal(governanceParam(reader(chain), 'maxBlockTxs'), 16_000);
    assert.equal(proposal(chain, 1).status, 'passed');
    // ...and from it on.
    const exec = tickTo(w, p.executeAt!);
    assert.equal(governanceParam(reader(chain), 'maxBlockTxs'), 500);
    assert.equal(proposal(chain, 1).status, 'executed');
    assert.deepEqual(exec.filter((e) => e.type.startsWith('governance.')).map((e) => [e.type, e.hook]), [['governance.executed', 'beginBlock']]);
    assert.deepEqual((query(chain, 'governance.params') as Array<{ name: string; value: number }>).find((x) => x.name === 'maxBlockTxs')!.value, 500);
    assert.deepEqual(chain.invariants(), []);
  });

  test('deposit period: voting starts when the deposits reach minDeposit; several depositors are refunded', () => {
    const w = world();
    const { chain, alice, bob, vals } = w;
    ok(chain, alice, 'governance.propose', { kind: 'text', title: 'Signal', body: 'we like governance', deposit: '0.0004' });
    assert.equal(proposal(chain, 1).status, 'deposit');
    refused(chain, vals[0]!, 'governance.vote', { proposal: 1, option: 'yes' }, 'not_voting_period');
    ok(chain, bob, 'governance.deposit', { proposal: 1, amount: '0.0005' });
    assert.equal(proposal(chain, 1).status, 'deposit', '900 < 1000');
    const r = ok(chain, bob, 'governance.deposit', { proposal: 1, amount: '0.0001' });
    const h = chain.height;
    assert.ok(r.receipt.events.some((e) => e.type === 'governance.voting_started'));
    const p = proposal(chain, 1);
    assert.deepEqual([p.status, p.votingStart, p.votingEnd, p.deposit, p.depositors], ['voting', h, h + 9, '1000', 2]);
    assert.equal(chain.raw('governance/q/dep/').length, 0, 'the expiry is unqueued');
    // Deposits are still taken in the voting period.
    ok(chain, alice, 'governance.deposit', { proposal: 1, amount: '0.0001' });
    ok(chain, vals[3]!, 'governance.vote', { proposal: 1, option: 'no' });
    assert.deepEqual(chain.invariants(), []);
    tickTo(w, h + 9);
    assert.deepEqual([proposal(chain, 1).status, proposal(chain, 1).deposits], ['rejected', 'refunded']);
    assert.deepEqual([account(chain, alice).balance, account(chain, bob).balance], ['1000000', '1000000']);
    assert.deepEqual([account(chain, alice).held, account(chain, bob).held], [undefined, undefined]);
    refused(chain, bob, 'governance.deposit', { proposal: 1, amount: '0.0001' }, 'proposal_closed');
    assert.deepEqual(chain.invariants(), []);
  });

  test('a proposal that does not reach minDeposit in its deposit period expires and its deposits are burned', () => {
    const w = world();
    const { chain, alice, bob } = w;
    ok(chain, alice, 'governance.propose', { kind: 'text', title: 'Too cheap', body: '', deposit: '0.0003' });
    const h = chain.height;
    ok(chain, bob, 'governance.deposit', { proposal: 1, amount: '0.0002' });
    tickTo(w, h + 8);
    assert.equal(proposal(chain, 1).status, 'deposit');
    const events = tickTo(w, h + 9);
    assert.deepEqual([proposal(chain, 1).status, proposal(chain, 1).deposits], ['expired', 'burned']);
    assert.ok(events.some((e) => e.type === 'governance.expired'));
    assert.deepEqual([account(chain, alice).balance, account(chain, bob).balance], ['999700', '999800']);
    assert.equal(chain.get<LedgerAccount>(accountKey(BURNED))!.balance, '500');
    assert.equal(chain.get<LedgerAccount>(accountKey(BURNED))!.name, 'governance:burned');
    assert.equal(chain.get('governance/open'), undefined);
    assert.deepEqual(chain.invariants(), []);
  });

  test('veto and a failed quorum burn the deposits; a plain rejection refunds them', () => {
    const cases: Array<[string, Array<[number, string]>, string, string]> = [
      // v0..v3 powers 10, 20, 30, 40 (total 100)
      ['vetoed', [[3, 'yes'], [2, 'veto']], 'vetoed', 'burned'], // veto 30/70 > 33%
      ['no quorum', [[2, 'yes']], 'no_quorum', 'burned'], // 30 < 33
      ['rejected', [[3, 'yes'], [2, 'no'], [0, 'no'], [1, 'abstain']], 'rejected', 'refunded'], // 40/80 = 50%, not more
      ['all abstain', [[3, 'abstain']], 'rejected', 'refunded'],
    ];
    for (const [label, votes, status, deposits] of cases) {
      const w = world();
      const { chain, alice, vals } = w;
      ok(chain, alice, 'governance.propose', paramProposal('quorumPct', 40, '0.002'));
      const h = chain.height;
      for (const [v, option] of votes) ok(chain, vals[v]!, 'governance.vote', { proposal: 1, option });
      tickTo(w, h + 9);
      const p = proposal(chain, 1);
      assert.deepEqual([p.status, p.deposits], [status, deposits], label);
      assert.equal(account(chain, alice).balance, deposits === 'burned' ? '998000' : '1000000', label);
      assert.equal(chain.get<LedgerAccount>(accountKey(BURNED))?.balance, deposits === 'burned' ? '2000' : undefined, label);
      assert.equal(p.executeAt, undefined);
      assert.equal(chain.get('governance/open'), undefined, label);
      assert.deepEqual(chain.invariants(), [], label);
    }
  });

  test('quorum exactly at quorumPct is met; a power below it is not (through the chain)', () => {
    for (const [power, status] of [[33, 'passed'], [32, 'no_quorum']] as const) {
      const w = world([power, 100 - power]);
      ok(w.chain, w.alice, 'governance.propose', paramProposal('vetoPct', 50));
      const h = w.chain.height;
      ok(w.chain, w.vals[0]!, 'governance.vote', { proposal: 1, option: 'yes' });
      tickTo(w, h + 9);
      assert.equal(proposal(w.chain, 1).status, status, `power ${power} of 100`);
    }
  });

  test('a jailed validator neither votes nor counts in the total', () => {
    // v0 (10) jailed: total 90; v1 (20) + v2 (30) = 50 vote yes (55% >= 33%).
    const w = world([10, 20, 30, 40], { jailed: [0] });
    const { chain, alice, vals } = w;
    ok(chain, alice, 'governance.propose', paramProposal('vetoPct', 50));
    const h = chain.height;
    refused(chain, vals[0]!, 'governance.vote', { proposal: 1, option: 'veto' }, 'validator_jailed');
    ok(chain, vals[1]!, 'governance.vote', { proposal: 1, option: 'yes' });
    ok(chain, vals[2]!, 'governance.vote', { proposal: 1, option: 'yes' });
    tickTo(w, h + 9);
    assert.deepEqual(proposal(chain, 1).tally, { yes: '50', no: '0', abstain: '0', veto: '0', totalPower: '90', height: h + 9 });
    assert.equal(proposal(chain, 1).status, 'passed');
  });
});

describe('validator proposals reach the validator set', () => {
  test('a vote weighs the power in force at the tally, not when it was cast', () => {
    const w = world([10, 20, 30, 40]);
    const { chain, alice, vals } = w;
    ok(chain, alice, 'governance.propose', { kind: 'validator', action: 'power', key: vals[0]!.pub, power: 90, deposit: '0.001' });
    for (const v of [2, 3]) ok(chain, vals[v]!, 'governance.vote', { proposal: 1, option: 'yes' });
    tickTo(w, chain.height + 2);
    ok(chain, alice, 'governance.propose', { kind: 'text', title: 'later', body: '', deposit: '0.001' });
    ok(chain, vals[0]!, 'governance.vote', { proposal: 2, option: 'no' });
    ok(chain, vals[3]!, 'governance.vote', { proposal: 2, option: 'yes' });
    assert.deepEqual((query(chain, 'governance.proposal', { id: 2 }) as { tallySoFar: object }).tallySoFar, { yes: '40', no: '10', abstain: '0', veto: '0' });
    const executeAt = proposal(chain, 1).votingEnd! + GOV_PARAMS.executionDelayBlocks;
    assert.ok(executeAt < proposal(chain, 2).votingEnd!, 'proposal 1 executes while 2 is open');
    tickTo(w, proposal(chain, 2).votingEnd!);
    assert.equal(proposal(chain, 1).status, 'executed');
    const p2 = proposal(chain, 2);
    assert.deepEqual([p2.status, p2.tally!.no, p2.tally!.yes, p2.tally!.totalPower], ['rejected', '90', '40', '180']);
  });

  test('add, power and remove, each at its execution height', () => {
    const w = world([10, 20, 30, 40]);
    const { chain, alice, vals } = w;
    const newcomer = testAccount('newcomer');
    ok(chain, alice, 'governance.propose', { kind: 'validator', action: 'add', key: newcomer.pub, ...blsOf('newcomer'), power: 15, deposit: '0.001' });
    ok(chain, alice, 'governance.propose', { kind: 'validator', action: 'power', key: vals[0]!.pub, power: 99, deposit: '0.001' });
    ok(chain, alice, 'governance.propose', { kind: 'validator', action: 'remove', key: vals[1]!.pub, deposit: '0.001' });
    for (const id of [1, 2, 3]) for (const v of [2, 3]) ok(chain, vals[v]!, 'governance.vote', { proposal: id, option: 'yes' });
    const last = Math.max(...[1, 2, 3].map((id) => proposal(chain, id).votingEnd!));
    tickTo(w, last);
    const at = [1, 2, 3].map((id) => proposal(chain, id).executeAt!);
    tickTo(w, Math.min(...at) - 1);
    assert.equal(chain.get(FAKE_VALIDATORS_PREFIX + newcomer.pub), undefined, 'not before the execution height');
    tickTo(w, Math.max(...at));
    assert.deepEqual([1, 2, 3].map((id) => proposal(chain, id).status), ['executed', 'executed', 'executed']);
    const set = chain.raw(FAKE_VALIDATORS_PREFIX).map(([, v]) => JSON.parse(v) as ValidatorEntry);
    assert.deepEqual(set.map((v) => [v.key, v.power]).sort(), [
      [newcomer.pub, 15], [vals[0]!.pub, 99], [vals[2]!.pub, 30], [vals[3]!.pub, 40],
    ].sort());
    assert.equal(set.find((v) => v.key === newcomer.pub)!.blsKey, blsOf('newcomer').blsKey);
    // The newcomer now votes; the removed validator no longer does.
    ok(chain, alice, 'governance.propose', { kind: 'text', title: 't', body: '', deposit: '0.001' });
    refused(chain, vals[1]!, 'governance.vote', { proposal: 4, option: 'yes' }, 'not_validator');
    assert.deepEqual(chain.invariants(), []);
  });

  test('an execution the keeper refuses marks the proposal failed with its code; the block goes on', () => {
    const w = world([50, 50]);
    const { chain, alice, vals } = w;
    const dup = testAccount('dup');
    // Removals of both validators, then two adds of one key, all in one block (one
    // execution height, run in id order): each could execute alone.
    chain.block([
      chain.tx(alice, 'governance.propose', { kind: 'validator', action: 'remove', key: vals[0]!.pub, deposit: '0.001' }),
      chain.tx(alice, 'governance.propose', { kind: 'validator', action: 'remove', key: vals[1]!.pub, deposit: '0.001' }),
      chain.tx(alice, 'governance.propose', { kind: 'validator', action: 'add', key: dup.pub, ...blsOf('dup'), power: 1, deposit: '0.001' }),
      chain.tx(alice, 'governance.propose', { kind: 'validator', action: 'add', key: dup.pub, ...blsOf('dup'), power: 2, deposit: '0.001' }),
    ]);
    for (const id of [1, 2, 3, 4]) ok(chain, vals[0]!, 'governance.vote', { proposal: id, option: 'yes' });
    tickTo(w, proposal(chain, 4).votingEnd!);
    const at = proposal(chain, 4).executeAt!;
    assert.deepEqual([1, 2, 3].map((id) => proposal(chain, id).executeAt), [at, at, at]);
    const events = tickTo(w, at);
    assert.deepEqual(events.filter((e) => e.type === 'hook_failed'), []);
    const ps = [1, 2, 3, 4].map((id) => proposal(chain, id));
    assert.deepEqual(ps.map((p) => [p.status, p.execution?.code]), [
      ['executed', undefined], ['failed', 'last_validator'], ['executed', undefined], ['failed', 'validator_exists'],
    ]);
    assert.equal(ps[3]!.execution!.height, at);
    assert.deepEqual(chain.raw(FAKE_VALIDATORS_PREFIX).map(([k]) => k).sort(), [FAKE_VALIDATORS_PREFIX + dup.pub, FAKE_VALIDATORS_PREFIX + vals[1]!.pub].sort());
    assert.equal(chain.get('governance/open'), undefined);
    assert.deepEqual(chain.invariants(), []);
  });
});

describe('refusals', () => {
  test('bodies the static checks refuse are kept out of the block', () => {
    const w = world();
    const { chain, alice, vals } = w;
    const nk = testAccount('nk');
    const bls = blsOf('nk');
    const cases: Array<[string, object, string]> = [
      ['governance.propose', { kind: 'law', deposit: '1' }, 'bad_body'],
      ['governance.propose', { ...paramProposal('maxBlockTxs', 10), extra: 1 }, 'bad_body'],
      ['governance.propose', { kind: 'param', name: 'maxBlockTxs', deposit: '1' }, 'bad_body'],
      ['governance.propose', paramProposal('maxBlockTxs', 10.5), 'bad_body'],
      ['governance.propose', paramProposal('maxBlockTxs', '10'), 'bad_body'],
      ['governance.propose', paramProposal('blockReward', 10), 'param_unknown'],
      ['governance.propose', paramProposal('maxBlockTxs', 0), 'param_out_of_bounds'],
      ['governance.propose', paramProposal('maxBlockTxs', 16_001), 'param_out_of_bounds'],
      ['governance.propose', paramProposal('votingPeriodBlocks', 9), 'param_out_of_bounds'],
      ['governance.propose', paramProposal('thresholdPct', 49), 'param_out_of_bounds'],
      ['governance.propose', paramProposal('thresholdPct', 100), 'param_out_of_bounds'],
      ['governance.propose', paramProposal('minDeposit', '0'), 'param_out_of_bounds'],
      ['governance.propose', paramProposal('minDeposit', '01'), 'bad_body'],
      ['governance.propose', paramProposal('maxBlockTxs', 10, '0'), 'amount_zero'],
      ['governance.propose', { kind: 'param', name: 'maxBlockTxs', value: 10, deposit: 1000 }, 'amount_not_string'],
      ['governance.propose', { kind: 'text', title: ' ', body: '', deposit: '1' }, 'bad_body'],
      ['governance.propose', { kind: 'text', title: 'x'.repeat(governanceLimits.titleBytesMax + 1), body: '', deposit: '1' }, 'bad_body'],
      ['governance.propose', { kind: 'validator', action: 'add', key: nk.pub, ...bls, deposit: '1' }, 'bad_body'],
      ['governance.propose', { kind: 'validator', action: 'add', key: nk.pub, ...bls, power: 0, deposit: '1' }, 'bad_body'],
      ['governance.propose', { kind: 'validator', action: 'remove', key: nk.pub, power: 3, deposit: '1' }, 'bad_body'],
      ['governance.propose', { kind: 'validator', action: 'power', key: nk.pub, pop: bls.pop, power: 3, deposit: '1' }, 'bad_body'],
      ['governance.propose', { kind: 'validator', action: 'add', key: nk.pub.slice(1), ...bls, power: 1, deposit: '1' }, 'bad_validator_key'],
      ['governance.propose', { kind: 'validator', action: 'add', key: nk.pub, blsKey: bls.blsKey.slice(0, 60), pop: bls.pop, power: 1, deposit: '1' }, 'bad_validator_key'],
      ['governance.propose', { kind: 'validator', action: 'add', key: nk.pub, blsKey: bls.blsKey, pop: Buffer.from(bls.pop, 'base64url').toString('hex'), power: 1, deposit: '1' }, 'bad_body'],
      ['governance.propose', { kind: 'validator', action: 'add', key: nk.pub, blsKey: bls.blsKey, pop: bls.pop.slice(0, 120), power: 1, deposit: '1' }, 'bad_validator_key'],
      ['governance.deposit', { proposal: 0, amount: '1' }, 'bad_body'],
      ['governance.deposit', { proposal: 1, amount: '-1' }, 'amount_negative'],
      ['governance.vote', { proposal: 1, option: 'maybe' }, 'bad_body'],
      ['governance.vote', { proposal: '1', option: 'yes' }, 'bad_body'],
    ];
    for (const [type, body, code] of cases) excluded(chain, type === 'governance.vote' ? vals[0]! : alice, type, body, code);
    assert.equal(chain.height, 0);
  });

  test('what the state refuses is recorded as failed and changes nothing but the nonce', () => {
    const w = world([10, 20]);
    const { chain, alice, bob, vals } = w;
    const outsider = testAccount('outsider');
    const bls = blsOf('outsider');
    refused(chain, alice, 'governance.propose', paramProposal('maxBlockTxs', 10, '0.000249'), 'deposit_too_small');
    refused(chain, alice, 'governance.propose', paramProposal('maxBlockTxs', 10, '2'), 'insufficient_funds');
    refused(chain, alice, 'governance.propose', { kind: 'validator', action: 'add', key: vals[0]!.pub, ...bls, power: 1, deposit: '0.001' }, 'validator_exists');
    refused(chain, alice, 'governance.propose', { kind: 'validator', action: 'add', key: outsider.pub, blsKey: bls.blsKey, pop: blsOf('other').pop, power: 1, deposit: '0.001' }, 'bad_pop');
    refused(chain, alice, 'governance.propose', { kind: 'validator', action: 'add', key: outsider.pub, blsKey: toB64u(new Uint8Array(48).fill(7)), pop: bls.pop, power: 1, deposit: '0.001' }, 'bad_validator_key');
    refused(chain, alice, 'governance.propose', { kind: 'validator', action: 'remove', key: outsider.pub, deposit: '0.001' }, 'validator_unknown');
    refused(chain, alice, 'governance.propose', { kind: 'validator', action: 'power', key: outsider.pub, power: 5, deposit: '0.001' }, 'validator_unknown');
    refused(chain, alice, 'governance.deposit', { proposal: 1, amount: '0.001' }, 'unknown_proposal');
    refused(chain, vals[0]!, 'governance.vote', { proposal: 1, option: 'yes' }, 'unknown_proposal');
    ok(chain, alice, 'governance.propose', paramProposal('maxBlockTxs', 10));
    refused(chain, alice, 'governance.vote', { proposal: 1, option: 'yes' }, 'not_validator');
    refused(chain, bob, 'governance.deposit', { proposal: 1, amount: '2' }, 'insufficient_funds');
    assert.deepEqual(chain.invariants(), []);

    const single = world([10]);
    refused(single.chain, single.alice, 'governance.propose', { kind: 'validator', action: 'remove', key: single.vals[0]!.pub, deposit: '0.001' }, 'last_validator');
  });

  test('too_many_proposals and too_many_depositors at their bounds', () => {
    const crowd = Array.from({ length: governanceLimits.depositorsMax }, (_, i) => testAccount(`d${i}`));
    const w = world([10], { extra: crowd });
    const { chain, alice, bob } = w;
    const max = governanceLimits.proposalsOpenMax;
    chain.block(Array.from({ length: max }, () => chain.tx(alice, 'governance.propose', { kind: 'text', title: 't', body: '', deposit: '0.00025' })));
    assert.equal(chain.get('governance/open'), max);
    refused(chain, bob, 'governance.propose', { kind: 'text', title: 't', body: '', deposit: '0.001' }, 'too_many_proposals');
    // Proposal 1 has alice; 63 more fill it to the bound; the 65th is refused, an existing depositor is not.
    chain.block(crowd.slice(0, governanceLimits.depositorsMax - 1).map((d) => chain.tx(d, 'governance.deposit', { proposal: 1, amount: '0.000001' })));
    assert.equal(proposal(chain, 1).depositors, governanceLimits.depositorsMax);
    refused(chain, crowd.at(-1)!, 'governance.deposit', { proposal: 1, amount: '0.000001' }, 'too_many_depositors');
    ok(chain, crowd[0]!, 'governance.deposit', { proposal: 1, amount: '0.000001' });
    assert.deepEqual(chain.invariants(), []);
  });
});

test('replaying the same blocks gives the same state roots; chain verify finds nothing', async () => {
  const run = () => {
    const w = world();
    const { chain, alice, bob, vals } = w;
    ok(chain, alice, 'governance.propose', paramProposal('executionDelayBlocks', 5, '0.0005'));
    ok(chain, bob, 'governance.deposit', { proposal: 1, amount: '0.0005' });
    ok(chain, bob, 'governance.propose', { kind: 'validator', action: 'power', key: vals[0]!.pub, power: 7, deposit: '0.001' });
    ok(chain, alice, 'governance.propose', { kind: 'text', title: 'veto me', body: 'x', deposit: '0.001' });
    for (const v of [1, 2, 3]) ok(chain, vals[v]!, 'governance.vote', { proposal: 1, option: 'yes' });
    for (const v of [2, 3]) ok(chain, vals[v]!, 'governance.vote', { proposal: 2, option: 'yes' });
    ok(chain, vals[3]!, 'governance.vote', { proposal: 3, option: 'veto' });
    tickTo(w, chain.height + 25);
    return w;
  };
  const a = run();
  const b = run();
  assert.deepEqual([1, 2, 3].map((id) => proposal(a.chain, id).status), ['executed', 'executed', 'vetoed']);
  assert.deepEqual(a.chain.entries.map((e) => e.block.header.stateRoot), b.chain.entries.map((e) => e.block.header.stateRoot));
  const report = await verifyChain(a.chain.source(), MODULES, pool);
  assert.deepEqual(report.issues, []);
});

test('invariants catch a deposit record or a hold that does not match', () => {
  const w = world();
  ok(w.chain, w.alice, 'governance.propose', paramProposal('maxBlockTxs', 10, '0.0005'));
  const raw = w.chain.raw();
  assert.deepEqual(governanceInvariants(raw), []);
  assert.match(governanceInvariants(raw.filter(([k]) => !k.startsWith('governance/d/'))).join('\n'), /deposit records add up to 0/);
  assert.match(governanceInvariants(raw.filter(([k]) => k !== holdKey(w.alice.id, 'governance'))).join('\n'), /governance holds 0 on/);
  assert.match(governanceInvariants(raw.filter(([k]) => !k.startsWith('governance/q/'))).join('\n'), /is queued as \[\]/);
  assert.match(governanceInvariants(raw.filter(([k]) => k !== 'governance/open')).join('\n'), /the open count is 0/);
  assert.match(governanceInvariants([...raw, ['governance/param/maxBlockTxs', '0']]).join('\n'), /out of bounds/);
});

test('queries: proposals paged, one proposal, params with defaults', () => {
  const w = world();
  const { chain, alice } = w;
  chain.block([1, 2, 3].map(() => chain.tx(alice, 'governance.propose', { kind: 'text', title: 't', body: '', deposit: '0.001' })));
  const page1 = query(chain, 'governance.proposals', { limit: '2' }) as { items: Proposal[]; next: number | null };
  assert.deepEqual([page1.items.map((p) => p.id), page1.next], [[1, 2], 2]);
  const page2 = query(chain, 'governance.proposals', { after: String(page1.next), limit: 2 }) as { items: Proposal[]; next: number | null };
  assert.deepEqual([page2.items.map((p) => p.id), page2.next], [[3], null]);
  const one_ = query(chain, 'governance.proposal', { id: 2 }) as { deposits: unknown; depositAmount: string };
  assert.deepEqual([one_.deposits, one_.depositAmount], [[{ account: alice.id, amount: '0.001' }], '0.001']);
  assert.throws(() => query(chain, 'governance.proposal', { id: 9 }), (e: TallyError) => e.code === 'unknown_proposal');
  assert.throws(() => query(chain, 'governance.proposals', { limit: governanceLimits.pageMax + 1 }), (e: TallyError) => e.code === 'bad_query');
  const params = query(chain, 'governance.params') as Array<{ name: string; value: number; default: number; amount?: string }>;
  assert.deepEqual(params.map((p) => p.name), Object.keys(PARAMS).sort());
  assert.deepEqual(params.find((p) => p.name === 'quorumPct'), { name: 'quorumPct', value: 33, default: 33, min: 1, max: 100, doc: PARAMS.quorumPct.doc });
  assert.deepEqual(params.find((p) => p.name === 'votingPeriodBlocks')!.value, 10, 'from genesis');
  assert.equal(params.find((p) => p.name === 'minDeposit')!.amount, '0.001');
});

test('routes answer the queries over HTTP, errors with their codes', async () => {
  const w = world();
  ok(w.chain, w.alice, 'governance.propose', { kind: 'text', title: 't', body: 'b', deposit: '0.001' });
  const app = Fastify();
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof TallyError) return reply.status(err.status).send({ error: err.toJSON() });
    return reply.status((err as { statusCode?: number }).statusCode ?? 500).send({ error: { code: 'bad_request', message: (err as Error).message } });
  });
  const node = { params: w.chain.kernel.params, submit: async () => [], query: (name: string, params: Record<string, unknown>) => query(w.chain, name, params) } as NodeHandle;
  governanceRoutes(app, node);
  try {
    const list = await app.inject({ url: '/v1/governance/proposals?limit=5' });
    assert.equal(list.statusCode, 200);
    assert.deepEqual([list.json().items.map((p: Proposal) => [p.id, p.status, p.content]), list.json().next], [[[1, 'voting', { kind: 'text', title: 't', body: 'b' }]], null]);
    const one_ = await app.inject({ url: '/v1/governance/proposals/1' });
    assert.deepEqual([one_.statusCode, one_.json().depositAmount, one_.json().tallySoFar.yes], [200, '0.001', '0']);
    const missing = await app.inject({ url: '/v1/governance/proposals/7' });
    assert.deepEqual([missing.statusCode, missing.json().error.code], [404, 'unknown_proposal']);
    assert.equal((await app.inject({ url: '/v1/governance/proposals/x' })).statusCode, 400);
    assert.equal((await app.inject({ url: '/v1/governance/proposals?limit=101' })).json().error.code, 'bad_query');
    const params = await app.inject({ url: '/v1/governance/params' });
    assert.equal(params.json().find((p: { name: string }) => p.name === 'minDeposit').amount, '0.001');
  } finally {
    await app.close();
  }
});

test('genesis: parameters are checked against the registry', () => {
  // absent stays absent: a chain made before governance keeps its genesis hash
  assert.equal(governanceGenesis.validate(undefined, { decimals: 6 }), undefined);
  assert.deepEqual(governanceGenesis.validate({ params: { quorumPct: 50 } }, { decimals: 6 }), { params: { quorumPct: 50 } });
  for (const bad of [{ params: { quorumPct: 0 } }, { params: { nope: 1 } }, { params: { quorumPct: '50' } }, { params: 3 }, { other: 1 }]) {
    assert.throws(() => governanceGenesis.validate(bad, { decimals: 6 }), (e: TallyError) => e.code === 'genesis_invalid', JSON.stringify(bad));
  }
});
