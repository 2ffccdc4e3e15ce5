// Markets end to end through a node (`tally bench markets --node-phase`): a fresh dev node,
// its admin creates a future on a BIP340 oracle's event, N accounts register, then signed
// market orders (half GTC limit, half IOC, around one price) are submitted in HTTP batches
// from several lanes for D seconds: orders committed per second and the submit-to-commit
// latency of each batch (p50, p99); then ledger transfers the same way, for comparison in
// the same run on the same node.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connectClient, type Client } from '../src/api/client.js';
import { signTx, type Envelope, type Tx } from '../src/chain/envelope.js';
import type { SubmitResult } from '../src/chain/app-module.js';
import { accountIdFromPub, signerFromPrivateKey, type Signer } from '../src/core/keys.js';
import { loadSigner } from '../src/cli/keystore.js';
import { announceBodyFor, newNonceSecrets, registerBodyFor } from '../src/modules/oracle/sign.js';
import { randomScalar, xOnly } from '../src/modules/oracle/bip340.js';
import { toHex } from '../src/core/encoding.js';
import { cpuProfArgs, helpFromHeader } from './usage.js';

const binPath = fileURLToPath(new URL('../../bin/tally.js', import.meta.url));

interface Acct { signer: Signer; id: string; nonce: number }
export interface NodePhase { kind: string; committed: number; ok: number; seconds: number; per_s: number; p50_ms: number; p99_ms: number }

const pct = (s: number[], p: number) => (s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!);
const r1 = (x: number) => Math.round(x * 10) / 10;

function tx(chain: string, a: Acct, type: string, body: Record<string, unknown>): Envelope {
  const t: Tx = { chain, type, from: a.id, nonce: a.nonce++, expires: Math.floor(Date.now() / 1000) + 3600, body };
  return signTx(t, a.signer);
}

async function submit(client: Client, txs: Envelope[]): Promise<SubmitResult[]> {
  return (await client.call('tx.submit', { txs })) as SubmitResult[];
}

