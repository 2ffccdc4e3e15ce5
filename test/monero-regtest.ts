// A private Monero regtest network for the integration tests: one monerod (offline, fixed
// difficulty 1, blocks mined on demand with generateblocks) and monero-wallet-rpc processes,
// all on free loopback ports in a temporary directory, killed by stop().
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { tempDir, withTimeout, sleep } from './helpers.js';

/** Why the Monero tests cannot run here, or undefined when both binaries are installed. */
export function moneroMissing(): string | undefined {
  for (const bin of ['monerod', 'monero-wallet-rpc']) {
    const r = spawnSync(bin, ['--version'], { stdio: 'ignore' });
    if (r.error || r.status !== 0) return `${bin} is not installed (apt-get install -y monero)`;
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function jsonRpc<T = any>(url: string, method: string, params: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string; code: number } };
  if (body.error) throw new Error(`${method}: ${body.error.message} (${body.error.code})`);
  return body.result as T;
}

async function waitRpc(url: string, method: string, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${method} server exited (${proc.exitCode}):\n${log()}`);
    try {
      await jsonRpc(url, method, {}, 2000);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`no answer from ${url}:\n${log()}`);
      await sleep(200);
    }
  }
}

export interface Wallet {
  url: string;
  address: string;
  call<T = any>(method: string, params?: Record<string, unknown>): Promise<T>;
}

export class Regtest {
  private readonly procs: ChildProcess[] = [];
  private dir = '';
  daemonUrl = '';
  daemonPort = 0;

  async start(): Promise<void> {
    this.dir = tempDir('xmr-');
    this.daemonPort = await freePort();
    const p2p = await freePort();
    this.daemonUrl = `http://127.0.0.1:${this.daemonPort}/json_rpc`;
    const logFile = path.join(this.dir, 'monerod.out');
    const out = fs.openSync(logFile, 'w');
    const proc = spawn('monerod', [
      '--regtest', '--offline', '--fixed-difficulty', '1', '--non-interactive', '--no-igd', '--no-zmq', '--disable-dns-checkpoints',
      // No fsync per block: a test chain is thrown away, and mining runs about twice as fast.
      '--db-sync-mode', 'fastest:async:1000000',
      '--data-dir', path.join(this.dir, 'daemon'), '--rpc-bind-ip', '127.0.0.1', '--rpc-bind-port', String(this.daemonPort),
      '--p2p-bind-ip', '127.0.0.1', '--p2p-bind-port', String(p2p), '--log-level', '0', '--log-file', path.join(this.dir, 'monerod.log'),
    ], { stdio: ['ignore', out, out] });
    this.procs.push(proc);
    await waitRpc(this.daemonUrl, 'get_info', proc, () => fs.readFileSync(logFile, 'utf8'));
  }

  /** A fresh wallet in its own monero-wallet-rpc. */
  async wallet(name: string): Promise<Wallet> {
    const port = await freePort();
    const dir = path.join(this.dir, `wallet-${name}`);
    fs.mkdirSync(dir);
    const url = `http://127.0.0.1:${port}/json_rpc`;
    const logFile = path.join(this.dir, `${name}.out`);
    const out = fs.openSync(logFile, 'w');
    const proc = spawn('monero-wallet-rpc', [
      '--disable-rpc-login', '--non-interactive', '--trusted-daemon', '--daemon-address', `127.0.0.1:${this.daemonPort}`,
      '--rpc-bind-ip', '127.0.0.1', '--rpc-bind-port', String(port), '--wallet-dir', dir, '--log-level', '1', '--log-file', path.join(this.dir, `${name}.log`),
    ], { stdio: ['ignore', out, out] });
    this.procs.push(proc);
    await waitRpc(url, 'get_version', proc, () => fs.readFileSync(logFile, 'utf8'));
    await jsonRpc(url, 'create_wallet', { filename: name, language: 'English' });
    const { address } = await jsonRpc<{ address: string }>(url, 'get_address', { account_index: 0 });
    return { url, address, call: (method, params = {}) => jsonRpc(url, method, params) };
  }

  async mine(blocks: number, address: string): Promise<number> {
    const r = await jsonRpc<{ height: number }>(this.daemonUrl, 'generateblocks', { amount_of_blocks: blocks, wallet_address: address }, 120_000);
    return r.height;
  }

  /**
   * Mine one block at a time until the transaction is in one (at most 5), then `more`;
   * returns the chain height. A payment sent just before `generateblocks` is usually in
   * its first block; a CI run once saw one still unconfirmed after the blocks meant to
   * confirm it, so the tests check instead of counting on it.
   */
  async mineIn(txid: string, more: number, address: string): Promise<number> {
    for (let i = 1; ; i++) {
      const height = await this.mine(1, address);
      if (await this.inBlock(txid)) return more > 0 ? this.mine(more, address) : height;
      if (i === 5) throw new Error(`transaction ${txid} still not in a block after 5 blocks:\n${this.logTail('monerod')}`);
    }
  }

  /** Whether the daemon has the transaction in a block (not in its pool, not unknown). */
  async inBlock(txid: string): Promise<boolean> {
    const res = await fetch(this.daemonUrl.replace(/json_rpc$/, 'get_transactions'), {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ txs_hashes: [txid] }), signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json()) as { txs?: Array<{ in_pool: boolean; block_height: number }> };
    const tx = body.txs?.[0];
    return tx !== undefined && !tx.in_pool;
  }

  async height(): Promise<number> {
    return (await jsonRpc<{ height: number }>(this.daemonUrl, 'get_info')).height;
  }

  /** The end of a process's log (monerod, or a wallet by name), for failure messages. */
  logTail(name: string, bytes = 4000): string {
    try {
      const text = fs.readFileSync(path.join(this.dir, `${name}.log`), 'utf8');
      return text.slice(-bytes);
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    if (process.env.XMR_KEEP_LOGS) fs.cpSync(this.dir, process.env.XMR_KEEP_LOGS, { recursive: true, filter: (src) => !src.includes('lmdb') });
    await Promise.all(this.procs.map((p) => {
      if (p.exitCode !== null || p.signalCode !== null) return undefined;
      p.kill('SIGKILL');
      return withTimeout(new Promise((r) => p.once('exit', r)), 10_000, 'a monero process to exit').catch(() => undefined);
    }));
  }
}
