// Tickets scaled out on PostgreSQL, end to end: a dev node (the chain; it sells no tickets
// itself) and two `tally tickets serve` processes on one PostgreSQL store, each given only
// the config file, the URL file and a copy of tickets.key, as processes on other machines
// would be. Concurrent redeems of one PID through both give one token; a token revoked
// through one is revoked through the other; one process at a time credits payments, and
// killing it (kill -9) lets the other take over. And PostgreSQL stopped under a serving
// process: requests answer 503 pg_unreachable, and once it is back the same process
// serves again with nothing lost or duplicated.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cleanup, httpGet, httpPost, makeTx, newAccount, sleep, startNode, tempDir, TALLY_BIN, withTimeout, type NodeProcess } from './helpers.js';
import { cleanupPg, freshPgSchema, pgMissing } from './pg.js';
import { pgBinaries, startPgCluster, type PgCluster } from './pg-cluster.js';
import { tallyMemoTag } from '../src/modules/tickets/pid.js';

const skip = await pgMissing();

interface Serve {
  http: string;
  internal: string;
  proc: ChildProcess;
  stderr(): string;
}

const serves = new Set<ChildProcess>();

async function startServe(args: string[]): Promise<Serve> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('TALLY_')) delete env[k];
  delete env.NODE_TEST_CONTEXT;
  const proc = spawn(process.execPath, [TALLY_BIN, 'tickets', 'serve', '--listen', '127.0.0.1:0', '--internal', '127.0.0.1:0', '--poll-ms', '100', '--json', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  serves.add(proc);
  proc.once('exit', () => serves.delete(proc));
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  let stdout = '';
  const first = await withTimeout(new Promise<{ http: string; internal: string }>((resolve, reject) => {
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      const nl = stdout.indexOf('\n');
      if (nl < 0) return;
      const line = JSON.parse(stdout.slice(0, nl)) as { http?: string; internal: string };
      if (line.http) resolve(line as { http: string; internal: string });
      else reject(new Error(`tickets serve did not start: ${stdout.slice(0, nl)}`));
    });
    proc.once('exit', (code) => reject(new Error(`tickets serve exited (${code}) before listening:\n${stderr}`)));
  }), 20_000, 'tickets serve to listen');
  return { ...first, proc, stderr: () => stderr };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  return withTimeout((async () => {
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      await sleep(100);
    }
  })(), ms, what);
}

