// The oracle module through the one executor: register, announce, attest in both
// profiles, every refusal (which changes nothing but the sender's nonce), nonce-reuse
// evidence that freezes the oracle, outcomes at the bound, and the keeper markets reads.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestChain, testAccount, TEST_GENESIS_TIME, type TestAccount, type TestChain } from '../../chain/testing/test-chain.js';
import type { AdmitContext, ChainModule, TxType } from '../../chain/module.js';
import { TallyError } from '../../core/errors.js';
import { oracleTxTypes } from './txs.js';
import { authKey } from '../../chain/state.js';
import { verifyChain } from '../../chain/replay.js';
import { VerifierPool } from '../../chain/verifier.js';
import { toHex } from '../../core/encoding.js';
import { ledgerChain } from '../ledger/index.js';
import { outcomeMessage, xOnly, type OracleProfile } from './bip340.js';
import { oracleChain } from './index.js';
import type { OracleKeeper } from './keeper.js';
import { announceBodyFor, attestBodyFor, newNonceSecrets, registerBodyFor } from './sign.js';
import { oracleInvariants } from './invariants.js';
import { eventKey, oracleKey } from './state.js';

const T0 = TEST_GENESIS_TIME / 1000;

let pool: VerifierPool;
before(() => { pool = new VerifierPool(1); });
after(() => pool.close());

/** A module that reads the keeper in endBlock, as markets does, and reports what it saw. */
const probe: ChainModule = {
  name: 'probe',
  requires: ['oracle'],
  txTypes: [],
  queries: [],
  endBlock(ctx) {
    const k = ctx.keeper<OracleKeeper>(oracleChain as ChainModule<OracleKeeper>);
    const attested = k.attestedThisBlock();
    const frozen = k.frozenThisBlock();
    if (attested.length === 0 && frozen.length === 0) return [];
    return [{
      type: 'probe.saw', attested, frozen,
      events: attested.map((a) => {
        const v = k.event(a.oracle, a.eventId)!;
        return { ...v, outcome: v.outcome?.toString() };
      }),
      status: frozen.map((o) => k.oracleStatus(o) ?? 'none'),
    }];
  },
};

function world() {
  const [alice, bob] = ['alice', 'bob'].map(testAccount) as [TestAccount, TestAccount];
  const chain = createTestChain([ledgerChain, oracleChain, probe], {
    chain: 'oracles',
    modules: {
      ledger: {
        registration: { policy: 'closed', grant: '0' },
        accounts: [{ name: 'alice', pub: alice.pub, balance: '10' }, { name: 'bob', pub: bob.pub, balance: '10' }],
        admins: [],
      },
    },
  });
  return { chain, alice, bob };
}

interface Oracle { secret: Buffer; pub: string; profile: OracleProfile }

function oracleKeyOf(label: string, profile: OracleProfile): Oracle {
  const secret = Buffer.from(toHex(outcomeMessage('sha256-plain', `tally test oracle ${label}`)), 'hex');
  return { secret, pub: toHex(xOnly(secret)), profile };
}

function one(chain: TestChain, from: TestAccount, type: string, body: object, time?: number) {
  const out = chain.block([chain.tx(from, type, body as Record<string, unknown>)], time === undefined ? {} : { time });
  return { receipt: out.receipts[0]!, events: out.result.events, writes: out.result.writes };
}

/** What admission answers for a body against the committed state: the refusal's code, or 'ok'. */
function admission(chain: TestChain, type: string, body: object): string {
  const t = oracleTxTypes.find((x) => x.type === type) as TxType<unknown>;
  const ctx = { state: { get: (k: string) => chain.get(k), entries: () => [] }, tx: {}, known: true, nowMs: 0 } as unknown as AdmitContext;
  try {
    t.admit?.(ctx, t.parse(body as Record<string, unknown>, chain.kernel.params));
    return 'ok';
  } catch (err) {
    if (err instanceof TallyError) return err.code;
    throw err;
  }
}

/** A failed transaction writes only the sender's nonce: nothing under oracle/. */
function refused(chain: TestChain, from: TestAccount, type: string, body: object, code: string, time?: number) {
  const { receipt, writes } = one(chain, from, type, body, time);
  assert.deepEqual([receipt.status, receipt.code], ['failed', code], `${type} is refused with ${code}`);
  assert.deepEqual([...writes.keys()].filter((k) => k !== authKey(from.id)), []);
}

/** The transaction body of an attestation (without the CLI's `clamped` flag). */
const strip = <T extends { clamped: boolean }>({ clamped: _clamped, ...body }: T) => body;

const shape = { base: 10, signed: true, digits: 3, unit: 'USD/BTC', precision: 0 };

