// One client must not slow everyone: an honest member submits transfers over HTTP while an
// attacker (from 127.0.0.2, so per-address caps can tell them apart) opens non-reading
// WebSocket subscribers, idle HTTP connections, or leaves Unix-socket replies unread.
// Prints the honest member's p50/p99 and throughput, whether fresh HTTP and socket clients
// still get through, and the node's peak RSS. Loopback only; every attack is bounded in
// count and time.
//
//   node dist/bench/attack.js [--bin path/to/bin/tally.js] [--attack none,ws,idle,socket]
//                             [--ws 300] [--idle 4100] [--socket 10x30] [--secs 10]
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { signTx, type Envelope, type Tx } from '../src/chain/envelope.js';
import { accountIdFromPub, signerFromPrivateKey, type Signer } from '../src/core/keys.js';
import { helpFromHeader } from './usage.js';

helpFromHeader(import.meta.url);

const ATTACKER_ADDRESS = '127.0.0.2';
const HONEST_LANES = 4;
const HONEST_BATCH = 20;
const ATTACK_SETUP_MS_MAX = 20_000;

interface Options {
  bin: string;
  attacks: string[];
  wsCount: number;
  idleCount: number;
  socketConns: number;
  socketRepliesPerConn: number;
  secs: number;
}

function parseArgs(argv: string[]): Options {
  const get = (name: string, dflt: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
  };
  const [conns, replies] = get('--socket', '10x30').split('x').map(Number);
  const o: Options = {
    bin: path.resolve(get('--bin', fileURLToPath(new URL('../../bin/tally.js', import.meta.url)))),
    attacks: get('--attack', 'none,ws,idle,socket').split(','),
    wsCount: Math.min(Number(get('--ws', '300')), 2000),
    idleCount: Math.min(Number(get('--idle', '4100')), 8000),
    socketConns: Math.min(conns ?? 10, 100),
    socketRepliesPerConn: Math.min(replies ?? 30, 100),
    secs: Math.min(Number(get('--secs', '10')), 30),
  };
  return o;
}

interface Node {
  http: string;
  socket: string;
  child: ChildProcess;
  dataDir: string;
}

async function startNode(bin: string): Promise<Node> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-attack-'));
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-attack-home-'));
  const child = spawn(process.execPath, [bin, 'node', '--dev', '--data', path.join(dataDir, 'd'), '--http', '127.0.0.1:0', '--internal', 'off',
    '--sync', 'NORMAL', '--rate-limit', 'off', '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TALLY_HOME: home, TALLY_PASSPHRASE: '', TALLY_SCRYPT_N: '1024' } });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { stderr = (stderr + c).slice(-2000); });
  child.once('exit', (code, signal) => { if (code !== null || signal !== 'SIGKILL') console.error(`  node exited (${code ?? signal}): ${stderr.slice(-600)}`); });
  const rl = readline.createInterface({ input: child.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`node exited with ${code}`)));
  });
  const info = JSON.parse(line) as { http: string; socket: string };
  return { http: info.http, socket: info.socket, child, dataDir };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}


interface Account { signer: Signer; id: string; nonce: number }

function account(): Account {
  const signer = signerFromPrivateKey(crypto.generateKeyPairSync('ed25519').privateKey);
  return { signer, id: accountIdFromPub(signer.pub), nonce: 0 };
}

function tx(chain: string, a: Account, type: string, body: Record<string, unknown>): Envelope {
  const t: Tx = { chain, type, from: a.id, nonce: a.nonce++, expires: Math.floor(Date.now() / 1000) + 3600, body };
  return signTx(t, a.signer);
}

async function post(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
  return res.json();
}