describe('tickets on PostgreSQL: two serve processes', { skip, timeout: 180_000 }, () => {
  let node: NodeProcess;
  let a: Serve;
  let b: Serve;
  let serveArgs: string[];
  let schemaName: string;
  let schemaUrl: string;
  const shop = newAccount();
  const alice = newAccount();

  async function pay(pid: string, amount: string) {
    const r = await httpPost(`${node.http}/v1/txs`, makeTx(alice, 'ledger.send', { to: 'shop', amount, memo: tallyMemoTag(pid) }));
    assert.equal(r.body.status, 'ok', r.text);
  }

  before(async () => {
    const dir = tempDir();
    const schema = await freshPgSchema();
    schemaName = schema.schema;
    schemaUrl = schema.url;
    const urlFile = path.join(dir, 'pg.url');
    fs.writeFileSync(urlFile, schema.url + '\n', { mode: 0o600 });
    const keyFile = path.join(dir, 'tickets.key');
    fs.writeFileSync(keyFile, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ tickets: { store: 'postgres', urlFile, tally: { account: 'shop' }, rateLimit: { redeemPerMin: 0, introspectPerMin: 0 } } }));
    node = await startNode();
    for (const acct of [[shop, 'shop'], [alice, 'alice']] as const) {
      const r = await httpPost(`${node.http}/v1/txs`, makeTx(acct[0], 'ledger.register', { name: acct[1] }));
      assert.equal(r.body.status, 'ok', r.text);
    }
    serveArgs = ['--config', config, '--data', dir, '--node', node.http, '--token-key-file', keyFile];
    [a, b] = await Promise.all([startServe(serveArgs), startServe(serveArgs)]);
  });

  after(async () => {
    for (const p of serves) p.kill('SIGKILL');
    await node?.stop();
    await cleanup();
    await cleanupPg();
  });

  it('refuses a config on SQLite and a missing token key', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ tickets: { tally: { account: 'shop' } } }));
    await assert.rejects(startServe(['--data', dir, '--node', node.http]), /store.*postgres/);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ tickets: { store: 'postgres' } }));
    await assert.rejects(startServe(['--data', dir]), /key_file_missing|tickets token key file/);
  });

  it('concurrent redeems of one PID through both processes give exactly one token', async () => {
    const pids = Array.from({ length: 3 }, () => crypto.randomBytes(8).toString('hex'));
    for (const pid of pids) await pay(pid, '2');
    for (const pid of pids) {
      // Seen by the process that does not credit, too: the store is shared, nothing is cached.
      await until('the payment to show through both', async () => ((await httpGet(`${a.http}/api/v1/payment/${pid}`)).status === 200 && (await httpGet(`${b.http}/api/v1/payment/${pid}`)).status === 200 ? true : undefined));
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => httpPost(`${(i % 2 ? a : b).http}/api/v1/redeem`, { pid })));
      assert.ok(answers.every((r) => r.status === 200), answers.map((r) => r.text).join('\n'));
      assert.equal(answers.filter((r) => r.body.status === 'success').length, 1, answers.map((r) => r.text).join('\n'));
      assert.equal(new Set(answers.map((r) => r.body.token)).size, 1, 'the same token from both processes');
    }
    const listed = await httpGet(`${a.internal}/api/v1/tokens?limit=100`);
    assert.equal(listed.body.tokens.length, 3);
  });

  it('a token revoked through one process shows revoked through the other', async () => {
    const pid = crypto.randomBytes(8).toString('hex');
    await pay(pid, '3');
    const token = await until('the redeem', async () => {
      const r = await httpPost(`${a.http}/api/v1/redeem`, { pid });
      return r.status === 200 ? (r.body.token as string) : undefined;
    });
    assert.equal((await httpGet(`${b.http}/api/v1/token/${token}`)).body.status, 'active');
    assert.equal((await httpGet(`${a.http}/api/v1/token/${token}`)).body.status, 'active');
    const revoked = await httpPost(`${a.internal}/api/v1/token/${token}/revoke`, { reason: 'abuse' });
    assert.equal(revoked.body.status, 'revoked');
    const seen = await httpGet(`${b.http}/api/v1/token/${token}`);
    assert.deepEqual([seen.body.status, seen.body.revoked_at], ['revoked', revoked.body.revoked_at]);
    const spent = await httpPost(`${b.internal}/api/v1/token/${token}/spend`, { amount: '1' });
    assert.deepEqual([spent.status, spent.body.error?.code], [410, 'token_revoked']);
  });

  it('a watcher lock whose connection drops is given up and taken again; payments still credit', async () => {
    const pg = await import('pg');
    const c = new pg.default.Client({ connectionString: schemaUrl });
    await c.connect();
    try {
      // The session that holds this schema's watcher lock, cut as a network failure would.
      const cut = await c.query(`SELECT pg_terminate_backend(l.pid) AS ok FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'tally-tickets-watcher-lock'
          AND l.objid::bigint = (hashtext($1)::bigint & 4294967295)`, [schemaName]);
      assert.equal(cut.rowCount, 1, 'one session holds the lock');
    } finally {
      await c.end();
    }
    await until('the lock given up', async () => (/watcher lock given up: connection lost/.test(a.stderr() + b.stderr()) ? true : undefined));
    const pid = crypto.randomBytes(8).toString('hex');
    await pay(pid, '1');
    const r = await until('a process to credit the payment', async () => {
      const x = await httpPost(`${a.http}/api/v1/redeem`, { pid });
      return x.status === 200 ? x.body : undefined;
    });
    assert.deepEqual([r.status, r.balance], ['success', '1']);
  });

  it('each serving process has its own metrics and its own per-client rate limit', async () => {
    const c = await startServe([...serveArgs, '--rate-limit', '5']);
    try {
      // Five units a minute, every route counted (an unknown one too), then 429 with retry-after.
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await httpGet(`${c.http}/api/v1/tickets`));
      answers.push(await httpGet(`${c.http}/no/such/route`));
      assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 404]);
      const refused = await fetch(`${c.http}/api/v1/tickets`);
      const body = (await refused.json()) as { error: { code: string } };
      assert.deepEqual([refused.status, body.error.code], [429, 'rate_limited']);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      // The other processes are not limited by this one's budget.
      assert.equal((await httpGet(`${a.http}/api/v1/tickets`)).status, 200);

      const text = (await httpGet(`${c.internal}/metrics`)).text;
      for (const line of [
        /^process_resident_memory_bytes \d+/m,
        /^nodejs_eventloop_lag_seconds [\d.e-]+/m,
        /^tally_build_info\{[^}]*service="tickets-serve"[^}]*\} 1$/m,
        /^tally_http_request_duration_seconds_count\{listener="public",method="GET",route="\/api\/v1\/tickets",status="200"\} 4$/m,
        /^tally_http_request_duration_seconds_count\{listener="public",method="GET",route="\/api\/v1\/tickets",status="429"\} 1$/m,
        /^tally_http_request_duration_seconds_count\{listener="public",method="GET",route="unmatched",status="404"\} 1$/m,
        /^tally_tickets_/m,
      ]) assert.match(text, line);
      // Its own: process a answered none of c's requests.
      assert.doesNotMatch((await httpGet(`${a.internal}/metrics`)).text, /status="429"/);
    } finally {
      c.proc.kill('SIGTERM');
      await new Promise((r) => (c.proc.exitCode === null ? c.proc.once('exit', r) : r(undefined)));
    }
  });

  it('one process credits; killed with kill -9, the other takes over', async () => {
    const watching = async (s: Serve) => (await httpGet(`${s.internal}/health`)).body.watching as boolean;
    const [wa, wb] = [await watching(a), await watching(b)];
    assert.equal(Number(wa) + Number(wb), 1, 'exactly one holds the watcher lock');
    const [holder, other] = wa ? [a, b] : [b, a];
    assert.match(holder.stderr(), /holds the watcher lock/);
    holder.proc.kill('SIGKILL');
    await new Promise((r) => holder.proc.once('exit', r));
    const pid = crypto.randomBytes(8).toString('hex');
    await pay(pid, '4');
    const t0 = Date.now();
    const r = await until('the other process to credit the payment', async () => {
      const x = await httpPost(`${other.http}/api/v1/redeem`, { pid });
      return x.status === 200 ? x.body : undefined;
    }, 30_000);
    assert.deepEqual([r.status, r.balance], ['success', '4']);
    assert.equal(await watching(other), true);
    assert.match(other.stderr(), /holds the watcher lock/);
    // Credited once, by one of them: payments are keyed by transaction in the database.
    const seen = await httpGet(`${holder === a ? b.http : a.http}/api/v1/payment/${pid}`);
    assert.deepEqual([seen.body.credited, seen.body.payments.length], ['4', 1]);
    process.stderr.write(`# takeover: the payment was credited ${Date.now() - t0} ms after the kill\n`);
  });
});