for (const profile of ['dlcspecs-v0', 'sha256-plain'] as const) {
  test(`oracle flow (${profile}): register, announce, attest, refusals, keeper`, () => {
    const { chain, alice, bob } = world();
    const o = oracleKeyOf(`flow-${profile}`, profile);
    const reg = registerBodyFor(o.secret, 'oracles', alice.id, profile, 'Alice prices');
    assert.equal(reg.pubkey, o.pub);
    // A proof made for another account (a squatter copying it) does not verify.
    refused(chain, bob, 'oracle.register', reg, 'bad_proof');
    assert.equal(one(chain, alice, 'oracle.register', reg).receipt.status, 'ok');
    refused(chain, alice, 'oracle.register', reg, 'oracle_exists');
    assert.equal(admission(chain, 'oracle.register', reg), 'oracle_exists');

    const nonces = newNonceSecrets(shape);
    const ann = announceBodyFor(o.secret, profile, { eventId: 'btc-1', maturity: T0 + 100, ...shape }, nonces);
    refused(chain, bob, 'oracle.announce', ann, 'not_oracle_owner');
    const other = oracleKeyOf('other', profile);
    refused(chain, alice, 'oracle.announce', { ...ann, sig: announceBodyFor(other.secret, profile, { eventId: 'btc-1', maturity: T0 + 100, ...shape }, nonces).sig }, 'bad_announcement');
    refused(chain, alice, 'oracle.announce', { ...ann, maturity: T0 + 101 }, 'bad_announcement');
    assert.equal(one(chain, alice, 'oracle.announce', ann).receipt.status, 'ok');
    refused(chain, alice, 'oracle.announce', ann, 'event_exists');
    // The same nonces for another event: refused (a reused nonce would reveal the key).
    refused(chain, alice, 'oracle.announce', announceBodyFor(o.secret, profile, { eventId: 'btc-2', maturity: T0 + 100, ...shape }, [...newNonceSecrets(shape).slice(1), nonces[0]!]), 'nonce_reused');

    const att = attestBodyFor(o.secret, profile, { eventId: 'btc-1', ...shape }, -42n, nonces);
    const { clamped, ...attBody } = att;
    assert.equal(clamped, false);
    assert.deepEqual(attBody.outcomes, ['-', '0', '4', '2']);
    refused(chain, bob, 'oracle.attest', attBody, 'event_not_mature');
    const late = (T0 + 200) * 1000;
    refused(chain, bob, 'oracle.attest', { ...attBody, eventId: 'nope' }, 'unknown_event', late);
    refused(chain, bob, 'oracle.attest', { ...attBody, oracle: other.pub }, 'unknown_oracle', late);
    // Signed with fresh nonces: the R values are not the announced ones.
    refused(chain, bob, 'oracle.attest', { ...attBody, sigs: attestBodyFor(o.secret, profile, { eventId: 'btc-1', ...shape }, -42n, newNonceSecrets(shape)).sigs }, 'nonce_mismatch', late);
    // The right nonces, the wrong key (its s does not verify under the oracle's key).
    refused(chain, bob, 'oracle.attest', { ...attBody, sigs: attestBodyFor(other.secret, profile, { eventId: 'btc-1', ...shape }, -42n, nonces).sigs.map((s, i) => attBody.sigs[i]!.slice(0, 64) + s.slice(64)) }, 'bad_attestation', late);
    // Signatures of other outcomes than the ones claimed.
    refused(chain, bob, 'oracle.attest', { ...attBody, outcomes: ['-', '0', '4', '3'] }, 'bad_attestation', late);
    refused(chain, bob, 'oracle.attest', { ...attBody, outcomes: ['-', '0', '4', '10'] }, 'oracle_invalid', late);
    // The other profile's message: signatures are checked only in the oracle's own profile.
    const otherProfile = profile === 'dlcspecs-v0' ? 'sha256-plain' : 'dlcspecs-v0';
    refused(chain, bob, 'oracle.attest', { ...attBody, sigs: attestBodyFor(o.secret, otherProfile, { eventId: 'btc-1', ...shape }, -42n, nonces).sigs }, 'bad_attestation', late);

    // Anyone may submit the attestation: bob does.
    const ok = one(chain, bob, 'oracle.attest', attBody, late);
    assert.equal(ok.receipt.status, 'ok');
    assert.deepEqual(ok.receipt.events, [{ type: 'oracle.attested', oracle: o.pub, eventId: 'btc-1', outcome: '-42', atBound: false }]);
    const saw = ok.events.find((e) => e.type === 'probe.saw')!;
    assert.deepEqual(saw.attested, [{ oracle: o.pub, eventId: 'btc-1' }]);
    assert.deepEqual(saw.events, [{
      oracle: o.pub, eventId: 'btc-1', maturity: T0 + 100, base: 10, signed: true, digits: 3, unit: 'USD/BTC', precision: 0,
      status: 'attested', outcome: '-42', atBound: false, attestedHeight: chain.height,
    }]);
    refused(chain, bob, 'oracle.attest', attBody, 'already_attested');
    assert.deepEqual(chain.invariants(), []);
  });
}

