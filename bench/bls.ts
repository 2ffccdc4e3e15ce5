// BLS12-381 for validator votes, blst (the node's, @chainsafe/blst) against noble (pure
// JS, the browser's): the time of one verify, of aggregating n signatures, and of one
// fast-aggregate-verify of a message signed by n validators, for n = 4, 21 and 100. Each
// measurement runs one warm-up call, then stops at --ops calls or --ms milliseconds,
// whichever comes first. The validators' public keys are decoded once before timing, as
// a node keeps its validator set's keys decoded; signatures are decoded (with the
// subgroup check) inside every call, as a vote from the network is.
// Run: npm run bench:bls [-- --ops N] [--ms MS] [--only blst|noble] [--json]
import os from 'node:os';
import { nobleBls, type BlsScheme } from '../src/core/bls.js';
import { blstBls } from '../src/chain/consensus/bls-native.js';
import { helpFromHeader, intFlag } from './usage.js';

helpFromHeader(import.meta.url);

const opsMax = intFlag('--ops', 1000, 100_000);
const msMax = intFlag('--ms', 2000, 60_000);
const json = process.argv.includes('--json');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
if (only !== undefined && only !== 'blst' && only !== 'noble') throw new Error('--only must be blst or noble');
const SIZES = [4, 21, 100];

interface Row { impl: string; op: string; n: number; runs: number; us_per_op: number; ops_per_s: number }

/** Microseconds per call of fn: one warm-up, then at most opsMax calls and msMax milliseconds. */
function time(fn: () => unknown): { runs: number; usPerOp: number } {
  fn();
  let runs = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (runs < opsMax && elapsed < msMax) {
    fn();
    runs++;
    elapsed = performance.now() - t0;
  }
  return { runs, usPerOp: (elapsed * 1000) / runs };
}

// Keys and signatures are made once, with blst (both implementations make the same bytes).
const message = new TextEncoder().encode('tally/vote/v1\nprecommit height 1000 round 0 block 9f…');
const secretKeys = Array.from({ length: Math.max(...SIZES) }, (_, i) => blstBls.keygen(new Uint8Array(32).fill(i + 1)));
const publicKeys = secretKeys.map((sk) => blstBls.publicKey(sk));
const signatures = secretKeys.map((sk) => blstBls.sign(sk, message));

function bench(scheme: BlsScheme): Row[] {
  const rows: Row[] = [];
  const row = (op: string, n: number, fn: () => unknown) => {
    const { runs, usPerOp } = time(fn);
    rows.push({ impl: scheme.name, op, n, runs, us_per_op: Math.round(usPerOp * 10) / 10, ops_per_s: Math.round(1e6 / usPerOp) });
    if (!json) process.stdout.write(`${scheme.name.padEnd(6)} ${op.padEnd(22)} n=${String(n).padEnd(4)} ${(Math.round(usPerOp * 10) / 10).toFixed(1).padStart(10)} µs/op ${String(Math.round(1e6 / usPerOp)).padStart(7)} ops/s  (${runs} runs)\n`);
  };
  for (const pk of publicKeys) scheme.checkPublicKey(pk); // the validator set, decoded once
  if (!scheme.verify(publicKeys[0]!, message, signatures[0]!)) throw new Error(`${scheme.name}: a good signature did not verify`);
  row('verify', 1, () => scheme.verify(publicKeys[0]!, message, signatures[0]!));
  for (const n of SIZES) {
    const aggregate = scheme.aggregateSignatures(signatures.slice(0, n));
    if (!scheme.fastAggregateVerify(publicKeys.slice(0, n), message, aggregate)) throw new Error(`${scheme.name}: a good aggregate did not verify`);
    row('aggregate', n, () => scheme.aggregateSignatures(signatures.slice(0, n)));
    row('fast-aggregate-verify', n, () => scheme.fastAggregateVerify(publicKeys.slice(0, n), message, aggregate));
  }
  return rows;
}

const out = {
  ops_max: opsMax, ms_max: msMax, node: process.version, cpus: os.cpus().length, loadavg: os.loadavg().map((l) => +l.toFixed(2)),
  rows: [blstBls, nobleBls].filter((s) => only === undefined || s.name === only).flatMap(bench),
};
if (json) process.stdout.write(JSON.stringify(out) + '\n');
