// Governance over the core's own validator set (src/chain/validators.ts), not a stand-in:
// a proposal adds a validator and lowers maxBlockTxs; from its execution height the new
// set is in state (and in force from the next block), and the kernel's block limit
// follows the parameter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestChain, testAccount, type TestAccount } from '../../chain/testing/test-chain.js';
import { validateGenesis } from '../../chain/genesis.js';
import { coreValidators } from '../../chain/validators.js';
import type { ChainModule } from '../../chain/module.js';
import type { ValidatorEntry } from '../../chain/consensus/validator-key.js';
import { decodeValue } from '../../chain/state.js';
import { nobleBls } from '../../core/bls.js';
import { toB64u } from '../../core/encoding.js';
import { hashText } from '../../core/hash.js';
import { ledgerChain } from '../ledger/index.js';
import { governanceModuleWith } from './index.js';

const blsOf = (label: string) => {
  const sk = nobleBls.keygen(hashText(`tally/test-bls/${label}`));
  return { blsKey: toB64u(nobleBls.publicKey(sk)), pop: toB64u(nobleBls.popProve(sk)) };
};

test('a passed proposal adds a validator to the core set and lowers maxBlockTxs', () => {
  const governance = governanceModuleWith(coreValidators).chain;
  const modules: ChainModule[] = [ledgerChain, governance];
  const [alice, newcomer] = ['alice', 'newcomer'].map(testAccount) as [TestAccount, TestAccount];
  const vals = [0, 1, 2, 3].map((i) => testAccount(`core-v${i}`));
  const genesis = validateGenesis({
    chain: 'gov-core', time: 1_700_000_000_000,
    validators: vals.map((v) => ({ key: v.pub, ...blsOf(v.label), power: 1 })),
    modules: {
      ledger: { registration: { policy: 'closed', grant: '0' }, accounts: [alice, ...vals].map((a) => ({ name: a.label, pub: a.pub, balance: '1' })), admins: [] },
      governance: { params: { votingPeriodBlocks: 10, depositPeriodBlocks: 10, executionDelayBlocks: 3, minDeposit: 1000 } },
    },
  }, modules);
  const chain = new TestChain(modules, genesis, testAccount('node'));
  const ok = (from: TestAccount, type: string, body: object) => {
    const r = chain.block([chain.tx(from, type, body as Record<string, unknown>)]);
    assert.equal(r.receipts[0]?.status, 'ok', `${type}: ${r.receipts[0]?.code ?? r.excluded[0]?.code}`);
  };
  const limit = () => chain.kernel.blockTxCountMax({ get: (k) => chain.get(k), entries: (p) => chain.state.range(p, undefined, 1000).map(([k, v]) => [k, decodeValue(v)]) }, 4000);
  assert.equal(limit(), 4000);

  ok(alice, 'governance.propose', { kind: 'validator', action: 'add', key: newcomer.pub, ...blsOf('newcomer'), power: 2, deposit: '0.001' });
  ok(alice, 'governance.propose', { kind: 'param', name: 'maxBlockTxs', value: 100, deposit: '0.001' });
  for (const id of [1, 2]) for (const v of vals.slice(0, 3)) ok(v, 'governance.vote', { proposal: id, option: 'yes' });
  while ((chain.get<ValidatorEntry[]>('validators/set') ?? []).length < 5) {
    assert.ok(chain.height < 60, 'the proposal executes within its periods');
    ok(alice, 'ledger.sign', { text: `tick ${chain.height}` });
  }
  const set = chain.get<ValidatorEntry[]>('validators/set')!;
  assert.deepEqual(set.map((v) => v.key), [...vals.map((v) => v.pub), newcomer.pub].sort());
  assert.equal(set.find((v) => v.key === newcomer.pub)!.power, 2);
  assert.equal(chain.get<number>('validators/since'), chain.height + 1, 'in force from the next block');
  while (limit() !== 100) {
    assert.ok(chain.height < 60);
    ok(alice, 'ledger.sign', { text: `tick ${chain.height}` });
  }
  assert.deepEqual(chain.invariants(), []);
});
