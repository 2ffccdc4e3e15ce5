// Four validators on an in-memory bus with real BLS signatures (blst), real journals and
// real timers: they finalize blocks whose certificates any node verifies, keep going with
// one of them silent, refuse forged input, and turn an equivocation into evidence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toB64u } from '../../core/encoding.js';
import { blstBls } from './bls-native.js';
import { verifyCertificate, type BlsValidator, type CommitCertificate } from './certificate.js';
import { ValidatorDriver } from './driver.js';
import { SignJournal } from './journal.js';
import { ConsensusSigner } from './signer.js';
import { certificateMessage, signMessage, type Evidence, type Signed } from './wire.js';

const CHAIN = 'driver-test';
const TIMEOUTS = { proposeBase: 150, proposePerRound: 50, prevoteBase: 80, prevotePerRound: 40, precommitBase: 80, precommitPerRound: 40 };
const secrets = [1, 2, 3, 4].map((i) => blstBls.keygen(new Uint8Array(32).fill(i)));
const validators: BlsValidator[] = secrets.map((sk) => ({ blsKey: toB64u(blstBls.publicKey(sk)), power: 1 }));
const blockId = (height: number, by: number) => Buffer.alloc(32, height * 16 + by).toString('hex');

interface Net {
  drivers: ValidatorDriver[];
  commits: Array<Array<{ height: number; round: number; id: string; certificate: CommitCertificate }>>;
  evidence: Evidence[];
  silent: Set<number>;
  inject(from: number, message: unknown): void;
}

function network(): Net {
  const net: Net = { drivers: [], commits: secrets.map(() => []), evidence: [], silent: new Set(), inject: () => {} };
  const deliver = (from: number, message: unknown) => {
    for (let to = 0; to < net.drivers.length; to++) {
      if (to === from || net.silent.has(from) || net.silent.has(to)) continue;
      setImmediate(() => net.drivers[to]!.receive(structuredClone(message)));
    }
  };
  net.inject = deliver;
  net.drivers = secrets.map((sk, self) => new ValidatorDriver({
    scheme: blstBls, chainId: CHAIN, validators, self,
    signer: new ConsensusSigner(blstBls, sk, CHAIN, SignJournal.open(fs.mkdtempSync(path.join(os.tmpdir(), 'tally-driver-')))),
    app: {
      propose: (h) => blockId(h, self),
      valid: () => true,
      commit: (height, round, id, certificate) => net.commits[self]!.push({ height, round, id, certificate }),
      evidence: (e) => net.evidence.push(e),
    },
    net: { broadcast: (m: Signed) => deliver(self, m) },
    timers: { after: (ms, fn) => setTimeout(fn, ms).unref() },
    timeouts: TIMEOUTS,
    commitWaitMs: 10,
  }));
  return net;
}

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
    for (const c of at) assert.equal(verifyCertificate(blstBls, validators, certificateMessage(CHAIN, h, c.round, c.id), c.certificate).ok, true);
  }
});

test('with one validator silent the other three keep finalizing; forged input is refused and counted', async () => {
  const net = network();
  net.silent.add(2);
  net.drivers.forEach((d) => d.start(0));
  await until('4 heights on the three', () => [0, 1, 3].every((i) => net.commits[i]!.length >= 4));
  const signers = net.commits[0]![3]!.certificate.signers;
  assert.equal(signers, '0b', 'validators 0, 1 and 3 signed');
  const forged = { ...signMessage(blstBls, secrets[2]!, CHAIN, { type: 'prevote', height: 9, round: 0, value: null, validator: 2 }), message: { type: 'prevote', height: 9, round: 0, value: null, validator: 1 } };
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
  for (const value of [blockId(0, 9), null]) net.inject(-1, signMessage(blstBls, secrets[3]!, CHAIN, { type: 'prevote', height: 0, round: 0, value, validator: 3 }));
  await until('evidence from the three', () => net.evidence.length >= 3);
  assert.ok(net.evidence.every((e) => e.first.message.validator === 3 && e.second.message.validator === 3));
});