/** Register accounts and make one large block (the one the socket attacker asks for in full). */
async function setup(node: Node): Promise<{ chain: string; accounts: Account[]; bigHeight: number }> {
  const info = await (await fetch(`${node.http}/v1/node`)).json() as { chain: string };
  const accounts = Array.from({ length: 400 }, account);
  await post(`${node.http}/v1/txs`, accounts.map((a, i) => tx(info.chain, a, 'ledger.register', { name: `atk${process.pid % 10000}x${i}` })));
  const bursts = [0, 1, 2, 3].map((k) => accounts.slice(k * 100, k * 100 + 100).flatMap((a, i) =>
    Array.from({ length: 10 }, () => tx(info.chain, a, 'ledger.send', { to: accounts[(i + 1) % accounts.length]!.id, amount: '0.000001', memo: 'x'.repeat(64) }))));
  await Promise.all(bursts.map((b) => post(`${node.http}/v1/txs`, b)));
  const tip = (await (await fetch(`${node.http}/v1/node`)).json() as { height: number }).height;
  let bigHeight = 1;
  let most = 0;
  for (let h = 1; h <= tip; h++) {
    const b = await (await fetch(`${node.http}/v1/blocks/${h}`)).json() as { txs: string[] };
    if (b.txs.length > most) [most, bigHeight] = [b.txs.length, h];
  }
  return { chain: info.chain, accounts, bigHeight };
}

// ---------------------------------------------------------------------------------------
// Attacks: each returns what it managed to open and a function that ends it.

interface Attack { opened: number; refused: number; end: () => void }

