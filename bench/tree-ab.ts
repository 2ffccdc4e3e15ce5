// The state tree's update and row encoding, two builds side by side in one process:
// `node dist/bench/tree-ab.js A/dist B/dist [BLOCKS TRANSFERS]` (each a checkout built with
// `npx tsc -p .`). Both trees get the same blocks, shaped like ledger.send (a new transfer
// record, the sender's nonce, two balances: 4 writes a transfer) over 2,000 accounts; each
// block runs three times per build, builds alternating, and the fastest run counts, so
// load from other work on a shared machine mostly cancels. Prints the time per transfer
// and the median per-block ratio to A; fails if the two builds' roots ever differ.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { helpFromHeader } from './usage.js';

helpFromHeader(import.meta.url);

interface Batch { rootHash: string }
interface Tree { update(version: number, writes: Map<string, string | null>): Batch; apply(batch: Batch): void }
interface Build { name: string; tree: Tree; rows: (batch: Batch, keep: number) => unknown; ms: number; ratios: number[]; roots: string[] }

const [distA, distB] = process.argv.slice(2, 4);
if (!distA || !distB) throw new Error('usage: node dist/bench/tree-ab.js A/dist B/dist [BLOCKS TRANSFERS]');
const blocks = Number(process.argv[4] ?? 20);
const transfers = Number(process.argv[5] ?? 2000);
const accounts = 2000;

const builds: Build[] = [];
for (const dist of [distA, distB]) {
  const url = (file: string) => pathToFileURL(path.resolve(dist, 'src/chain/state-tree', file)).href;
  const memory = (await import(url('memory.js'))) as { MemoryTree: new (keep: number, values: boolean) => Tree };
  const stored = (await import(url('stored.js'))) as { treeRows: Build['rows'] };
  builds.push({ name: dist, tree: new memory.MemoryTree(0, false), rows: stored.treeRows, ms: 0, ratios: [], roots: [] });
}

const id = (n: number) => ((BigInt(n) * 0x9e3779b97f4a7c15n) % (1n << 160n)).toString(16).padStart(40, '0');
const genesis = new Map<string, string | null>();
for (let i = 0; i < accounts; i++) {
  genesis.set(`auth/${id(i)}`, `{"nonce":0,"pub":"${'p'.repeat(43)}"}`);
  genesis.set(`ledger/acct/${id(i)}`, `{"balance":"1000000000","created":1,"name":"a${i}"}`);
  genesis.set(`ledger/name/a${i}`, `"${id(i)}"`);
}
for (const b of builds) b.tree.apply(b.tree.update(0, genesis));

for (let h = 1; h <= blocks; h++) {
  const writes = new Map<string, string | null>();
  for (let i = 0; i < transfers; i++) {
    const from = id(i % accounts);
    const to = id((i * 7 + h) % accounts);
    writes.set(`ledger/xfer/${String(h).padStart(12, '0')}.${String(i).padStart(4, '0')}`, `{"amount":"1","from":"${from}","id":"${id(h * 100_000 + i)}${'0'.repeat(24)}","time":${1_700_000_000_000 + h},"to":"${to}"}`);
    writes.set(`auth/${from}`, `{"nonce":${h},"pub":"${'p'.repeat(43)}"}`);
    writes.set(`ledger/acct/${from}`, `{"balance":"${999_000_000 - h}","created":1,"name":"a${i}"}`);
    writes.set(`ledger/acct/${to}`, `{"balance":"${1_000_000_000 + h}","created":1,"name":"b${i}"}`);
  }
  const best = builds.map(() => Infinity);
  const batches: Batch[] = [];
  for (let rep = 0; rep < 3; rep++) {
    for (let k = 0; k < builds.length; k++) {
      const j = (k + rep + h) % builds.length;
      const b = builds[j]!;
      const t0 = performance.now();
      const batch = b.tree.update(h, writes);
      b.rows(batch, 256);
      best[j] = Math.min(best[j]!, performance.now() - t0);
      batches[j] = batch;
    }
  }
  builds.forEach((b, j) => {
    b.ms += best[j]!;
    b.ratios.push(best[j]! / best[0]!);
    b.tree.apply(batches[j]!);
    b.roots.push(batches[j]!.rootHash);
  });
}
if (builds[0]!.roots.join() !== builds[1]!.roots.join()) throw new Error('the two builds computed different roots');
for (const b of builds) {
  const r = [...b.ratios].sort((x, y) => x - y);
  console.log(JSON.stringify({ build: b.name, us_per_transfer: +((b.ms * 1000) / (blocks * transfers)).toFixed(1), median_ratio_to_first: +r[r.length >> 1]!.toFixed(3) }));
}