test('an outcome beyond the range is attested at the bound', () => {
  const { chain, alice } = world();
  const o = oracleKeyOf('bound', 'dlcspecs-v0');
  one(chain, alice, 'oracle.register', registerBodyFor(o.secret, 'oracles', alice.id, o.profile, 'bound'));
  const unsigned = { base: 2, signed: false, digits: 8, unit: 'sat', precision: -2 };
  const n1 = newNonceSecrets(unsigned);
  const n2 = newNonceSecrets(unsigned);
  one(chain, alice, 'oracle.announce', announceBodyFor(o.secret, o.profile, { eventId: 'hi', maturity: T0, ...unsigned }, n1));
  one(chain, alice, 'oracle.announce', announceBodyFor(o.secret, o.profile, { eventId: 'lo', maturity: T0, ...unsigned }, n2));
  const { clamped, ...hi } = attestBodyFor(o.secret, o.profile, { eventId: 'hi', ...unsigned }, 1000n, n1);
  assert.equal(clamped, true);
  assert.deepEqual(hi.outcomes, ['1', '1', '1', '1', '1', '1', '1', '1']);
  const lo = attestBodyFor(o.secret, o.profile, { eventId: 'lo', ...unsigned }, -5n, n2);
  assert.equal(lo.clamped, true);
  const out = chain.block([chain.tx(alice, 'oracle.attest', hi), chain.tx(alice, 'oracle.attest', strip(lo))]);
  assert.deepEqual(out.receipts.map((r) => r.events), [
    [{ type: 'oracle.attested', oracle: o.pub, eventId: 'hi', outcome: '255', atBound: true }],
    [{ type: 'oracle.attested', oracle: o.pub, eventId: 'lo', outcome: '0', atBound: true }],
  ]);
  const saw = out.result.events.find((e) => e.type === 'probe.saw')!;
  assert.deepEqual(saw.attested, [{ oracle: o.pub, eventId: 'hi' }, { oracle: o.pub, eventId: 'lo' }], 'in attestation order');
});

test('nonce reuse: evidence freezes the oracle; its events can no longer be attested', async () => {
  const { chain, alice, bob } = world();
  const o = oracleKeyOf('reuse', 'sha256-plain');
  one(chain, alice, 'oracle.register', registerBodyFor(o.secret, 'oracles', alice.id, o.profile, 'reuse'));
  const nonces = newNonceSecrets(shape);
  one(chain, alice, 'oracle.announce', announceBodyFor(o.secret, o.profile, { eventId: 'e1', maturity: T0, ...shape }, nonces));
  one(chain, alice, 'oracle.announce', announceBodyFor(o.secret, o.profile, { eventId: 'e2', maturity: T0, ...shape }, newNonceSecrets(shape)));
  const a = attestBodyFor(o.secret, o.profile, { eventId: 'e1', ...shape }, 123n, nonces);
  assert.equal(one(chain, bob, 'oracle.attest', strip(a)).receipt.status, 'ok');
  // The oracle signs another outcome for digit 3 with the same nonce, off chain.
  const b = attestBodyFor(o.secret, o.profile, { eventId: 'e1', ...shape }, 124n, nonces);
  const sigA = { outcome: a.outcomes[3]!, sig: a.sigs[3]! };
  const sigB = { outcome: b.outcomes[3]!, sig: b.sigs[3]! };
  // Admission refuses what can never succeed, before any signature work: an attested event,
  // a signature whose R is not the announced nonce, a used nonce; an unknown event passes.
  assert.equal(admission(chain, 'oracle.attest', strip(a)), 'already_attested');
  const e2Body = strip(attestBodyFor(o.secret, o.profile, { eventId: 'e2', ...shape }, 5n, nonces));
  assert.equal(admission(chain, 'oracle.attest', e2Body), 'nonce_mismatch');
  assert.equal(admission(chain, 'oracle.attest', { ...e2Body, eventId: 'later' }), 'ok');
  assert.equal(admission(chain, 'oracle.announce', announceBodyFor(o.secret, o.profile, { eventId: 'e9', maturity: T0, ...shape }, nonces)), 'nonce_reused');
  assert.equal(admission(chain, 'oracle.announce', announceBodyFor(o.secret, o.profile, { eventId: 'e2', maturity: T0, ...shape }, newNonceSecrets(shape))), 'event_exists');
  refused(chain, bob, 'oracle.evidence', { oracle: o.pub, a: sigA, b: sigA }, 'bad_evidence');
  refused(chain, bob, 'oracle.evidence', { oracle: o.pub, a: sigA, b: { ...sigB, outcome: '9' } }, 'bad_evidence');
  // The raw 32-byte message form is the same evidence.
  const ev = one(chain, bob, 'oracle.evidence', { oracle: o.pub, a: { message: toHex(outcomeMessage(o.profile, sigA.outcome)), sig: sigA.sig }, b: sigB });
  assert.equal(ev.receipt.status, 'ok');
  assert.deepEqual(ev.receipt.events, [{ type: 'oracle.frozen', oracle: o.pub, nonce: sigA.sig.slice(0, 64) }]);
  const saw = ev.events.find((e) => e.type === 'probe.saw')!;
  assert.deepEqual([saw.frozen, saw.status], [[o.pub], ['frozen']]);
  assert.equal(chain.get<{ status: string; frozen: { height: number } }>(oracleKey(o.pub))!.frozen.height, chain.height);
  const e2 = attestBodyFor(o.secret, o.profile, { eventId: 'e2', ...shape }, 1n, nonces);
  refused(chain, bob, 'oracle.attest', strip(e2), 'oracle_frozen');
  refused(chain, alice, 'oracle.announce', announceBodyFor(o.secret, o.profile, { eventId: 'e3', maturity: T0, ...shape }, newNonceSecrets(shape)), 'oracle_frozen');
  refused(chain, bob, 'oracle.evidence', { oracle: o.pub, a: sigA, b: sigB }, 'oracle_frozen');
  for (const [type, body] of [['oracle.evidence', { oracle: o.pub, a: sigA, b: sigB }], ['oracle.attest', strip(e2)]] as const) assert.equal(admission(chain, type, body), 'oracle_frozen');
  assert.equal(chain.get<{ status: string }>(eventKey(o.pub, 'e1'))!.status, 'attested');
  assert.deepEqual(chain.invariants(), []);
  // The invariants see a state that lost a nonce's record, or an oracle's freeze.
  assert.match(oracleInvariants(chain.raw().filter(([k]) => !k.startsWith('oracle/n/'))).join('\n'), /is not filed for it/);
  assert.match(oracleInvariants(chain.raw().filter(([k]) => !k.startsWith('oracle/frz/'))).join('\n'), /is frozen but its freeze is not on file/);
  // Every node replays the same: `tally chain verify` over this chain finds nothing.
  const report = await verifyChain(chain.source(), [ledgerChain, oracleChain, probe], pool);
  assert.deepEqual(report.issues, []);
});

