// Four validators on an in-memory bus with real BLS signatures (blst), real journals and
// real timers: they finalize blocks whose certificates any node verifies, keep going with
// one of them silent, refuse forged input, and turn an equivocation into evidence.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { blstBls } from './bls-native.js';
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
