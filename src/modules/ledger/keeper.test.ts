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
import { accountKey, holdKey, ledgerInvariants, moduleAccountId } from './state.js';

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
  assert.deepEqual(kernel.modules.map((m) => m.name), ['validators', 'ledger', 'escrow'], 'a module runs after those it requires (the core\'s validators module first)');
  const state = new MemoryState();
  state.apply(genesisBlockParts(genesis, kernel, 'node').writes);
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

test('the ledger keeper: module accounts, admins, payments from one account to many', () => {
  const alice = generateSigner().signer;
  const bob = generateSigner().signer;
  const aliceId = accountIdFromPub(alice.pub);
  const bobId = accountIdFromPub(bob.pub);
  const pot: ChainModule = {
    name: 'pot',
    requires: ['ledger'],
    queries: [],
    txTypes: [{
      type: 'pot.run',
      parse: (body) => body,
      apply(ctx, b) {
        const body = b as { op: string };
        const ledger = ctx.keeper<LedgerKeeper>(ledgerChain as ChainModule<LedgerKeeper>);
        const id = ledger.moduleAccount('jar');
        if (body.op === 'fill') return [ledger.transfer(ctx.tx.from, id, 10_000_000n)];
        if (body.op === 'admin') return [{ type: 'pot.admin', admin: ledger.isAdmin(ctx.tx.from), other: ledger.isAdmin(id) }];
        if (body.op === 'overpay') return ledger.transferMany(id, [{ to: aliceId, amount: 6_000_000n }, { to: bobId, amount: 6_000_000n }]);
        return ledger.transferMany(id, [{ to: aliceId, amount: 3_000_000n }, { to: bobId, amount: 2_000_000n }, { to: bobId, amount: 1_000_000n }]);
      },
    }],
  };
  const genesis = validateGenesis({
    chain: 'k', time: 1_000, decimals: 6,
    modules: { ledger: { registration: { policy: 'closed', grant: '0' }, accounts: [{ name: 'alice', pub: alice.pub, balance: '100' }, { name: 'bob', pub: bob.pub, balance: '0' }], admins: ['alice'] } },
  }, [ledgerChain, pot]);
  const kernel = new Kernel([ledgerChain, pot], chainParams(genesis));
  const state = new MemoryState();
  state.apply(genesisBlockParts(genesis, kernel, 'node').writes);
  let nonce = 0;
  const run = (op: string) => {
    const t: Tx = { chain: 'k', type: 'pot.run', from: aliceId, nonce: nonce++, expires: 10_000, body: { op } };
    const r = executeBlock({ get: (k) => state.get(k), range: (p, a, l) => state.range(p, a, l), stateRoot: '00'.repeat(32) }, { height: 1, time: 2_000 }, [{ id: txId(t), env: signTx(t, alice) }], kernel);
    state.apply(r.writes);
    assert.deepEqual(ledgerInvariants(state.map.entries()), []);
    return r.receipts[0]!;
  };
  const balance = (id: string) => BigInt(JSON.parse(state.get(accountKey(id))!).balance);
  assert.equal(run('fill').status, 'ok');
  const jar = moduleAccountId('pot', 'jar');
  assert.equal(JSON.parse(state.get(accountKey(jar))!).name, 'pot:jar');
  assert.equal(balance(jar), 10_000_000n);
  assert.deepEqual(run('admin').events, [{ type: 'pot.admin', admin: true, other: false }]);
  assert.equal(run('overpay').code, 'insufficient_funds');
  assert.equal(balance(jar), 10_000_000n, 'all or nothing');
  const paid = run('pay');
  assert.equal(paid.events.length, 3);
  assert.deepEqual([balance(jar), balance(aliceId), balance(bobId)], [4_000_000n, 93_000_000n, 3_000_000n]);
});
