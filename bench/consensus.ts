// Consensus alone: N validators (default 4) in one process on an in-memory bus, with
// real BLS (blst), real journals (an fsync per signature) and real timers, finalizing empty
// blocks back to back (no commit wait). Prints heights per second and the interval between
// commits at validator 0 (p50 / p99), beside one blst verify timed in the same run. All
// validators share one thread here, so this is the protocol's CPU and fsync cost per
// height, not a network's finality time (that needs validators as real processes).
// Run: npm run build && node dist/bench/consensus.js [--validators N] [--heights H] [--json]
import { blstBls } from '../src/chain/consensus/bls-native.js';
import { memoryValidators } from '../src/chain/consensus/memory-net.js';
import { helpFromHeader, intFlag } from './usage.js';

helpFromHeader(import.meta.url);

const count = intFlag('--validators', 4, 100);
const heights = intFlag('--heights', 200, 10_000);
const json = process.argv.includes('--json');
const DEADLINE_MS = 120_000;

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

function verifyUs(): number {
  const sk = blstBls.keygen(new Uint8Array(32).fill(1));
  const pk = blstBls.publicKey(sk);
  const msg = new TextEncoder().encode('bench');
  const sig = blstBls.sign(sk, msg);
  const runs = 300;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) blstBls.verify(pk, msg, sig);
  return ((performance.now() - t0) * 1000) / runs;
}

const timeouts = { proposeBase: 1000, proposePerRound: 500, prevoteBase: 500, prevotePerRound: 250, precommitBase: 500, precommitPerRound: 250 };
const net = memoryValidators({ count, timeouts, commitWaitMs: 0, chainId: 'bench' });
const t0 = performance.now();
net.drivers.forEach((d) => d.start(0));
const ends = performance.now() + DEADLINE_MS;
while (net.commits[0]!.length < heights && performance.now() < ends) await new Promise((r) => setTimeout(r, 20));
const elapsedMs = performance.now() - t0;
net.close();
const done = net.commits[0]!;
const intervals = done.slice(1).map((c, i) => c.atMs - done[i]!.atMs);
const result = {
  validators: count,
  heights: done.length,
  seconds: +(elapsedMs / 1000).toFixed(2),
  heights_per_s: +((done.length * 1000) / elapsedMs).toFixed(1),
  interval_p50_ms: +percentile(intervals, 0.5).toFixed(1),
  interval_p99_ms: +percentile(intervals, 0.99).toFixed(1),
  rounds_above_0: done.filter((c) => c.round > 0).length,
  blst_verify_us: +verifyUs().toFixed(0),
};
if (json) console.log(JSON.stringify(result));
else console.log(Object.entries(result).map(([k, v]) => `${k.padEnd(16)} ${v}`).join('\n'));
