// Self time of a V8 CPU profile (`node --cpu-prof`, or a bench's --cpu-prof DIR) by where
// the code lives: an npm package, one of Tally's files under dist/, or a V8 entry such as
// "(garbage collector)" or "(idle)". Given the number of transactions each run committed,
// it prints µs per transaction, and with two profiles the difference: where an old and a
// new build spend their time, side by side (the README's profile figures). --functions
// splits each place by function (`name file:line`), as the profile's own frames name them.
//
//   node dist/bench/profile-summary.js A.cpuprofile [TXS_A [B.cpuprofile TXS_B]] [--top 30] [--functions]
import fs from 'node:fs';
import { helpFromHeader, intFlag } from './usage.js';

helpFromHeader(import.meta.url);

interface Frame { functionName: string; url: string; lineNumber: number }
interface Profile { nodes: Array<{ id: number; callFrame: Frame }>; samples: number[]; timeDeltas: number[] }

const byFunction = process.argv.includes('--functions');

/** Microseconds of self time per place. */
function selfTime(file: string): Map<string, number> {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const place = new Map(p.nodes.map((n) => [n.id, placeOf(n.callFrame)]));
  const out = new Map<string, number>();
  p.samples.forEach((id, i) => out.set(place.get(id)!, (out.get(place.get(id)!) ?? 0) + p.timeDeltas[i]!));
  return out;
}

function placeOf(frame: Frame): string {
  if (!frame.url) return frame.functionName || '(native)';
  const where = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(frame.url)?.[1] ?? /\/dist\/(.*)$/.exec(frame.url)?.[1] ?? frame.url;
  // lineNumber is 0-based in V8's profiles
  return byFunction ? `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}` : where;
}

const args = process.argv.slice(2).filter((a, i, all) => a !== '--top' && all[i - 1] !== '--top' && a !== '--functions');
const top = intFlag('--top', 30, 1000);
const [fileA, txsA, fileB, txsB] = [args[0], Number(args[1] ?? 1), args[2], Number(args[3] ?? 1)];
if (!fileA || (fileB && !(txsB > 0)) || !(txsA > 0)) throw new Error('usage: profile-summary A.cpuprofile [TXS_A [B.cpuprofile TXS_B]]');
const a = selfTime(fileA);
const b = fileB ? selfTime(fileB) : undefined;
const unit = args[1] ? 'µs/tx' : 'ms';
const scale = (us: number, txs: number) => (args[1] ? us / txs : us / 1000);
const busy = (m: Map<string, number>) => [...m].filter(([k]) => k !== '(idle)').reduce((s, [, v]) => s + v, 0);
const rows = [...new Set([...a.keys(), ...(b?.keys() ?? [])])].map((k) => {
  const va = scale(a.get(k) ?? 0, txsA);
  const vb = b ? scale(b.get(k) ?? 0, txsB) : 0;
  return { k, va, vb, d: b ? vb - va : va };
}).sort((x, y) => y.d - x.d).slice(0, top);
console.log(`busy (not idle): ${scale(busy(a), txsA).toFixed(1)}${b ? ` -> ${scale(busy(b), txsB).toFixed(1)}` : ''} ${unit}`);
for (const r of rows) console.log(b ? `${r.va.toFixed(1).padStart(9)} ${r.vb.toFixed(1).padStart(9)} ${(r.d >= 0 ? '+' : '') + r.d.toFixed(1)}  ${r.k}` : `${r.va.toFixed(1).padStart(9)} ${unit}  ${(100 * (a.get(r.k) ?? 0) / busy(a)).toFixed(1)}% of busy  ${r.k}`);