async function phase(kind: string, client: Client, lanes: Envelope[][][], seconds: number): Promise<NodePhase> {
  const lat: number[] = [];
  let committed = 0;
  let ok = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(lanes.map(async (batches) => {
    for (const b of batches) {
      if (performance.now() >= deadline) return;
      const s = performance.now();
      const res = await submit(client, b);
      const ms = performance.now() - s;
      for (const r of res) {
        if ('error' in r) continue;
        committed++;
        if (r.status === 'ok') ok++;
        lat.push(ms);
      }
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { kind, committed, ok, seconds: r1(secs), per_s: Math.round(committed / secs), p50_ms: r1(pct(lat, 50)), p99_ms: r1(pct(lat, 99)) };
}

/** `cpuProfDir`: the node runs with --cpu-prof and writes its profile there when it stops (node --cpu-prof is not allowed in NODE_OPTIONS). */
export async function runMarketsNodeBench(o: { accounts: number; durationSecs: number; lanes: number; batch: number; log: (s: string) => void; cpuProfDir?: string }): Promise<{ orders: NodePhase; transfers: NodePhase }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-mbench-'));
  const home = path.join(dir, 'home');
  fs.mkdirSync(home, { mode: 0o700 });
  const prof = cpuProfArgs(o.cpuProfDir);
  const child: ChildProcess = spawn(process.execPath, [...prof, binPath, 'node', '--dev', '--data', path.join(dir, 'data'), '--home', home, '--http', '127.0.0.1:0', '--internal', 'off', '--rate-limit', 'off', '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TALLY_PASSPHRASE: '' },
  });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`bench node exited with ${code}`)));
    });
    const http = connectClient((JSON.parse(line) as { http: string }).http);
    const chain = ((await http.call('node.info')) as { chain: string }).chain;
    const adminSigner = await loadSigner(home, 'admin', '');
    const admin: Acct = { signer: adminSigner, id: adminSigner.id, nonce: ((await http.call('auth.get', { id: adminSigner.id })) as { nonce: number }).nonce };
    const must = async (envs: Envelope[], what: string) => {
      for (const r of await submit(http, envs)) if ('error' in r || r.status !== 'ok') throw new Error(`${what}: ${JSON.stringify(r)}`);
    };
    o.log('oracle and market ...');
    const secret = randomScalar();
    const oracle = toHex(xOnly(secret));
    await must([tx(chain, admin, 'oracle.register', registerBodyFor(secret, chain, admin.id, 'dlcspecs-v0', 'bench') as never)], 'oracle.register');
    const shape = { base: 10, signed: false, digits: 6, unit: 'USD', precision: 0 };
    await must([tx(chain, admin, 'oracle.announce', announceBodyFor(secret, 'dlcspecs-v0', { eventId: 'bench-1', maturity: Math.floor(Date.now() / 1000) + 86_000, ...shape }, newNonceSecrets(shape)) as never)], 'oracle.announce');
    await must([tx(chain, admin, 'markets.create', { id: 'bench', kind: 'future', oracles: [oracle], event: 'bench-1', bandBps: 0 })], 'markets.create');
    const accounts: Acct[] = Array.from({ length: o.accounts }, () => {
      const signer = signerFromPrivateKey(crypto.generateKeyPairSync('ed25519').privateKey);
      return { signer, id: accountIdFromPub(signer.pub), nonce: 0 };
    });
    o.log(`registering ${accounts.length} accounts ...`);
    for (let i = 0; i < accounts.length; i += 500) await must(accounts.slice(i, i + 500).map((a, k) => tx(chain, a, 'ledger.register', { name: `m${process.pid % 10000}x${i + k}` })), 'register');
    const per = Math.min(o.durationSecs * 8000, 200_000);
    const lanesOf = (make: (a: Acct, n: number) => Envelope) => {
      const lanes: Envelope[][] = Array.from({ length: o.lanes }, () => []);
      for (let n = 0; n < per; n++) lanes[n % accounts.length % o.lanes]!.push(make(accounts[n % accounts.length]!, n));
      return lanes.map((l) => Array.from({ length: Math.ceil(l.length / o.batch) }, (_, i) => l.slice(i * o.batch, (i + 1) * o.batch)));
    };
    o.log(`pre-signing ${per} orders ...`);
    const orderLanes = lanesOf((a, n) => tx(chain, a, 'markets.order', { market: 'bench', side: n % 2 === 0 ? 'buy' : 'sell', price: 1000 + ((n * 7) % 11) - 5, size: 1, tif: n % 4 < 2 ? 'gtc' : 'ioc' }));
    o.log(`orders for ${o.durationSecs} s (${o.lanes} lanes, ${o.batch} per request) ...`);
    const orders = await phase('markets.order', http, orderLanes, o.durationSecs);
    for (const a of accounts) a.nonce = ((await http.call('auth.get', { id: a.id })) as { nonce: number }).nonce;
    o.log(`pre-signing ${per} transfers ...`);
    const sendLanes = lanesOf((a, n) => tx(chain, a, 'ledger.send', { to: accounts[(n + 1) % accounts.length]!.id, amount: '0.000001' }));
    o.log(`transfers for ${o.durationSecs} s ...`);
    const transfers = await phase('ledger.send', http, sendLanes, o.durationSecs);
    http.close();
    return { orders, transfers };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  helpFromHeader(import.meta.url);
  const arg = (name: string, def: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : def;
  };
  const r = await runMarketsNodeBench({ accounts: arg('accounts', 400), durationSecs: arg('duration', 10), lanes: arg('lanes', 8), batch: arg('batch', 200), ...(process.argv.includes('--cpu-prof') ? { cpuProfDir: process.argv[process.argv.indexOf('--cpu-prof') + 1]! } : {}), log: (s) => process.stderr.write(s + '\n') });
  process.stdout.write(JSON.stringify(r, null, 2) + '\n');
}