async function wsAttack(node: Node, count: number): Promise<Attack> {
  const { hostname, port } = new URL(node.http);
  const sockets: net.Socket[] = [];
  let opened = 0;
  let refused = 0;
  await Promise.all(Array.from({ length: count }, () => new Promise<void>((resolve) => {
    const s = net.connect({ host: hostname, port: Number(port), localAddress: ATTACKER_ADDRESS });
    sockets.push(s);
    s.on('error', () => resolve());
    s.once('connect', () => s.write(`GET /v1/ws HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
    s.once('data', (d: Buffer) => {
      if (d.toString('latin1').startsWith('HTTP/1.1 101')) opened++;
      else refused++;
      s.pause(); // never read a block
      resolve();
    });
    s.once('close', () => resolve());
    setTimeout(resolve, ATTACK_SETUP_MS_MAX).unref();
  })));
  return { opened, refused, end: () => sockets.forEach((s) => s.destroy()) };
}

async function idleAttack(node: Node, count: number): Promise<Attack> {
  const { hostname, port } = new URL(node.http);
  const sockets: net.Socket[] = [];
  let opened = 0;
  await Promise.all(Array.from({ length: count }, () => new Promise<void>((resolve) => {
    const s = net.connect({ host: hostname, port: Number(port), localAddress: ATTACKER_ADDRESS });
    sockets.push(s);
    s.on('error', () => resolve());
    s.once('connect', () => {
      opened++;
      resolve();
    });
    setTimeout(resolve, ATTACK_SETUP_MS_MAX).unref();
  })));
  // Connections the node refused or closed by the end of the run do not count as held.
  const held = () => sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
  return { opened, refused: count - opened, end: () => { console.error(`  idle connections still open at the end: ${held()}`); sockets.forEach((s) => s.destroy()); } };
}

async function socketAttack(node: Node, conns: number, perConn: number, height: number): Promise<Attack> {
  const sockets: net.Socket[] = [];
  await Promise.all(Array.from({ length: conns }, () => new Promise<void>((resolve) => {
    const s = net.createConnection(node.socket);
    sockets.push(s);
    s.on('error', () => resolve());
    s.once('connect', () => {
      s.pause(); // never read a reply
      const line = JSON.stringify({ id: 1, method: 'block.get', params: { height, full: true } }) + '\n';
      s.write(line.repeat(perConn), () => resolve());
      setTimeout(resolve, 2000).unref(); // the node may stop reading: that is the point
    });
  })));
  return { opened: conns * perConn, refused: 0, end: () => sockets.forEach((s) => s.destroy()) };
}

// ---------------------------------------------------------------------------------------
// The honest member and fresh-client probes

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;
}

async function honest(node: Node, chain: string, accounts: Account[], secs: number): Promise<{ tx_per_s: number; p50_ms: number; p99_ms: number; refused: number }> {
  const latencies: number[] = [];
  let committed = 0;
  let refused = 0;
  const started = performance.now();
  const deadline = started + secs * 1000;
  await Promise.all(Array.from({ length: HONEST_LANES }, async (_, lane) => {
    const mine = accounts.filter((_a, i) => i % HONEST_LANES === lane);
    let k = 0;
    while (performance.now() < deadline) {
      const batch = Array.from({ length: HONEST_BATCH }, () => {
        const a = mine[k++ % mine.length]!;
        return tx(chain, a, 'ledger.send', { to: accounts[0]!.id === a.id ? accounts[1]!.id : accounts[0]!.id, amount: '0.000001' });
      });
      const t0 = performance.now();
      try {
        const results = await post(`${node.http}/v1/txs`, batch) as Array<{ status?: string }>;
        latencies.push(performance.now() - t0);
        for (const r of results) if (r.status === 'ok') committed++; else refused++;
      } catch {
        latencies.push(performance.now() - t0);
        refused += batch.length;
        // The node may be down (the attack's doing): resync nonces if it answers, else go on.
        try {
          for (const a of mine) a.nonce = (await (await fetch(`${node.http}/v1/auth/${a.id}`)).json() as { nonce: number }).nonce;
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
  }));
  latencies.sort((a, b) => a - b);
  const s = (performance.now() - started) / 1000;
  return { tx_per_s: Math.round(committed / s), p50_ms: Math.round(percentile(latencies, 50) * 10) / 10, p99_ms: Math.round(percentile(latencies, 99) * 10) / 10, refused };
}

/** A fresh HTTP connection (no keep-alive) and a fresh socket connection, every 200 ms. */
function probes(node: Node, secs: number): Promise<{ http_ok: number; http_failed: number; socket_ok: number; socket_failed: number }> {
  const out = { http_ok: 0, http_failed: 0, socket_ok: 0, socket_failed: 0 };
  const httpOnce = () => new Promise<boolean>((resolve) => {
    const req = http.get(`${node.http}/v1/node`, { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
  const socketOnce = () => new Promise<boolean>((resolve) => {
    const s = net.createConnection(node.socket);
    const t = setTimeout(() => { s.destroy(); resolve(false); }, 2000);
    s.on('error', () => { clearTimeout(t); resolve(false); });
    s.once('connect', () => s.write('{"id":1,"method":"node.info"}\n'));
    s.once('data', () => { clearTimeout(t); s.destroy(); resolve(true); });
  });
  return (async () => {
    const deadline = performance.now() + secs * 1000;
    while (performance.now() < deadline) {
      const [h, so] = await Promise.all([httpOnce(), socketOnce()]);
      if (h) out.http_ok++; else out.http_failed++;
      if (so) out.socket_ok++; else out.socket_failed++;
      await new Promise((r) => setTimeout(r, 200));
    }
    return out;
  })();
}

async function scenario(o: Options, name: string): Promise<Record<string, unknown>> {
  const node = await startNode(o.bin);
  try {
    const { chain, accounts, bigHeight } = await setup(node);
    const rssBefore = rssMiB(node.child.pid!);
    let attack: Attack = { opened: 0, refused: 0, end: () => {} };
    if (name === 'ws') attack = await wsAttack(node, o.wsCount);
    if (name === 'idle') attack = await idleAttack(node, o.idleCount);
    if (name === 'socket') attack = await socketAttack(node, o.socketConns, o.socketRepliesPerConn, bigHeight);
    const rss = () => (node.child.exitCode === null && node.child.signalCode === null ? rssMiB(node.child.pid!) : 0);
    let rssPeak = rss();
    const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, rss()); }, 250);
    const [h, p] = await Promise.all([honest(node, chain, accounts, o.secs), probes(node, o.secs)]);
    clearInterval(sampler);
    attack.end();
    const exited = node.child.exitCode !== null || node.child.signalCode !== null ? `exited (${node.child.exitCode ?? node.child.signalCode})` : 'running';
    return { attack: name, node: exited, attack_opened: attack.opened, attack_refused: attack.refused, ...h, ...p, rss_before_mib: rssBefore, rss_peak_mib: rssPeak };
  } finally {
    node.child.kill('SIGKILL');
    fs.rmSync(node.dataDir, { recursive: true, force: true });
  }
}

const o = parseArgs(process.argv.slice(2));
console.error(`attack bench: ${o.bin}, ${o.secs} s per scenario`);
for (const name of o.attacks) {
  const r = await scenario(o, name);
  console.log(JSON.stringify(r));
}
