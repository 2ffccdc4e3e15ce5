// Strangers on a closed chain: fresh keys flood `ledger.register`, which can never succeed
// there, while an honest member sends transfers one at a time. Reports what the flood
// leaves behind (state rows, blocks) and the member's p50/p99 with and without it.
// Starts its own node (closed chain, loopback only). Bounded: at most --strangers keys
// (default 20,000) and --duration seconds (default 5) per phase.
// Run: npm run bench:strangers -- [--strangers 20000 --duration 5 --json]
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { signTx, type Envelope } from '../src/chain/envelope.js';
import { accountIdFromPub, signerFromPrivateKey, type Signer } from '../src/core/keys.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { helpFromHeader } from './usage.js';

helpFromHeader(import.meta.url);

const binPath = fileURLToPath(new URL('../../bin/tally.js', import.meta.url));
const CHAIN = 'strangers-bench';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}
const strangerCount = Math.min(arg('strangers', 20_000), 100_000);
const durationSecs = Math.min(arg('duration', 5), 60);
const json = process.argv.includes('--json');
const log = (line: string) => { if (!json) process.stderr.write(line + '\n'); };

interface Keyed { signer: Signer; id: string; nonce: number }
const keyed = (): Keyed => {
  const signer = signerFromPrivateKey(crypto.generateKeyPairSync('ed25519').privateKey);
  return { signer, id: accountIdFromPub(signer.pub), nonce: 0 };
};
const sign = (a: Keyed, type: string, body: Record<string, unknown>): Envelope =>
  signTx({ chain: CHAIN, type, from: a.id, nonce: a.nonce++, expires: Math.floor(Date.now() / 1000) + 3600, body }, a.signer);

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
function post(base: URL, urlPath: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, path: urlPath, method: 'POST', agent, timeout: 60_000,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
      let out = '';
      res.setEncoding('utf8').on('data', (c: string) => { out += c; }).on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(out) }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

function height(base: URL): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(new URL('/v1/node', base), (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => { text += c; }).on('end', () => resolve((JSON.parse(text) as { height: number }).height));
    }).on('error', reject);
  });
}

function stateRows(dataDir: string): number {
  const snap = SqliteStore.open({ dbPath: path.join(dataDir, 'tally.db'), keyPath: path.join(dataDir, 'db.key'), readonly: true });
  try {
    return (snap.db.prepare('SELECT count(*) AS n FROM state').get() as { n: number }).n;
  } finally {
    snap.close();
  }
}

const pct = (sorted: number[], p: number): number => +(sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0).toFixed(2);

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-strangers-'));
  const dataDir = path.join(root, 'data');
  const owner = keyed();
  const friend = keyed();
  fs.writeFileSync(path.join(root, 'genesis.json'), JSON.stringify({
    chain: CHAIN, time: Date.now(), decimals: 6,
    modules: { ledger: { registration: { policy: 'closed', grant: '0' }, accounts: [
      { name: 'owner', pub: owner.signer.pub, balance: '1000000' }, { name: 'friend', pub: friend.signer.pub, balance: '0' },
    ] } },
  }));
  const env = { ...process.env, TALLY_HOME: path.join(root, 'home') };
  const init = spawnSync(process.execPath, [binPath, 'init', '--data', dataDir, '--genesis', path.join(root, 'genesis.json'), '--json'], { env });
  if (init.status !== 0) throw new Error(`init failed: ${init.stdout}${init.stderr}`);
  const child = spawn(process.execPath, [binPath, 'node', '--data', dataDir, '--http', '127.0.0.1:0', '--internal', 'off', '--rate-limit', 'off', '--json'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`bench node exited with ${code}`)));
    });
    const base = new URL((JSON.parse(line) as { http: string }).http);
    log(`making ${strangerCount} stranger registrations...`);
    const batches: Envelope[][] = [];
    for (let i = 0; i < strangerCount; i += 1000) {
      batches.push(Array.from({ length: Math.min(1000, strangerCount - i) }, (_, k) => sign(keyed(), 'ledger.register', { name: `s${i + k}` })));
    }

    /** The honest member: one transfer at a time until the deadline; latencies in ms. */
    const honest = async (until: () => boolean): Promise<number[]> => {
      const lat: number[] = [];
      while (!until()) {
        const t = performance.now();
        const r = await post(base, '/v1/txs', sign(owner, 'ledger.send', { to: friend.id, amount: '0.000001' }));
        if ((r.body as { status?: string }).status !== 'ok') throw new Error(`honest transfer not ok: ${JSON.stringify(r.body)}`);
        lat.push(performance.now() - t);
      }
      return lat.sort((a, b) => a - b);
    };

    const quiet = performance.now() + durationSecs * 1000;
    const calm = await honest(() => performance.now() > quiet);

    const rowsBefore = stateRows(dataDir);
    const heightBefore = await height(base);
    const outcome = new Map<string, number>();
    let next = 0;
    let attackDone = false;
    const deadline = performance.now() + durationSecs * 1000;
    const t0 = performance.now();
    const attack = Promise.all(Array.from({ length: 4 }, async () => {
      while (next < batches.length && performance.now() < deadline) {
        const r = await post(base, '/v1/txs', batches[next++]);
        for (const x of r.body as Array<{ status: unknown; code?: string; error?: { code: string } }>) {
          const k = x.error ? `refused:${x.error.code}` : `${String(x.status)}:${x.code ?? ''}`;
          outcome.set(k, (outcome.get(k) ?? 0) + 1);
        }
      }
    })).finally(() => { attackDone = true; });
    const loaded = await honest(() => attackDone || performance.now() > deadline);
    await attack;
    const attackSecs = (performance.now() - t0) / 1000;
    const heightAfter = await height(base);
    const sent = [...outcome.values()].reduce((a, b) => a + b, 0);
    const out = {
      strangers_sent: sent, attack_s: +attackSecs.toFixed(2), strangers_per_s: Math.round(sent / attackSecs), outcomes: Object.fromEntries(outcome),
      state_rows_added: stateRows(dataDir) - rowsBefore, blocks_added: heightAfter - heightBefore,
      honest_calm: { n: calm.length, p50_ms: pct(calm, 50), p99_ms: pct(calm, 99) },
      honest_under_attack: { n: loaded.length, p50_ms: pct(loaded, 50), p99_ms: pct(loaded, 99) },
      cores: os.cpus().length, node_version: process.version,
    };
    if (json) process.stdout.write(JSON.stringify(out) + '\n');
    else log(JSON.stringify(out, null, 2));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