describe('tickets on PostgreSQL inside a node', { skip, timeout: 120_000 }, () => {
  after(async () => {
    await cleanup();
    await cleanupPg();
  });

  it('a node with "store": "postgres" credits, redeems and serves from PostgreSQL', async () => {
    const dir = tempDir();
    const schema = await freshPgSchema();
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, 'pg.url'), schema.url + '\n', { mode: 0o600 });
    // urlFile relative to the data directory.
    fs.writeFileSync(path.join(dataDir, 'config.json'), JSON.stringify({ tickets: { store: 'postgres', urlFile: 'pg.url', tally: { account: 'shop' } } }));
    const node = await startNode({ dataDir });
    try {
      assert.deepEqual(node.listening.services?.tickets, { sources: 'tally', store: 'postgres' });
      const shop = newAccount();
      const alice = newAccount();
      for (const [acct, name] of [[shop, 'shop'], [alice, 'alice']] as const) {
        assert.equal((await httpPost(`${node.http}/v1/txs`, makeTx(acct, 'ledger.register', { name }))).body.status, 'ok');
      }
      const pid = crypto.randomBytes(8).toString('hex');
      assert.equal((await httpPost(`${node.http}/v1/txs`, makeTx(alice, 'ledger.send', { to: 'shop', amount: '5', memo: tallyMemoTag(pid) }))).body.status, 'ok');
      const r = await until('the node to credit and redeem', async () => {
        const x = await httpPost(`${node.http}/api/v1/redeem`, { pid });
        return x.status === 200 ? x.body : undefined;
      });
      assert.deepEqual([r.status, r.balance], ['success', '5']);
      const revoked = await httpPost(`${node.internal}/api/v1/token/${r.token}/revoke`, { reason: 'test' });
      assert.equal(revoked.body.status, 'revoked');
      // The rows are in PostgreSQL, not in the node's SQLite file.
      const pg = await import('pg');
      const c = new pg.default.Client({ connectionString: schema.url });
      await c.connect();
      try {
        const rows = await c.query('SELECT pid, revoke_reason FROM tickets_tokens');
        assert.deepEqual(rows.rows, [{ pid: tallyMemoTag(pid), revoke_reason: 'test' }]);
      } finally {
        await c.end();
      }
      assert.match(node.stderr(), /holds the watcher lock/);
    } finally {
      await node.stop();
    }
  });
});

// The outage test stops and starts a cluster of its own (test/pg-cluster.ts): stopping
// the machine's server would fail whatever else uses it at that moment.
const binaries = pgBinaries();
const controlMissing = 'missing' in binaries ? binaries.missing : undefined;
if (controlMissing) {
  if (process.env.CI === 'true') throw new Error(`${controlMissing}, and CI=true`);
  process.stderr.write(`\n#### SKIPPED: tickets PostgreSQL outage test: ${controlMissing} ####\n\n`);
}

