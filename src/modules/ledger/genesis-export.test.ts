// Genesis export: a new chain started from an old chain's committed state has the same
// accounts, keys, balances and admins, and its invariants hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportGenesis } from '../../chain/genesis-export.js';
import type { StateReader } from '../../chain/state.js';
import { createTestChain, testAccount, type TestChain } from '../../chain/testing/test-chain.js';
import { ledgerChain } from './index.js';
import { accountKey, type LedgerAccount } from './state.js';

function reader(chain: TestChain): StateReader {
  return {
    get: (k) => chain.get(k),
    entries: (p, o = {}) => chain.state.range(p, o.after, o.limit ?? 1000).map(([k, v]) => [k, JSON.parse(v)]),
  };
}

test('ledger genesis export: accounts, keys, balances and admins carry over to a new chain', () => {
  const [root, alice, bob] = ['root', 'alice', 'bob'].map(testAccount) as [ReturnType<typeof testAccount>, ReturnType<typeof testAccount>, ReturnType<typeof testAccount>];
  const old = createTestChain([ledgerChain], {
    chain: 'old',
    modules: { ledger: { registration: { policy: 'open', grant: '5' }, accounts: [{ name: 'root', pub: root.pub, balance: '100' }], admins: ['root'] } },
  });
  old.block([old.tx(alice, 'ledger.register', { name: 'alice' }), old.tx(bob, 'ledger.register', { name: 'bob' })]);
  old.block([old.tx(root, 'ledger.send', { to: 'alice', amount: '12.5' }), old.tx(alice, 'ledger.send', { to: 'bob', amount: '0.25' }), old.tx(root, 'ledger.rename', { name: 'boss' })]);
  assert.deepEqual(old.invariants(), []);

  const next = exportGenesis(reader(old), old.kernel, old.genesis, { chain: 'new', time: old.time + 1 });
  assert.equal(next.chain, 'new');
  const section = next.modules.ledger as { accounts: Array<{ name: string; pub: string; balance: string }>; admins: string[] };
  assert.deepEqual(section.accounts.map((a) => [a.name, a.balance]).sort(), [['alice', '17.25'], ['bob', '5.25'], ['boss', '87.5']]);
  assert.deepEqual(section.admins, ['boss'], 'the admin keeps its role under its current name');
  assert.throws(() => exportGenesis(reader(old), old.kernel, old.genesis, { chain: 'old', time: 1 }), /its own id/);

  const fresh = createTestChain([ledgerChain], { chain: next.chain, time: next.time, modules: next.modules });
  assert.deepEqual(fresh.invariants(), []);
  for (const acct of [root, alice, bob]) {
    const a = old.get<LedgerAccount>(accountKey(acct.id))!;
    const b = fresh.get<LedgerAccount>(accountKey(acct.id))!;
    assert.deepEqual([b.name, b.balance], [a.name, a.balance]);
  }
  // The same keys sign on the new chain (nonces start again at 0).
  const [r] = fresh.block([fresh.tx({ ...alice, nonce: 0 }, 'ledger.send', { to: 'bob', amount: '1' })]).receipts;
  assert.equal(r!.status, 'ok', JSON.stringify(r));
});
