// The wallet RPC client against a real monero-wallet-rpc started with --rpc-login (HTTP
// digest auth, epee's server): offline, no daemon, so it takes a few seconds. Skipped, and
// said so, when the binary is missing; CI (TALLY_REQUIRE_MONERO=1) fails instead.
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { TallyError } from '../src/core/errors.js';
import { HttpMoneroRpc } from '../src/modules/tickets/monero-rpc.js';
import { cleanup, sleep, tempDir } from './helpers.js';
import { freePort, moneroMissing } from './monero-regtest.js';

const missing = moneroMissing();
if (missing && process.env.TALLY_REQUIRE_MONERO === '1') throw new Error(`tickets-monero-login: ${missing}, and TALLY_REQUIRE_MONERO=1`);
if (missing) process.stderr.write(`\n*** SKIPPED the Monero RPC login test (test/tickets-monero-login.test.ts): ${missing} ***\n\n`);

describe('wallet RPC login against a real monero-wallet-rpc --rpc-login', { skip: missing ?? false, timeout: 90_000 }, () => {
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

  it('a wrong password or no login is monero_rpc_auth', async () => {
    for (const rpc of [new HttpMoneroRpc(url, 10_000, { user: 'tally', pass: 'wrong' }), new HttpMoneroRpc(url, 10_000)]) {
      await assert.rejects(rpc.call('get_version'), (e: TallyError) => e.code === 'monero_rpc_auth' && !e.message.includes('wrong'));
    }
  });
});