test('malformed bodies are refused at admission (nothing is recorded)', () => {
  const { chain, alice } = world();
  const o = oracleKeyOf('bad', 'dlcspecs-v0');
  const reg = registerBodyFor(o.secret, 'oracles', alice.id, o.profile, 'bad');
  const ann = announceBodyFor(o.secret, o.profile, { eventId: 'x', maturity: T0, ...shape }, newNonceSecrets(shape));
  const cases: Array<[string, object, string]> = [
    ['oracle.register', { ...reg, profile: 'guess' }, 'bad_body'],
    ['oracle.register', { ...reg, pubkey: 'f'.repeat(64) }, 'oracle_invalid'],
    ['oracle.register', { ...reg, name: 'x'.repeat(65) }, 'bad_body'],
    ['oracle.announce', { ...ann, nonces: ann.nonces.slice(1) }, 'oracle_invalid'],
    ['oracle.announce', { ...ann, nonces: [ann.nonces[0], ...ann.nonces.slice(0, 3)] }, 'nonce_reused'],
    ['oracle.announce', { ...ann, base: 17 }, 'bad_body'],
    ['oracle.announce', { ...ann, base: 16, digits: 16 }, 'oracle_invalid'],
    ['oracle.announce', { ...ann, eventId: 'a/b' }, 'bad_body'],
    ['oracle.attest', { oracle: o.pub, eventId: 'x', outcomes: ['+'], sigs: [] }, 'bad_body'],
    ['oracle.attest', { oracle: o.pub, eventId: 'x', outcomes: ['+', '1'], sigs: [ann.sig] }, 'oracle_invalid'],
    ['oracle.evidence', { oracle: o.pub, a: { sig: ann.sig, outcome: '1' }, b: { sig: reg.proof, outcome: '2' } }, 'bad_evidence'],
    ['oracle.evidence', { oracle: o.pub, a: { sig: ann.sig }, b: { sig: ann.sig, outcome: '2' } }, 'oracle_invalid'],
  ];
  for (const [type, body, code] of cases) {
    const out = chain.block([chain.tx(alice, type, body as Record<string, unknown>, { nonce: 0 })]);
    assert.deepEqual(out.excluded.map((e) => e.code), [code], `${type} ${JSON.stringify(body).slice(0, 80)}`);
    assert.equal(out.block, undefined);
  }
});
