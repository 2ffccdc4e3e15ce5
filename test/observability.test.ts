// What an operator watches, on real node processes: log records on stderr (JSON and text,
// an access log, the activity record, no secrets), /metrics checked by Prometheus's own
// `promtool check metrics`, /health with its readiness and liveness routes (a failing
// Monero watcher is not "ok"), and start-up failures that are coded errors with a hint.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { cleanup, cli, cliOk, getOk, httpGet, httpPost, sleep, startNode, tempDir, withTimeout, type NodeProcess } from './helpers.js';

const MONERO_ADDRESS = '48x17EqCtMiBw6HAJ7gvN35PLyz5Qmc4hKJpGE6H4AcDJGaynnMUxXndoty3ZXMqPcFQBvBEUigDKannW84ZR4wHFmvMr7K';
const WALLET_PASSWORD = 's3cr3t-wallet-pw';

/** promtool from Debian's "prometheus" package; under CI it must be there. */
function promtoolMissing(): string | undefined {
  const r = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'promtool is not installed (Debian package "prometheus")';
  return undefined;
}

/** A port that something else is listening on, for as long as the test keeps it. */
async function busyPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, close: () => new Promise((r) => server.close(() => r())) };
}

/** A JSON log record line (the runtime's own warnings, if any, are plain text). */
const isRecord = (line: string) => line.startsWith('{');

