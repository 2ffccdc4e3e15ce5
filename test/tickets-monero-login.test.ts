// The wallet RPC client against a real monero-wallet-rpc started with --rpc-login (HTTP
// digest auth, epee's server): offline, no daemon, so it takes a few seconds. Then a node
// whose watcher takes its login from walletRpcLoginFile, right and wrong. Skipped, and
// said so, when the binary is missing; CI (TALLY_REQUIRE_MONERO=1) fails instead.
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { TallyError } from '../src/core/errors.js';
import { HttpMoneroRpc } from '../src/modules/tickets/monero-rpc.js';
import { cleanup, httpGet, sleep, startNode, tempDir } from './helpers.js';
import { freePort, moneroMissing } from './monero-regtest.js';

const missing = moneroMissing();
if (missing && process.env.TALLY_REQUIRE_MONERO === '1') throw new Error(`tickets-monero-login: ${missing}, and TALLY_REQUIRE_MONERO=1`);
if (missing) process.stderr.write(`\n*** SKIPPED the Monero RPC login test (test/tickets-monero-login.test.ts): ${missing} ***\n\n`);

describe('wallet RPC login against a real monero-wallet-rpc --rpc-login', { skip: missing ?? false, timeout: 180_000 }, () => {
  let proc: ChildProcess;
  let url = '';
  const login = { user: 'tally', pass: 'c0rrect:horse battery' };

  before(async () => {
    const dir = tempDir('xmr-login-');
    const port = await freePort();
    url = `http://127.0.0.1:${port}/json_rpc`;
    // The wallet reads its login from a config file, so it stays out of `ps` here too.
    const conf = path.join(dir, 'wallet.conf');
    fs.writeFileSync(conf, `rpc-login=${login.user}:${login.pass}\n`, { mode: 0o600 });
    proc = spawn('monero-wallet-rpc', ['--config-file', conf, '--offline', '--non-interactive', '--rpc-bind-ip', '127.0.0.1', '--rpc-bind-port', String(port),
      '--wallet-dir', dir, '--log-level', '0', '--log-file', path.join(dir, 'wallet.log')], { stdio: 'ignore' });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const status = await fetch(url, { method: 'POST', body: '{}' }).then((r) => r.status, () => 0);
      if (status === 401) break;
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`monero-wallet-rpc did not come up (exit ${proc.exitCode}, last status ${status})`);
      await sleep(200);
    }
  });
  after(async () => {
    proc?.kill('SIGKILL');
    await cleanup();
  });

  it('logs in with digest auth and keeps answering the same challenge', async () => {
    const rpc = new HttpMoneroRpc(url, 10_000, login);
    for (let i = 0; i < 4; i++) assert.ok((await rpc.call<{ version: number }>('get_version')).version > 0);
  });

  it('a node whose watcher logs in from walletRpcLoginFile reads the wallet; a wrong login is logged, never the password', async () => {
    // An offline wallet with no daemon: it answers get_height, enough to see the watcher log in.
    // create_wallet derives keys (seconds on a loaded machine): a generous timeout.
    const rpc = new HttpMoneroRpc(url, 60_000, login);
    await rpc.call('create_wallet', { filename: 'service', language: 'English' });
    const { address } = await rpc.call<{ address: string }>('get_address', { account_index: 0 });
    const dir = tempDir();
    const loginFile = path.join(dir, 'monero-rpc.login');
    fs.writeFileSync(loginFile, `${login.user}:${login.pass}\n`, { mode: 0o600 });
    const monero = { walletRpcUrl: url, walletRpcLoginFile: loginFile, address, refresh: false, pollMs: 100, confirmations: 1 };
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, 'config.json'), JSON.stringify({ tickets: { monero } }));
    let node = await startNode({ dataDir });
    const metric = async (name: string) => {
      const line = (await httpGet(`${node.internal}/metrics`)).text.split('\n').find((l) => l.startsWith(name + ' '));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const deadline = Date.now() + 20_000;
    while ((await metric('tally_tickets_source_height{source="monero"}')) < 1) {
      if (Date.now() > deadline) throw new Error(`the watcher did not read the wallet:\n${node.stderr()}`);
      await sleep(100);
    }
    // Logged in: get_height answered. (An offline wallet then fails get_transfers, not the login.)
    assert.doesNotMatch(node.stderr(), /login|HTTP 401/, node.stderr());
    assert.equal(await node.stop(), 0);

    fs.writeFileSync(loginFile, `${login.user}:not-the-password\n`);
    node = await startNode({ dataDir });
    const until = Date.now() + 20_000;
    while (!/monero-wallet-rpc refused the login/.test(node.stderr())) {
      if (Date.now() > until) throw new Error(`no login error logged:\n${node.stderr()}`);
      await sleep(100);
    }
    assert.ok(!node.stderr().includes('not-the-password') && !node.stderr().includes(login.pass), 'no password in the log');
    assert.ok((await metric('tally_tickets_watcher_errors_total{source="monero"}')) >= 1);
    assert.equal(await node.stop(), 0);
  });

  it('a wrong password or no login is monero_rpc_auth', async () => {
    for (const rpc of [new HttpMoneroRpc(url, 10_000, { user: 'tally', pass: 'wrong' }), new HttpMoneroRpc(url, 10_000)]) {
      await assert.rejects(rpc.call('get_version'), (e: TallyError) => e.code === 'monero_rpc_auth' && !e.message.includes('wrong'));
    }
  });
});
