// The ledger keeper, driven by a test module through the one executor: holds are tagged
// by their owner, a module can release only its own, and the invariants tell them apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigner, accountIdFromPub } from '../../core/keys.js';
import { fail } from '../../core/errors.js';
import { signTx, txId, type Tx } from '../../chain/envelope.js';
import { executeBlock } from '../../chain/execute.js';
import { chainParams, genesisBlockParts } from '../../chain/genesis-block.js';
import { validateGenesis } from '../../chain/genesis.js';
import { Kernel } from '../../chain/kernel.js';
import type { ChainModule } from '../../chain/module.js';
import { MemoryState } from '../../chain/state.js';
import { ledgerChain } from './index.js';
import type { LedgerKeeper } from './keeper.js';
import { accountKey, holdKey, ledgerInvariants } from './state.js';

const escrow: ChainModule = {
  name: 'escrow',
  requires: ['ledger'],
  queries: [],
  txTypes: [{
    type: 'escrow.lock',
    parse: (body) => body as { amount: string; release?: boolean; steal?: string },
    apply(ctx, b) {
      const body = b as { amount: string; release?: boolean; steal?: string };
      const ledger = ctx.keeper<LedgerKeeper>(ledgerChain as ChainModule<LedgerKeeper>);
      if (body.steal) return [ledger.release(body.steal, BigInt(body.amount))];
      if (body.release) return [ledger.release(ctx.tx.from, BigInt(body.amount))];
      if (BigInt(body.amount) > 90_000_000n) fail('too_much', 'refused by the module');
      return [ledger.hold(ctx.tx.from, BigInt(body.amount))];
    },
  }],
};

test('the ledger keeper: holds tagged by owner, spendable balance, invariants', () => {
  const alice = generateSigner().signer;
  const aliceId = accountIdFromPub(alice.pub);
  const genesis = validateGenesis({
    chain: 'k', time: 1_000, decimals: 6,
    modules: { ledger: { registration: { policy: 'closed', grant: '0' }, accounts: [{ name: 'alice', pub: alice.pub, balance: '100' }], admins: [] } },
  }, [ledgerChain, escrow]);
  const kernel = new Kernel([escrow, ledgerChain], chainParams(genesis));
  assert.deepEqual(kernel.modules.map((m) => m.name), ['ledger', 'escrow'], 'a module runs after those it requires');
  const state = new MemoryState();
  state.apply(genesisBlockParts(genesis, kernel).writes);
  let nonce = 0;
  const tx = (body: Record<string, unknown>) => {
    const t: Tx = { chain: 'k', type: 'escrow.lock', from: aliceId, nonce: nonce++, expires: 10_000, body };
    return { id: txId(t), env: signTx(t, alice) };
  };
  let root = '00'.repeat(32);
  const run = (bodies: Array<Record<string, unknown>>) => {
    const r = executeBlock({ get: (k) => state.get(k), range: (p, a, l) => state.range(p, a, l), stateRoot: root }, { height: 1, time: 2_000 }, bodies.map(tx), kernel);
    state.apply(r.writes);
    root = r.stateRoot;
    return r.receipts;
  };
  const [held] = run([{ amount: '30000000' }]);
  assert.equal(held!.status, 'ok', JSON.stringify(held));
  assert.deepEqual(held!.events, [{ type: 'ledger.hold', account: aliceId, owner: 'escrow', amount: '30' }]);
  assert.equal(JSON.parse(state.get(holdKey(aliceId, 'escrow'))!), '30000000');
  assert.equal(JSON.parse(state.get(accountKey(aliceId))!).held, '30000000');
  assert.deepEqual(ledgerInvariants(state.map.entries()), []);
  // More than is spendable: a refusal code, nothing moves.
  const [tooMuch] = run([{ amount: '80000000' }]);
  assert.equal(tooMuch!.code, 'insufficient_funds');
  assert.equal(run([{ amount: '95000000' }])[0]!.code, 'too_much');
  // A module may release only what it holds itself: releasing more is an assertion (a bug), not a code.
  assert.throws(() => run([{ amount: '40000000', release: true }]), /holds only 30000000/);
  nonce--; // that block was never made
  const [released] = run([{ amount: '30000000', release: true }]);
  assert.equal(released!.status, 'ok');
  assert.equal(state.get(holdKey(aliceId, 'escrow')), undefined);
  assert.equal(JSON.parse(state.get(accountKey(aliceId))!).held, undefined);
  assert.deepEqual(ledgerInvariants(state.map.entries()), []);
});
