// `npm run bench:state`: the state tree's figures (issue 11). Not a timed test: numbers
// depend on the machine. In memory (the tree's CPU; the database's share is measured by
// `npm run bench:storage -- 100 2000 tree`):
// - update cost per written key at 1M keys (blocks of 4,000 writes: 3/4 updates, 1/4 inserts)
// - proof size (siblings, JSON bytes, raw bytes) at 1k and 1M keys, and 10M estimated by
//   simulating the depth of keys among 10M random 64-bit path prefixes
// - verifyStateProof (the browser-safe verifier, noble BLAKE3) time per proof
// Run: npm run bench:state [-- KEYS]   (KEYS default 1000000)
import { verifyStateProof, type StateProof } from '../src/core/smt.js';
import { MemoryTree } from '../src/chain/state-tree/memory.js';
import { helpFromHeader } from './usage.js';

helpFromHeader(import.meta.url);

const bigKeys = Number(process.argv[2] ?? 1_000_000);
const value = (i: number, v = 0) => `{"balance":"${1000 + v}","created":${i},"name":"user${i}"}`;
const keyOf = (i: number) => `ledger/acct/${i.toString(16).padStart(40, '0')}`;

function build(n: number): MemoryTree {
  const tree = new MemoryTree(0, true);
  const writes: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) writes.push([keyOf(i), value(i)]);
  tree.apply(tree.update(0, writes));
  return tree;
}

function proofStats(tree: MemoryTree, n: number, version: number, samples = 1000) {
  let siblings = 0;
  let json = 0;
  let raw = 0;
  let maxSiblings = 0;
  const proofs: StateProof[] = [];
  for (let s = 0; s < samples; s++) {
    const member = s % 2 === 0;
    const key = member ? keyOf((s * 7919) % n) : `ledger/acct/absent-${s}`;
    const p = tree.prove(key, version);
    proofs.push(p);
    siblings += p.siblings.length;
    maxSiblings = Math.max(maxSiblings, p.siblings.length);
    json += JSON.stringify(p).length;
    // raw: 32 bytes a sibling, the value text, and the other leaf's path and value hash
    raw += 32 * p.siblings.length + (p.value?.length ?? 0) + (p.leaf ? 64 : 0);
  }
  return { proofs, avg_siblings: +(siblings / samples).toFixed(1), max_siblings: maxSiblings, avg_json_bytes: Math.round(json / samples), avg_raw_bytes: Math.round(raw / samples) };
}

/** Depth (siblings) of keys among n random paths, from 64-bit prefixes: 1 + the longest prefix shared with a neighbour. */
function simulatedSiblings(n: number, samples = 20_000): number {
  const paths = new BigUint64Array(n);
  let s = 0x9e3779b97f4a7c15n;
  for (let i = 0; i < n; i++) {
    s ^= s << 13n; s &= 0xffffffffffffffffn; s ^= s >> 7n; s ^= s << 17n; s &= 0xffffffffffffffffn;
    paths[i] = s;
  }
  paths.sort();
  const lcp = (a: bigint, b: bigint) => { const x = a ^ b; return x === 0n ? 64 : 64 - x.toString(2).length; };
  let total = 0;
  for (let k = 0; k < samples; k++) {
    const i = 1 + Math.floor((k / samples) * (n - 2));
    total += 1 + Math.max(lcp(paths[i]!, paths[i - 1]!), lcp(paths[i]!, paths[i + 1]!));
  }
  return +(total / samples).toFixed(1);
}

const out: Record<string, unknown> = {};
const small = build(1000);
const { proofs: _p1, ...smallStats } = proofStats(small, 1000, 0);
out['proof_1k'] = smallStats;

let t0 = performance.now();
const big = build(bigKeys);
out['build_ms'] = Math.round(performance.now() - t0);
out['keys'] = bigKeys;

// Update cost per written key: 10 blocks of 4,000 writes.
const blocks = 10;
const perBlock = 4000;
let next = bigKeys;
let written = 0;
t0 = performance.now();
const cpu0 = process.cpuUsage();
for (let b = 1; b <= blocks; b++) {
  const writes = new Map<string, string>();
  for (let i = 0; i < perBlock; i++) {
    if (i % 4 === 0) writes.set(keyOf(next), value(next++));
    else { const k = (b * 104729 + i * 7919) % bigKeys; writes.set(keyOf(k), value(k, b)); }
  }
  big.apply(big.update(b, writes));
  written += writes.size;
}
const cpu = process.cpuUsage(cpu0);
out['update_us_per_key'] = +(((performance.now() - t0) * 1000) / written).toFixed(1);
out['update_cpu_us_per_key'] = +((cpu.user + cpu.system) / written).toFixed(1);

const bigStats = proofStats(big, bigKeys, blocks);
const { proofs, ...bigRest } = bigStats;
out[`proof_${bigKeys >= 1e6 ? bigKeys / 1e6 + 'M' : bigKeys}`] = bigRest;

// Verification time, the browser code path (noble BLAKE3), proofs of the big tree.
const root = big.rootAt(blocks)!;
const rootHex = Buffer.from(root ? root.hash : new Uint8Array(32)).toString('hex');
for (const p of proofs.slice(0, 50)) verifyStateProof(rootHex, p); // warm up
t0 = performance.now();
let okCount = 0;
for (const p of proofs) if (verifyStateProof(rootHex, p).ok) okCount++;
out['verify_us_per_proof'] = +(((performance.now() - t0) * 1000) / proofs.length).toFixed(1);
if (okCount !== proofs.length) throw new Error(`only ${okCount} of ${proofs.length} proofs verified`);

t0 = performance.now();
out['proof_10M_simulated_avg_siblings'] = simulatedSiblings(10_000_000);
out['simulation_ms'] = Math.round(performance.now() - t0);
console.log(JSON.stringify(out, null, 2));
