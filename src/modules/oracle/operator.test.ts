// The operator's side (CLI and feed) against the executor: nonces kept before the
// announcement leaves, nothing signed before maturity, an outcome recorded before its
// signatures leave so a lost submission can only be resent as it was, never re-signed
// for another value; key and event files refuse a wrong passphrase or an edit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestChain, testAccount, TEST_GENESIS_TIME, type TestAccount, type TestChain } from '../../chain/testing/test-chain.js';
import type { CliContext } from '../../chain/app-module.js';
import type { Receipt } from '../../chain/module.js';
import { fail, TallyError } from '../../core/errors.js';
import { ledgerChain } from '../ledger/index.js';
import { oracleChain } from './index.js';
import { createOracleKey, loadEventSecrets, unlockOracleKey } from './keyfile.js';
import { announceEvent, attestEvent, type Operator } from './operator.js';
import { registerBodyFor } from './sign.js';
import { getEvent, getOracle } from './state.js';

const T0 = TEST_GENESIS_TIME / 1000;
process.env.TALLY_SCRYPT_N = '1024';

/** A CliContext whose node is a TestChain; `lose` drops the next submission before it lands. */
function fakeCli(chain: TestChain, account: TestAccount, home: string) {
  const ctl = { lose: false };
  const reader = { get: <T>(k: string) => chain.get<T>(k), entries: () => [] };
  const cli = {
    home: () => home,
    passphrase: async () => 'pw',
    async submitTx(type: string, body: Record<string, unknown>): Promise<Receipt> {
      if (ctl.lose) {
        ctl.lose = false;
        fail('node_unreachable', 'the connection dropped');
      }
      const r = chain.block([chain.tx(account, type, body)]).receipts[0]!;
      if (r.status === 'failed') fail(r.code!, `failed: ${r.code}`);
      return r;
    },
    async query(name: string, p: Record<string, unknown>): Promise<unknown> {
      const o = getOracle(reader, p.oracle as string);
      if (!o) fail('unknown_oracle', 'no oracle', { status: 404 });
      if (name === 'oracle.get') return o;
      const e = getEvent(reader, p.oracle as string, p.eventId as string);
      if (!e) fail('unknown_event', 'no event', { status: 404 });
      return e;
    },
  } as unknown as CliContext;
  return { cli, ctl };
}

async function refusedWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof TallyError && err.code === code, code);
}

test('operator: nonces kept, nothing signed early, one outcome per nonce', async () => {
  const alice = testAccount('alice');
  const chain = createTestChain([ledgerChain, oracleChain], {
    chain: 'ops', modules: { ledger: { registration: { policy: 'closed', grant: '0' }, accounts: [{ name: 'alice', pub: alice.pub, balance: '1' }], admins: [] } },
  });
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-oracle-op-'));
  try {
    const { cli, ctl } = fakeCli(chain, alice, home);
    const info = createOracleKey(home, 'op', 'pw');
    await refusedWith(Promise.resolve().then(() => unlockOracleKey(home, 'op', 'wrong')), 'wrong_passphrase');
    const { secret, pubkey } = unlockOracleKey(home, 'op', 'pw');
    assert.equal(pubkey, info.pubkey);
    const op: Operator = { home, keyName: 'op', secret, pubkey };
    await cli.submitTx('oracle.register', registerBodyFor(secret, 'ops', alice.id, 'dlcspecs-v0', 'ops') as unknown as Record<string, unknown>, {});

    const shape = { base: 10, signed: false, digits: 3, unit: 'USD', precision: 0 };
    // A lost announcement is retried with the same nonces (they signed nothing yet).
    ctl.lose = true;
    await refusedWith(announceEvent(cli, op, { ...shape, eventId: 'e1', maturity: T0 + 1 }, {}), 'node_unreachable');
    const kept = loadEventSecrets(home, 'op', secret, pubkey, 'e1');
    const { nonces } = await announceEvent(cli, op, { ...shape, eventId: 'e1', maturity: T0 + 1 }, {});
    assert.deepEqual(loadEventSecrets(home, 'op', secret, pubkey, 'e1').nonces, kept.nonces);
    assert.deepEqual(getEvent({ get: (k) => chain.get(k), entries: () => [] }, pubkey, 'e1')!.nonces, nonces);
    await refusedWith(announceEvent(cli, op, { ...shape, eventId: 'e1', maturity: T0 + 1 }, {}), 'event_exists');

    await refusedWith(attestEvent(cli, op, 'e1', '42', {}, T0 * 1000), 'event_not_mature');
    assert.equal(loadEventSecrets(home, 'op', secret, pubkey, 'e1').signed, undefined, 'nothing recorded before maturity');
    const late = (T0 + 60) * 1000;
    await refusedWith(attestEvent(cli, op, 'e1', 'forty', {}, late), 'bad_value');
    // The signatures leave and are lost: the outcome is on record, another is never signed.
    ctl.lose = true;
    await refusedWith(attestEvent(cli, op, 'e1', '42', {}, late), 'node_unreachable');
    assert.deepEqual(loadEventSecrets(home, 'op', secret, pubkey, 'e1').signed, ['0', '4', '2']);
    await refusedWith(attestEvent(cli, op, 'e1', '43', {}, late), 'already_signed');
    const ok = await attestEvent(cli, op, 'e1', '42.2', {}, late);
    assert.deepEqual([ok.outcome, ok.receipt?.status], ['42', 'ok']);
    const again = await attestEvent(cli, op, 'e1', '7', {}, late);
    assert.deepEqual([again.already, again.outcome], [true, '42']);

    // An edited event file does not open.
    const file = path.join(home, 'oracle', 'op.events', 'e1.json');
    const sealed = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.rmSync(file);
    fs.writeFileSync(file, JSON.stringify({ ...sealed, ciphertext: (sealed.ciphertext[0] === 'A' ? 'B' : 'A') + sealed.ciphertext.slice(1) }), { mode: 0o600 });
    await refusedWith(Promise.resolve().then(() => loadEventSecrets(home, 'op', secret, pubkey, 'e1')), 'key_file_invalid');
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
