// Tickets paid on Tally, end to end against a real node process with a config file: pay
// with the PID's memo tag, redeem over HTTP and the --tickets-socket, introspect, spend and revoke on
// the internal listener only, metrics, per-address rate limits, the CLI, config errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { cleanup, cli, cliOk, httpGet, httpPost, makeTx, newAccount, startNode, tempDir, TALLY_BIN, type NodeProcess } from './helpers.js';
import { execFile } from 'node:child_process';
import { tallyMemoTag } from '../src/modules/tickets/pid.js';

function socketRequest(socketPath: string, method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ socketPath, path: urlPath, method, headers: payload ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => { text += c; }).on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('tickets paid on Tally, through a real node', { timeout: 120_000 }, () => {
  let node: NodeProcess;
  let home: string;
  let ticketsSocket: string;
  const shop = newAccount();
  const alice = newAccount();

  async function submit(env: unknown) {
    const r = await httpPost(`${node.http}/v1/txs`, env);
    assert.equal(r.body.status, 'ok', JSON.stringify(r.body));
    return r.body;
  }

  before(async () => {
    const dir = tempDir();
    home = path.join(dir, 'home');
    ticketsSocket = path.join(dir, 't.sock');
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir);
    // The default config location: <data>/config.json.
    fs.writeFileSync(path.join(dataDir, 'config.json'), JSON.stringify({ tickets: { tally: { account: 'shop', minAmount: '0.5', price: '5' }, rateLimit: { redeemPerMin: 40, introspectPerMin: 40 }, redeemGraceSecs: 600 } }));
    node = await startNode({ dataDir, extraArgs: ['--tickets-socket', ticketsSocket] });
    assert.deepEqual(node.listening.services?.tickets, { sources: 'tally', socket: ticketsSocket });
    // The service account does not exist yet: a warning in the log and on /health (still ok).
    const health = await httpGet(`${node.internal}/health`);
    assert.equal(health.status, 200);
    assert.equal(health.body.warnings?.[0]?.component, 'tickets.tally', health.text);
    assert.match(health.body.warnings[0].reason, /service account shop is not registered/);
    assert.match(node.stderr(), /tickets: warning: the service account shop is not registered/);
    await submit(makeTx(shop, 'ledger.register', { name: 'shop' }));
    await submit(makeTx(alice, 'ledger.register', { name: 'alice' }));
  }, { timeout: 60_000 });

  after(async () => {
    await cleanup();
  }, { timeout: 30_000 });

  it('pays a PID by memo, redeems it over HTTP and the socket, tops it up, and the CLI shows it', async () => {
    const made = await cliOk(home, ['ticket', 'new', '--api', node.http, '--json']);
    assert.match(made.pid, /^[0-9a-f]{16}$/);
    assert.equal(made.tally.to, 'shop');
    const pid: string = made.pid;
    assert.equal(made.tally.memo, tallyMemoTag(pid), 'the memo is a tag of the PID, not the PID');
    assert.equal((await httpPost(`${node.http}/api/v1/redeem`, { pid })).body.error.code, 'payment_not_found');
    await submit(makeTx(alice, 'ledger.send', { to: 'shop', amount: '7.5', memo: tallyMemoTag(pid) }));
    await submit(makeTx(alice, 'ledger.send', { to: 'shop', amount: '0.25', memo: tallyMemoTag(pid) })); // dust: below 0.5
    await submit(makeTx(alice, 'ledger.send', { to: 'shop', amount: '100', memo: pid })); // the PID itself as memo: not this PID's payment
    await submit(makeTx(alice, 'ledger.send', { to: 'shop', amount: '1', memo: 'thanks' })); // no PID
    // Someone who reads the memo off the chain cannot redeem with it.
    const thief = await httpPost(`${node.http}/api/v1/redeem`, { pid: tallyMemoTag(pid) });
    assert.deepEqual([thief.status, thief.body.error.code], [404, 'payment_not_found']);
    const status = await cliOk(home, ['ticket', 'status', pid, '--api', ticketsSocket, '--json']);
    assert.deepEqual([status.credited, status.dust, status.claimed], ['7.5', '0.25', false]);
    const first = await cliOk(home, ['ticket', 'redeem', pid, '--api', ticketsSocket, '--json']);
    assert.equal(first.status, 'success');
    assert.match(first.token, /^[0-9a-f]{64}$/);
    assert.equal(first.balance, '7.5');
    const again = await httpPost(`${node.http}/api/v1/redeem`, { pid });
    assert.deepEqual([again.status, again.body.status, again.body.token], [200, 'already_claimed', first.token]);
    await submit(makeTx(alice, 'ledger.send', { to: 'shop', amount: '2', memo: tallyMemoTag(pid) })); // top-up
    const shown = await new Promise<any>((resolve, reject) => {
      const child = execFile(process.execPath, [TALLY_BIN, 'ticket', 'show', '-', '--api', ticketsSocket, '--json'], (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout))));
      child.stdin!.end(first.token + '\n'); // the token from stdin, not the command line
    });
    assert.deepEqual([shown.status, shown.balance, shown.revoked_at], ['active', '9.5', null]);
  });

  it('spend and revoke exist on the internal listener only', async () => {
    const pid = (await cliOk(home, ['ticket', 'new', '--offline', '--json'])).pid;
    await submit(makeTx(alice, 'ledger.send', { to: 'shop', amount: '3', memo: tallyMemoTag(pid) }));
    const { token } = (await httpPost(`${node.http}/api/v1/redeem`, { pid })).body;
    assert.equal((await httpPost(`${node.http}/api/v1/token/${token}/spend`, { amount: '1' })).status, 404);
    assert.equal((await socketRequest(ticketsSocket, 'POST', `/api/v1/token/${token}/revoke`, { reason: 'x' })).status, 404);
    const spent = await httpPost(`${node.internal}/api/v1/token/${token}/spend`, { amount: '2.5' });
    assert.deepEqual([spent.status, spent.body.balance, spent.body.spent], [200, '0.5', '2.5']);
    const over = await httpPost(`${node.internal}/api/v1/token/${token}/spend`, { amount: '1' });
    assert.deepEqual([over.status, over.body.error.code], [409, 'insufficient_balance']);
    const revoked = await httpPost(`${node.internal}/api/v1/token/${token}/revoke`, { reason: 'abuse' });
    assert.deepEqual([revoked.status, revoked.body.status, revoked.body.revoke_reason], [200, 'revoked', 'abuse']);
    const seen = await httpGet(`${node.http}/api/v1/token/${token}`);
    assert.equal(seen.body.status, 'revoked');
    assert.ok(seen.body.revoked_at);
    const metrics = (await httpGet(`${node.internal}/metrics`)).text;
    for (const line of [
      'tally_tickets_payments_credited_total{source="tally"} 4', 'tally_tickets_payments_dust_total{source="tally"} 1',
      'tally_tickets_payments_no_pid_total{source="tally"} 2', // "thanks", and the shop's registration grant 'tally_tickets_redeem_total{status="success"} 2', 'tally_tickets_redeem_total{status="already_claimed"} 1',
      'tally_tickets_token_checks_total{result="revoked"} 1', 'tally_tickets_watcher_lag_blocks{source="tally"} 0',
    ]) assert.ok(metrics.includes(line), `metrics have ${line}:\n${metrics.split("\n").filter((l) => l.startsWith("tickets_payments")).join("\n")}`);
  });

  it('answers bad input with its code and rate-limits per address', async () => {
    const bad = await httpPost(`${node.http}/api/v1/redeem`, { pid: 'not-a-pid' });
    assert.deepEqual([bad.status, bad.body.error.code], [400, 'invalid_pid']);
    assert.equal((await httpPost(`${node.http}/api/v1/redeem`, {})).body.error.code, 'invalid_pid');
    assert.equal((await httpPost(`${node.http}/api/v1/redeem`, '{"pid":', { raw: true })).body.error.code, 'bad_json');
    assert.equal((await httpGet(`${node.http}/api/v1/token/xyz`)).body.error.code, 'invalid_token');
    assert.equal((await httpGet(`${node.http}/api/v1/token/${'0'.repeat(64)}`)).status, 404);
    let limited: { status: number; body: any } | undefined;
    for (let i = 0; i < 45 && !limited; i++) {
      const r = await httpGet(`${node.http}/api/v1/token/${'1'.repeat(64)}`);
      if (r.status === 429) limited = r;
    }
    assert.equal(limited?.body.error.code, 'rate_limited');
  });

  it('after a restart the watcher resumes from its cursor: nothing credited twice, new payments credited', async () => {
    const pid = (await cliOk(home, ['ticket', 'new', '--offline', '--json'])).pid;
    await submit(makeTx(alice, 'ledger.send', { to: 'shop', amount: '4', memo: tallyMemoTag(pid) }));
    // Blocks without payments to the shop: the cursor moves in memory, written on stop.
    await submit(makeTx(alice, 'ledger.send', { to: shop.id, amount: '1' }));
    assert.equal(await node.stop(), 0);
    node = await startNode({ dataDir: node.dataDir, extraArgs: ['--tickets-socket', ticketsSocket] });
    await submit(makeTx(alice, 'ledger.send', { to: 'shop', amount: '1', memo: tallyMemoTag(pid) }));
    const status = (await httpGet(`${node.http}/api/v1/payment/${pid}`)).body;
    assert.equal(status.credited, '5');
    assert.equal(status.payments.length, 2);
    const metrics = (await httpGet(`${node.internal}/metrics`)).text;
    assert.ok(metrics.includes('tally_tickets_payments_credited_total{source="tally"} 1'), 'since the restart, one payment credited');
    assert.ok(metrics.includes('tally_tickets_payments_seen_total{source="tally"} 1'), 'since the restart, one payment seen: the blocks before the stop were not re-read');
  });

  it('a redeem whose answer is lost to a kill -9 is recovered after restart: same token, same balance', async () => {
    const pid = (await cliOk(home, ['ticket', 'new', '--offline', '--json'])).pid;
    await submit(makeTx(alice, 'ledger.send', { to: 'shop', amount: '3', memo: tallyMemoTag(pid) }));
    const lost = (await httpPost(`${node.http}/api/v1/redeem`, { pid })).body; // the claim is on disk; say the answer never arrived
    assert.equal(lost.status, 'success');
    await node.kill9();
    node = await startNode({ dataDir: node.dataDir, extraArgs: ['--tickets-socket', ticketsSocket] });
    assert.equal(fs.statSync(path.join(node.dataDir, 'tickets.key')).mode & 0o777, 0o600);
    const again = (await httpPost(`${node.http}/api/v1/redeem`, { pid })).body;
    assert.deepEqual([again.status, again.token, again.balance, again.source], ['already_claimed', lost.token, '3', 'tally']);
    const spent = await httpPost(`${node.internal}/api/v1/token/${lost.token}/spend`, { amount: '1' });
    assert.equal(spent.body.balance, '2');
    assert.equal((await httpPost(`${node.http}/api/v1/redeem`, { pid })).body.balance, '2', 'handing it out again resets no spending');
  });

  it('clears the /health warning once the service account is registered', async () => {
    const health = await httpGet(`${node.internal}/health`);
    assert.equal(health.body.warnings, undefined, health.text);
  });

  it('ticket new shows the price, a monero: payment URI and its QR code (the URI only under --json)', async () => {
    const address = '48x17EqCtMiBw6HAJ7gvN35PLyz5Qmc4hKJpGE6H4AcDJGaynnMUxXndoty3ZXMqPcFQBvBEUigDKannW84ZR4wHFmvMr7K';
    const made = await cliOk(home, ['ticket', 'new', '--api', node.http, '--monero-address', address, '--amount', '0.250', '--json']);
    assert.equal(made.tally.price, '5');
    assert.equal(made.tally.command, `tally send shop 5 --memo ${tallyMemoTag(made.pid)}`);
    assert.equal(made.monero.uri, `monero:${made.monero.integratedAddress}?tx_amount=0.25&tx_description=Tally%20ticket`);
    const human = await cli(home, ['ticket', 'new', '--api', node.http, '--monero-address', address, '--amount', '1']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /price 5 units/);
    assert.match(human.stdout, /monero:[1-9A-HJ-NP-Za-km-z]{106}\?tx_amount=1&tx_description=Tally%20ticket/);
    assert.ok(human.stdout.split('\n').filter((l) => /[█▀▄]/.test(l)).length > 10, `a QR code is drawn:\n${human.stdout}`);
    const noQr = await cli(home, ['ticket', 'new', '--offline', '--monero-address', address, '--no-qr']);
    assert.doesNotMatch(noQr.stdout, /[█▀▄]/);
    const bad = await cli(home, ['ticket', 'new', '--offline', '--monero-address', address, '--amount', '1.0000000000001', '--json']);
    assert.deepEqual([bad.code, bad.json?.error?.code], [1, 'amount_too_precise']);
  });

  it('operator commands: ticket spend, revoke and list (paged) on the internal listener, with coded errors', async () => {
    const op = (args: string[]) => cli(home, [...args, '--internal', node.internal, '--json']);
    const issued: string[] = [];
    for (let i = 0; i < 3; i++) {
      const pid = (await cliOk(home, ['ticket', 'new', '--offline', '--json'])).pid;
      await submit(makeTx(alice, 'ledger.send', { to: 'shop', amount: '2', memo: tallyMemoTag(pid) }));
      issued.push((await httpPost(`${node.http}/api/v1/redeem`, { pid })).body.token);
    }
    const spent = await op(['ticket', 'spend', issued[0]!, '0.5']);
    assert.deepEqual([spent.code, spent.json.balance, spent.json.spent], [0, '1.5', '0.5']);
    const over = await op(['ticket', 'spend', issued[0]!, '9']);
    assert.deepEqual([over.code, over.json.error.code, over.json.error.details.balance], [1, 'insufficient_balance', '1.5']);
    const revoked = await op(['ticket', 'revoke', issued[1]!, '--reason', 'chargeback']);
    assert.deepEqual([revoked.code, revoked.json.status, revoked.json.revoke_reason], [0, 'revoked', 'chargeback']);
    assert.equal((await op(['ticket', 'spend', issued[1]!, '0.1'])).json.error.code, 'token_revoked');
    assert.equal((await op(['ticket', 'spend', 'nope', '1'])).json.error.code, 'invalid_token');
    assert.equal((await op(['ticket', 'revoke', issued[2]!])).code, 2, '--reason is required: a usage error');
    // The public listener does not serve them.
    const pub = await cli(home, ['ticket', 'spend', issued[2]!, '1', '--internal', node.http, '--json']);
    assert.equal(pub.json.error.code, 'not_found');

    // Pages of two, newest first, each token once; the hash is SHA-256 of the token.
    const all = (await op(['ticket', 'list', '--all', '--limit', '2'])).json;
    assert.equal(all.next_cursor, null);
    const sha = (t: string) => crypto.createHash('sha256').update(Buffer.from(t, 'hex')).digest('hex');
    const hashes = all.tokens.map((t: any) => t.hash);
    assert.equal(new Set(hashes).size, hashes.length);
    for (const t of issued) assert.ok(hashes.includes(sha(t)));
    assert.ok(!JSON.stringify(all).includes(issued[0]!), 'no token is listed, only hashes');
    const first = (await op(['ticket', 'list', '--limit', '2'])).json;
    assert.equal(first.tokens.length, 2);
    assert.deepEqual(first.tokens.map((t: any) => t.hash), hashes.slice(0, 2));
    const second = (await op(['ticket', 'list', '--limit', '2', '--cursor', first.next_cursor])).json;
    assert.deepEqual(second.tokens.map((t: any) => t.hash), hashes.slice(2, 4));
    const onlyRevoked = (await op(['ticket', 'list', '--status', 'revoked'])).json.tokens;
    assert.ok(onlyRevoked.every((t: any) => t.status === 'revoked'));
    assert.equal(onlyRevoked.find((t: any) => t.hash === sha(issued[1]!))?.revoke_reason, 'chargeback');
    assert.equal(onlyRevoked.length, all.tokens.filter((t: any) => t.status === 'revoked').length);
    assert.equal((await op(['ticket', 'list', '--cursor', 'junk'])).json.error.code, 'bad_cursor');
    // Revoking by the hash the list shows: the operator never needs the token itself.
    const byHash = await op(['ticket', 'revoke', '--hash', sha(issued[2]!), '--reason', 'seen in the list']);
    assert.deepEqual([byHash.code, byHash.json.status, byHash.json.revoke_reason], [0, 'revoked', 'seen in the list']);
    assert.equal((await httpGet(`${node.http}/api/v1/token/${issued[2]}`)).body.status, 'revoked');
    assert.equal((await op(['ticket', 'revoke', '--hash', 'abc', '--reason', 'x'])).json.error.code, 'invalid_token_hash');
    assert.equal((await op(['ticket', 'revoke', '--hash', 'f'.repeat(64), '--reason', 'x'])).json.error.code, 'token_not_found');
    assert.equal((await op(['ticket', 'revoke', issued[0]!, '--hash', sha(issued[0]!), '--reason', 'x'])).json.error.code, 'bad_args');
    assert.equal((await httpPost(`${node.http}/api/v1/tokens/${sha(issued[0]!)}/revoke`, { reason: 'x' })).status, 404, 'not on the public listener');
    assert.equal((await op(['ticket', 'list', '--limit', '0'])).code, 2, 'a bad --limit is a usage error');
    const human = await cli(home, ['ticket', 'list', '--limit', '1', '--internal', node.internal]);
    assert.match(human.stdout, /more: tally ticket list --cursor \d+\.[0-9a-f]{64}/);
  });

  it('refuses a bad config file with config_invalid and starts nothing', async () => {
    const dir = tempDir();
    const cfg = path.join(dir, 'bad.json');
    fs.writeFileSync(cfg, JSON.stringify({ tickets: { tally: { account: 'shop', minAmount: 'lots' } } }));
    const r = await cli(path.join(dir, 'home'), ['node', '--dev', '--data', path.join(dir, 'data'), '--config', cfg, '--http', 'off', '--internal', 'off', '--json']);
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).error.code, 'config_invalid');
    assert.match(JSON.parse(r.stdout).error.message, /tickets.tally.minAmount/);
    assert.equal(fs.existsSync(path.join(dir, 'data')), false, 'nothing was created');
    fs.writeFileSync(cfg, '{"tikets": {}}');
    const r2 = await cli(path.join(dir, 'home'), ['node', '--dev', '--data', path.join(dir, 'data'), '--config', cfg, '--http', 'off', '--internal', 'off', '--json']);
    assert.match(JSON.parse(r2.stdout).error.message, /unknown section "tikets"/);
  });
});
