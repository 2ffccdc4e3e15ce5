// Validators in one process on an in-memory bus, for tests and the consensus benchmark:
// real BLS (blst), real journals in temporary directories, real timers. Messages go
// through structuredClone, as bytes would, and a validator can be made silent (cut off
// both ways).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toB64u } from '../../core/encoding.js';
import { blstBls } from './bls-native.js';
import type { BlsValidator, CommitCertificate } from './certificate.js';
import { ValidatorDriver } from './driver.js';
import { SignJournal } from './journal.js';
import { ConsensusSigner } from './signer.js';
import type { TimeoutsMs } from './types.js';
import type { Evidence, Signed } from './wire.js';

export interface Commit { height: number; round: number; id: string; certificate: CommitCertificate; atMs: number }

export interface MemoryNet {
  chainId: string;
  secrets: Uint8Array[];
  validators: BlsValidator[];
  drivers: ValidatorDriver[];
  /** per validator, what it committed, in order */
  commits: Commit[][];
  evidence: Evidence[];
  silent: Set<number>;
  /** delivers a message as if `from` sent it (-1: from outside the set) */
  inject(from: number, message: unknown): void;
  /** stops the validators and removes their journals' directories */
  close(): void;
}

export function memoryValidators(options: { count: number; timeouts: TimeoutsMs; commitWaitMs: number; chainId?: string }): MemoryNet {
  const chainId = options.chainId ?? 'memory-net';
  const secrets = Array.from({ length: options.count }, (_, i) => blstBls.keygen(new Uint8Array(32).fill(i + 1)));
  const validators = secrets.map((sk) => ({ blsKey: toB64u(blstBls.publicKey(sk)), power: 1 }));
  const dirs: string[] = [];
  const net: MemoryNet = {
    chainId, secrets, validators, drivers: [], commits: secrets.map(() => []), evidence: [], silent: new Set(),
    inject: (from, message) => {
      for (let to = 0; to < net.drivers.length; to++) {
        if (to === from || net.silent.has(from) || net.silent.has(to)) continue;
        setImmediate(() => net.drivers[to]!.receive(structuredClone(message)));
      }
    },
    close: () => {
      net.drivers.forEach((d) => d.close());
      dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
    },
  };
  net.drivers = secrets.map((sk, self) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-validator-'));
    dirs.push(dir);
    return new ValidatorDriver({
      scheme: blstBls, chainId, validators, self,
      signer: new ConsensusSigner(blstBls, sk, chainId, SignJournal.open(dir)),
      app: {
        propose: (h) => Buffer.alloc(32, (h * 16 + self) % 256).toString('hex'),
        valid: () => true,
        commit: (height, round, id, certificate) => net.commits[self]!.push({ height, round, id, certificate, atMs: performance.now() }),
        evidence: (e) => net.evidence.push(e),
      },
      net: { broadcast: (m: Signed) => net.inject(self, m) },
      timers: { after: (ms, fn) => setTimeout(fn, ms).unref() },
      timeouts: options.timeouts,
      commitWaitMs: options.commitWaitMs,
    });
  });
  return net;
}