describe('tickets on PostgreSQL: PostgreSQL stopped and started under a serving process', { skip: controlMissing, timeout: 180_000 }, () => {
  let node: NodeProcess;
  let serve: Serve;
  let cluster: PgCluster | undefined;
  const shop = newAccount();
  const alice = newAccount();

  before(async () => {
    const dir = tempDir();
    cluster = await startPgCluster((binaries as { bin: string }).bin);
    const urlFile = path.join(dir, 'pg.url');
    fs.writeFileSync(urlFile, cluster.url + '\n', { mode: 0o600 });
    const keyFile = path.join(dir, 'tickets.key');
    fs.writeFileSync(keyFile, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ tickets: { store: 'postgres', urlFile, tally: { account: 'shop' }, rateLimit: { redeemPerMin: 0, introspectPerMin: 0 } } }));
    node = await startNode();
    for (const [acct, name] of [[shop, 'shop'], [alice, 'alice']] as const) {
      assert.equal((await httpPost(`${node.http}/v1/txs`, makeTx(acct, 'ledger.register', { name }))).body.status, 'ok');
    }
    serve = await startServe(['--config', config, '--data', dir, '--node', node.http, '--token-key-file', keyFile]);
  });

  after(async () => {
    for (const p of serves) p.kill('SIGKILL');
    await node?.stop();
    await cleanup();
    cluster?.destroy();
  });

  it('answers 503 pg_unreachable while PostgreSQL is down, then serves again: nothing lost or duplicated', async () => {
    const pay = async (pid: string, amount: string) =>
      assert.equal((await httpPost(`${node.http}/v1/txs`, makeTx(alice, 'ledger.send', { to: 'shop', amount, memo: tallyMemoTag(pid) }))).body.status, 'ok');
    const redeem = (pid: string) => httpPost(`${serve.http}/api/v1/redeem`, { pid }, { timeoutMs: 30_000 });
    // Before: one PID redeemed, one paid and credited but not redeemed.
    const newPid = () => crypto.randomBytes(8).toString('hex');
    const [done, waiting, during] = [newPid(), newPid(), newPid()];
    await pay(done, '2');
    await pay(waiting, '3');
    const first = await until('the first redeem', async () => { const r = await redeem(done); return r.status === 200 ? r.body : undefined; });
    await until('the second payment credited', async () => ((await httpGet(`${serve.http}/api/v1/payment/${waiting}`)).body.credited === '3' ? true : undefined));

    cluster!.stop();
    try {
      // The chain (SQLite) goes on: a payment made during the outage waits in the node.
      await pay(during, '5');
      const answers = await Promise.all([
        redeem(waiting),
        httpGet(`${serve.http}/api/v1/token/${first.token as string}`, 30_000),
        httpGet(`${serve.http}/api/v1/payment/${waiting}`, 30_000),
      ]);
      for (const r of answers) assert.deepEqual([r.status, r.body.error?.code], [503, 'pg_unreachable'], r.text);
      const health = await httpGet(`${serve.internal}/health`, 30_000);
      assert.equal(health.status, 503, health.text);
    } finally {
      cluster!.start();
    }

    // The same process, not restarted: the redeem that failed succeeds once, the payment
    // made during the outage is credited once, the token from before is still the one.
    assert.equal(serve.proc.exitCode, null, 'the serving process is still running');
    const second = await until('a redeem after PostgreSQL is back', async () => { const r = await redeem(waiting); return r.status === 200 ? r.body : undefined; }, 60_000);
    assert.deepEqual([second.status, second.balance], ['success', '3']);
    const third = await until('the payment made during the outage to credit', async () => { const r = await redeem(during); return r.status === 200 ? r.body : undefined; }, 60_000);
    assert.deepEqual([third.status, third.balance], ['success', '5']);
    const again = await redeem(done);
    assert.equal(again.body.token, first.token, 'a PID redeemed before the outage gives the same token');
    for (const [pid, credited] of [[done, '2'], [waiting, '3'], [during, '5']] as const) {
      const p = await httpGet(`${serve.http}/api/v1/payment/${pid}`);
      assert.deepEqual([p.body.credited, p.body.payments.length], [credited, 1], `${pid}: credited once`);
    }
    const tokens = await httpGet(`${serve.internal}/api/v1/tokens?limit=100`);
    assert.equal(tokens.body.tokens.length, 3, 'one token per PID');
    assert.equal((await httpGet(`${serve.internal}/health`)).status, 200);
  });
});
