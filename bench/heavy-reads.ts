// Heavy reads against one honest member (issue 10 items 6 and 7): a real node with a
// 4,000-transaction block and a member with a 20,000-transfer history; an honest client
// (in its own thread, so the attackers' response handling does not delay it) times a cheap
// call, GET /v1/auth/:id, while 16 proof or full-block requests stay in flight, or 4 audit
// loops run (freshly signed each time, and replaying one signed request). Bounded: each
// phase runs PHASE_MS or at most PROBES honest calls, loopback only.
// Run: npm run build && node dist/bench/heavy-reads.js   (prints one JSON line per phase)
import { Worker } from 'node:worker_threads';
import { signQuery } from '../src/chain/query-auth.js';
import { cleanup, httpPost, makeTx, newAccount, startNode, type Account } from '../test/helpers.js';
import { helpFromHeader } from './usage.js';

helpFromHeader(import.meta.url);

const PHASE_MS = Number(process.env.PHASE_MS ?? 6000);
const PROBES = 2000;
const HISTORY = 20_000;

const node = await startNode({ extraArgs: ['--rate-limit', 'off', '--block-delay-ms', '5000', '--sync', 'NORMAL'], timeoutMs: 60_000 });
const url = node.http;

async function post(path: string, body: unknown) {
  const r = await httpPost(`${url}${path}`, body, { timeoutMs: 120_000 });
  if (r.status !== 200) throw new Error(`POST ${path}: ${r.status} ${r.text.slice(0, 300)}`);
  return r.body;
}

// Setup: a member, an honest one, and 20 senders of 1,000 transfers each to the member
// (a 4,000-transaction block fills as soon as 4 batches wait; the block delay is long).
const member = newAccount();
const honest = newAccount();
const senders: Account[] = Array.from({ length: HISTORY / 1000 }, () => newAccount());
await post('/v1/txs', [member, honest, ...senders].map((a, i) => makeTx(a, 'ledger.register', { name: `u${i}` })));
const receipts: Array<{ id: string; height: number; status: string }> = [];
for (let i = 0; i < senders.length; i += 4) {
  const signed = senders.slice(i, i + 4).map((s) => Array.from({ length: 1000 }, () => makeTx(s, 'ledger.send', { to: member.id, amount: '0.000001' })));
  for (const r of await Promise.all(signed.map((txs) => post('/v1/txs', txs)))) receipts.push(...(r as typeof receipts));
}
if (receipts.some((r) => r.status !== 'ok')) throw new Error('a setup transfer failed');
const byHeight = new Map<number, string[]>();
for (const r of receipts) byHeight.set(r.height, [...(byHeight.get(r.height) ?? []), r.id]);
const [bigHeight, bigIds] = [...byHeight].sort((a, b) => b[1].length - a[1].length)[0]!;
const fullBlockHeights = [...byHeight.keys()];

/** The honest member's probe, in a worker thread: sequential GET /v1/auth/:id, latencies in ms. */
function probe(ms: number): Promise<number[]> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const out = [];
      const end = Date.now() + workerData.ms;
      while (Date.now() < end && out.length < workerData.max) {
        const t = performance.now();
        const r = await fetch(workerData.url);
        await r.text();
        if (r.status !== 200) throw new Error('honest call ' + r.status);
        out.push(performance.now() - t);
      }
      parentPort.postMessage(out);
    })();`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { url: `${url}/v1/auth/${honest.id}`, ms, max: PROBES } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

/** `loops` attackers, each one request in flight at a time, until `stop()`; bodies are read and dropped. */
function attack(loops: number, request: (i: number) => Promise<Response>) {
  let running = true;
  let done = 0;
  const codes = new Map<number, number>();
  const all = Array.from({ length: loops }, async (_, k) => {
    for (let i = k; running; i += loops) {
      const r = await request(i);
      await r.arrayBuffer();
      codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
      done++;
    }
  });
  return async () => {
    running = false;
    await Promise.all(all);
    return { requests: done, statuses: Object.fromEntries(codes) };
  };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
};

async function phase(name: string, start?: () => () => Promise<unknown>) {
  const stop = start?.();
  await new Promise((r) => setTimeout(r, 300)); // let the attack reach full flight
  const lat = await probe(PHASE_MS);
  const attacker = stop ? await stop() : null;
  console.log(JSON.stringify({ phase: name, honest_calls: lat.length, p50_ms: pct(lat, 50), p99_ms: pct(lat, 99), max_ms: pct(lat, 100), attacker }));
}

const get = (path: string) => fetch(`${url}${path}`, { signal: AbortSignal.timeout(120_000) });
let signedAt = 0; // distinct times from the phase's start, so no two fresh requests share a signature
const auditBody = () => JSON.stringify(signQuery('tally-dev', 'ledger.audit', {}, member.signer, member.id, signedAt++));
const postAudit = (body: string) => fetch(`${url}/v1/query/ledger.audit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(120_000) });

try {
  console.log(JSON.stringify({ setup: { block_height: bigHeight, block_txs: bigIds.length, member_history: receipts.length, phase_ms: PHASE_MS } }));
  // One member's audits one after another: the first reads the whole history, a later one
  // (after 10 more transfers) only what is new, where the history is kept.
  const timed = async () => {
    signedAt = Math.max(signedAt, Date.now());
    const t = performance.now();
    const r = await postAudit(auditBody());
    const own = ((await r.json()) as { own?: { ok: boolean } }).own;
    if (!own?.ok) throw new Error(`audit failed: ${r.status}`);
    return Math.round(performance.now() - t);
  };
  const first = await timed();
  await post('/v1/txs', Array.from({ length: 10 }, () => makeTx(honest, 'ledger.send', { to: member.id, amount: '0.000001' })));
  console.log(JSON.stringify({ phase: 'audit latency, 20k history', first_ms: first, after_10_more_ms: await timed(), again_ms: await timed() }));
  await phase('idle');
  await phase('16 proofs in flight (4,000-tx block)', () => attack(16, (i) => get(`/v1/txs/${bigIds[(i * 997) % bigIds.length]}/proof`)));
  await phase('16 full blocks in flight (4,000-tx blocks)', () => attack(16, (i) => get(`/v1/blocks/${fullBlockHeights[i % fullBlockHeights.length]}?full=1`)));
  await phase('4 audit loops, freshly signed (20k history)', () => {
    signedAt = Math.max(signedAt, Date.now());
    return attack(4, () => postAudit(auditBody()));
  });
  const replayed = auditBody();
  await phase('4 audit loops replaying one signed request', () => attack(4, () => postAudit(replayed)));
} finally {
  await cleanup();
}