/** The value of one sample line (`name{labels} value`) in a metrics text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('logs, metrics and health of a running node', { timeout: 120_000 }, () => {
  let node: NodeProcess;
  let home: string;
  let ticketsSocket: string;

  before(async () => {
    const dir = tempDir();
    home = path.join(dir, 'cli-home');
    const config = path.join(dir, 'config.json');
    ticketsSocket = path.join(dir, 't.sock');
    // A Monero wallet that is never there (port 9: nothing listens), with a login (a
    // password in the URL itself is refused as config_invalid).
    const loginFile = path.join(dir, 'wallet-login');
    fs.writeFileSync(loginFile, `op:${WALLET_PASSWORD}\n`, { mode: 0o600 });
    fs.writeFileSync(config, JSON.stringify({
      tickets: {
        monero: { walletRpcUrl: 'http://127.0.0.1:9/json_rpc', walletRpcLoginFile: loginFile, address: MONERO_ADDRESS, pollMs: 100, rpcTimeoutMs: 2000 },
        publicSocket: ticketsSocket,
      },
    }));
    node = await startNode({ extraArgs: ['--config', config, '--log-format', 'json', '--access-log', 'info'] });
  });
  after(async () => {
    await node?.stop();
    await cleanup();
  });

  it('makes blocks to show in the activity record', async () => {
    // The activity record comes every 10 s when blocks were made; checked in the last test.
    await cliOk(home, ['keys', 'new', 'obs']);
    await cliOk(home, ['register', 'obs', '--key', 'obs', '--node', node.socket, '--json']);
  });

  it('/health names each component: a failing Monero watcher is not ok, the node is still ready and live', async () => {
    const health = await withTimeout((async () => {
      while (true) {
        const r = await httpGet(`${node.internal}/health`);
        if (r.body?.components?.['tickets.monero']?.ok === false) return r;
        await sleep(100);
      }
    })(), 20_000, 'the Monero watcher to report failing');
    assert.equal(health.status, 503);
    assert.equal(health.body.ok, false);
    assert.equal(health.body.ready, true);
    for (const c of ['node', 'storage', 'watermark']) assert.deepEqual(health.body.components[c], { ok: true }, c);
    const monero = health.body.components['tickets.monero'];
    assert.match(monero.reason, /monero/);
    assert.match(monero.since, /^\d{4}-\d\d-\d\dT/);
    assert.ok(!health.text.includes(WALLET_PASSWORD), 'the wallet password is not in /health');
    assert.deepEqual(health.body.failing.map((f: any) => [f.component, f.core]), [['tickets.monero', false]]);

    const ready = await httpGet(`${node.internal}/health/ready`);
    assert.equal(ready.status, 200, ready.text);
    assert.deepEqual(ready.body, { ready: true });
    const live = await httpGet(`${node.internal}/health/live`);
    assert.equal(live.status, 200);
    assert.equal(live.body.live, true);

    const metrics = (await httpGet(`${node.internal}/metrics`)).text;
    assert.equal(sample(metrics, 'tally_tickets_watcher_up{source="monero"}'), 0);
    assert.equal(sample(metrics, 'tally_health_component_ok{component="tickets.monero"}'), 0);
    assert.equal(sample(metrics, 'tally_health_component_ok{component="storage"}'), 1);
  });

  it('counts the notary\'s work: records queued and signed, batches, leases, anchors', async () => {
    const pem = path.join(home, 'notary-ed.pem');
    fs.writeFileSync(pem, crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await cliOk(home, ['notary', 'keys', 'import', pem, '--data', node.dataDir, '--json']);
    const posted = await httpPost(`${node.internal}/v1/notary/batches`, { records: ['a', 'b', 'c', { d: 4 }, [5]] });
    assert.equal(posted.status, 202, posted.text);
    const metrics = await withTimeout((async () => {
      while (true) {
        const text = (await httpGet(`${node.internal}/metrics`)).text;
        if (sample(text, 'tally_notary_anchors_total') === 1) return text;
        await sleep(200);
      }
    })(), 30_000, 'the batch to be signed and anchored');
    assert.equal(sample(metrics, 'tally_notary_records_total'), 5);
    assert.equal(sample(metrics, 'tally_notary_records_signed_total'), 5);
    assert.equal(sample(metrics, 'tally_notary_records_queued'), 0);
    assert.equal(sample(metrics, 'tally_notary_batches{state="anchored"}'), 1);
    assert.equal(sample(metrics, 'tally_notary_batches{state="pending"}'), 0);
    assert.ok(sample(metrics, 'tally_notary_leases_total')! >= 1, 'at least the lease that signed the batch');
    assert.equal(sample(metrics, 'tally_notary_leases_held'), 0);
    assert.equal(sample(metrics, 'tally_notary_keys{status="active"}'), 1);
  });

  it('/metrics: counters for what counts up, standard process names, everything else under tally_', async () => {
    await getOk(`${node.http}/v1/node`);
    await httpGet(`${node.http}/v1/no-such-route/${'x'.repeat(20)}`);
    const text = (await httpGet(`${node.internal}/metrics`)).text;
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    assert.equal(types.get('tally_txs_accepted_total'), 'counter');
    assert.equal(types.get('tally_txs_refused_total'), 'counter');
    assert.equal(types.get('tally_blocks_total'), 'counter');
    assert.equal(types.get('tally_http_request_duration_seconds'), 'histogram');
    assert.equal(types.get('process_cpu_user_seconds_total'), 'counter');
    assert.ok(types.has('process_resident_memory_bytes') && types.has('nodejs_heap_size_used_bytes'), 'standard process and runtime names');
    for (const name of types.keys()) {
      assert.ok(/^(tally|process|nodejs)_/.test(name), `${name}: every metric is tally_, process_ or nodejs_`);
      assert.ok(!name.startsWith('tally_process_'), `${name}: no double prefix`);
      if (name.endsWith('_total')) assert.equal(types.get(name), 'counter', `${name} ends in _total, so it is a counter`);
    }
    assert.ok(sample(text, 'tally_txs_accepted_total')! >= 1);
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(sample(text, `tally_build_info{version="${pkg.version}",node_version="${process.version}",chain="tally-dev"}`), 1);
    assert.ok(sample(text, 'tally_http_request_duration_seconds_count{listener="public",method="GET",route="/v1/node",status="200"}')! >= 1);
    assert.ok(sample(text, 'tally_http_request_duration_seconds_count{listener="public",method="GET",route="unmatched",status="404"}')! >= 1);
    assert.ok(!text.includes('xxxxxxxxxxxxxxxxxxxx'), 'a raw URL never becomes a label');
  });

  it('passes `promtool check metrics`', async (t) => {
    const missing = promtoolMissing();
    if (missing && process.env.CI === 'true') assert.fail(`${missing}, and CI=true: .ci/run installs it`);
    if (missing) {
      process.stderr.write(`\n*** SKIPPED promtool check metrics (test/observability.test.ts): ${missing} ***\n\n`);
      t.skip(missing);
      return;
    }
    const text = (await httpGet(`${node.internal}/metrics`)).text;
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool check metrics:\n${r.stdout}${r.stderr}`);
  });

  it('writes JSON log records on stderr: an access record per request, never bodies, headers or secrets', async () => {
    const secretBody = 'body-secret-' + crypto.randomBytes(4).toString('hex');
    const res = await fetch(`${node.http}/v1/query/ledger.account`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer header-secret-token' }, body: JSON.stringify({ name: secretBody }),
    });
    await res.text();
    const records = await withTimeout((async () => {
      while (true) {
        const recs = node.stderr().split('\n').filter(isRecord).map((l) => JSON.parse(l) as Record<string, any>);
        if (recs.some((r) => r.route === '/v1/query/:name')) return recs;
        await sleep(50);
      }
    })(), 10_000, 'the access record');
    const access = records.find((r) => r.route === '/v1/query/:name')!;
    assert.equal(access.level, 30, 'at the level --access-log chose (info)');
    assert.equal(access.method, 'POST');
    assert.equal(access.status, res.status);
    assert.equal(access.remote, '127.0.0.1');
    assert.equal(typeof access.ms, 'number');
    assert.ok(records.some((r) => r.access === 'internal' && r.route === '/metrics'), 'the internal listener logs too');
    // The tickets module's own listener (a Unix socket) is observed the same way.
    const status = await new Promise<number>((resolve, reject) => {
      http.get({ socketPath: ticketsSocket, path: '/api/v1/payment/' + '00'.repeat(8) }, (r) => { r.resume(); r.on('end', () => resolve(r.statusCode!)); }).on('error', reject);
    });
    const socketRecord = await withTimeout((async () => {
      while (true) {
        const rec = node.stderr().split('\n').filter(isRecord).map((l) => JSON.parse(l)).find((r) => r.access === 'tickets-socket');
        if (rec) return rec;
        await sleep(50);
      }
    })(), 10_000, 'the tickets socket access record');
    assert.deepEqual([socketRecord.route, socketRecord.status, socketRecord.remote], ['/api/v1/payment/:pid', status, 'unix']);
    const metrics = (await httpGet(`${node.internal}/metrics`)).text;
    assert.match(metrics, /tally_http_request_duration_seconds_count\{listener="tickets-socket",method="GET",route="\/api\/v1\/payment\/:pid",status="\d+"\} 1/);
    const all = node.stderr();
    for (const secret of [secretBody, 'header-secret-token', WALLET_PASSWORD]) assert.ok(!all.includes(secret), `${secret} is not in the log`);
    assert.ok(records.some((r) => r.module === 'tickets' && /monero watcher/.test(r.msg)), 'module service lines are records naming the module');
  });

  it('keeps the activity record under --json, as a log record', async () => {
    const activity = await withTimeout((async () => {
      while (true) {
        const rec = node.stderr().split('\n').filter(isRecord).map((l) => JSON.parse(l)).find((r) => r.activity);
        if (rec) return rec;
        await sleep(250);
      }
    })(), 30_000, 'the activity record (every 10 s)');
    assert.equal(activity.level, 30);
    assert.ok(activity.activity.height >= 1);
    assert.equal(typeof activity.activity.txPerSec, 'number');
    assert.match(activity.msg, /^height \d+: \d+ blocks, \d+ tx\/s/);
  });
});

describe('text logs and log levels', { timeout: 60_000 }, () => {
  after(cleanup);

  it('writes readable text lines by default, access lines at the chosen level', async () => {
    const node = await startNode({ extraArgs: ['--access-log', 'warn'] });
    try {
      await getOk(`${node.http}/v1/node`);
      await withTimeout((async () => {
        while (!/WARN: public GET \/v1\/node 200 [\d.]+ ms 127\.0\.0\.1/.test(node.stderr())) await sleep(50);
      })(), 10_000, `a text access line; stderr:\n${node.stderr()}`);
      assert.ok(!node.stderr().split('\n').some(isRecord), 'no JSON records in text mode');
    } finally {
      assert.equal(await node.stop(), 0);
    }
  });

  it('--log-level drops less severe records (the access log at info under warn)', async () => {
    const node = await startNode({ extraArgs: ['--log-level', 'warn', '--access-log', 'info'] });
    await getOk(`${node.http}/v1/node`);
    await getOk(`${node.internal}/health`);
    assert.equal(await node.stop(), 0);
    assert.ok(!/ INFO: /.test(node.stderr()), `no info records (access, stopping) under warn:\n${node.stderr()}`);
    assert.ok(!/GET \/v1\/node/.test(node.stderr()), 'no access records');
  });

  it('refuses a bad --log-format, --log-level or --access-log as a usage error', async () => {
    const home = tempDir();
    for (const args of [['--log-format', 'xml'], ['--log-level', 'loud'], ['--access-log', 'sometimes']]) {
      const r = await cli(home, ['node', '--dev', '--data', path.join(home, 'data'), ...args, '--json']);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, new RegExp(`${args[0]} must be`));
      assert.ok(!fs.existsSync(path.join(home, 'data')), 'nothing was created');
    }
  });
});

describe('start-up failures are coded errors with a hint', { timeout: 60_000 }, () => {
  after(cleanup);

  for (const flagName of ['--http', '--internal']) {
    it(`a busy ${flagName} port is address_in_use, not a stack trace`, async () => {
      const busy = await busyPort();
      try {
        const home = tempDir();
        const other = flagName === '--http' ? '--internal' : '--http';
        const args = ['node', '--dev', '--data', path.join(home, 'data'), flagName, `127.0.0.1:${busy.port}`, other, '127.0.0.1:0'];
        const json = await cli(home, [...args, '--json']);
        assert.equal(json.code, 1, json.stdout + json.stderr);
        assert.equal(json.json?.error?.code, 'address_in_use', json.stdout);
        assert.match(json.json.error.message, new RegExp(`127\\.0\\.0\\.1:${busy.port} \\(${flagName}\\)`));
        assert.match(json.json.error.hint, new RegExp(flagName));
        assert.equal(json.json.error.details.port, busy.port);

        const text = await cli(home, args);
        assert.equal(text.code, 1, text.stdout + text.stderr);
        assert.match(text.stderr, /^error: cannot listen on .* \(address_in_use\)$/m);
        assert.match(text.stderr, /^hint: /m);
        assert.ok(!/^\s+at /m.test(text.stderr), `no stack trace:\n${text.stderr}`);

        // Nothing is left held: the same data directory starts once the port is free.
        await busy.close();
        const node = await startNode({ dataDir: path.join(home, 'data'), home });
        assert.equal(await node.stop(), 0);
      } finally {
        await busy.close().catch(() => undefined);
      }
    });
  }

  it('under --log-format json a start-up failure is one fatal JSON record on stderr, with its code and hint; exit codes stay', async () => {
    const busy = await busyPort();
    try {
      const home = tempDir();
      const args = ['node', '--dev', '--data', path.join(home, 'data'), '--http', `127.0.0.1:${busy.port}`, '--internal', '127.0.0.1:0', '--log-format', 'json'];
      const fatalRecords = (stderr: string) => {
        const lines = stderr.split('\n').filter((l) => l.trim() !== '');
        assert.ok(lines.every(isRecord), `only JSON records on stderr:\n${stderr}`);
        return lines.map((l) => JSON.parse(l) as Record<string, any>).filter((r) => r.level === 60);
      };
      const plain = await cli(home, args);
      assert.equal(plain.code, 1, plain.stdout + plain.stderr);
      assert.equal(plain.stdout, '');
      const [rec, ...more] = fatalRecords(plain.stderr);
      assert.equal(more.length, 0, plain.stderr);
      assert.equal(rec!.code, 'address_in_use');
      assert.match(rec!.msg, new RegExp(`127\\.0\\.0\\.1:${busy.port} \\(--http\\)`));
      assert.match(rec!.hint, /--http/);
      assert.equal(rec!.details.port, busy.port);
      assert.ok(!/^(error|hint): /m.test(plain.stderr), 'no text error lines');

      // --json keeps its stdout error for scripts; the record is on stderr as well.
      const both = await cli(home, [...args, '--json']);
      assert.equal(both.code, 1);
      assert.equal(both.json?.error?.code, 'address_in_use', both.stdout);
      assert.equal(fatalRecords(both.stderr)[0]?.code, 'address_in_use');
    } finally {
      await busy.close();
    }
    // A failure before anything listens: no data directory and no --dev.
    const home = tempDir();
    const missing = await cli(home, ['node', '--data', path.join(home, 'none'), '--log-format=json']);
    assert.equal(missing.code, 1, missing.stdout + missing.stderr);
    const rec = JSON.parse(missing.stderr.trim()) as Record<string, any>;
    assert.equal(rec.level, 60);
    assert.equal(rec.code, 'db_missing');
    assert.match(rec.hint, /tally init/);
  });

  it('a socket path that cannot be made is a coded error with a hint, not a stack trace', async () => {
    const home = tempDir();
    const r = await cli(home, ['node', '--dev', '--data', path.join(home, 'data'), '--socket', path.join(home, 'no-such-dir', 'x.sock'), '--http', 'off', '--internal', 'off', '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok(['address_unavailable', 'address_forbidden'].includes(r.json?.error?.code), r.stdout);
    assert.match(r.json.error.hint, /--socket PATH/);
    assert.equal(r.json.error.details.flag, '--socket');
  });

  it('a CLI command against a node that is down is node_unreachable with a hint, over HTTP as over the socket', async () => {
    const home = tempDir();
    const busy = await busyPort();
    const port = busy.port;
    await busy.close();
    for (const target of [`http://127.0.0.1:${port}`, path.join(home, 'no-node.sock')]) {
      const r = await cli(home, ['whoami', 'nobody', '--node', target, '--json']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.json?.error?.code, 'node_unreachable', r.stdout);
      assert.match(r.json.error.hint, /tally node/, target);
    }
  });
});
