// The oracle end to end against a real node process: an operator creates a BIP340 key,
// registers it, announces an event and attests it with the CLI; the attestation is read
// back over HTTP; the reference price feed announces and attests from a file source, a
// price beyond the digits' range landing at the bound.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { cleanup, cli, cliOk, getOk, httpGet, sleep, startNode, tempDir, type NodeProcess } from './helpers.js';

describe('oracle CLI on a running node', { timeout: 120_000 }, () => {
  let node: NodeProcess;
  let home: string;
  let pubkey: string;
  const at = () => ['--node', node.socket, '--json'];

  before(async () => {
    node = await startNode();
    home = tempDir();
    await cliOk(home, ['keys', 'new', 'alice', '--json']);
    await cliOk(home, ['register', 'alice', '--key', 'alice', ...at()]);
  });
  after(async () => {
    await node?.stop();
    await cleanup();
  });

  it('creates a key, registers it, announces and attests an event', async () => {
    const key = await cliOk(home, ['oracle', 'keys', 'new', 'prices', '--json']);
    pubkey = key.pubkey;
    assert.match(pubkey, /^[0-9a-f]{64}$/);
    assert.equal(fs.statSync(key.path).mode & 0o777, 0o600);
    assert.equal((await cliOk(home, ['oracle', 'keys', 'show', 'prices', '--json'])).pubkey, pubkey);

    const reg = await cliOk(home, ['oracle', 'register', '--oracle-key', 'prices', '--name', 'Test prices', '--profile', 'sha256-plain', '--key', 'alice', ...at()]);
    assert.equal(reg.receipt.status, 'ok');
    const ann = await cliOk(home, ['oracle', 'announce', '--oracle-key', 'prices', '--event', 'btc-1', '--maturity', '+5', '--digits', '5', '--precision', '-2', '--unit', 'USD', '--key', 'alice', ...at()]);
    assert.equal(ann.nonces.length, 5);
    // The nonces' secrets are stored encrypted, owner-only.
    const eventFile = path.join(home, 'oracle', 'prices.events', 'btc-1.json');
    assert.equal(fs.statSync(eventFile).mode & 0o777, 0o600);
    assert.ok(!fs.readFileSync(eventFile, 'utf8').includes(ann.nonces[0]), 'no nonce in clear (not even its public R)');

    // Before maturity nothing is signed, so a later attestation may carry another value.
    const early = await cli(home, ['oracle', 'attest', 'btc-1', '100', '--oracle-key', 'prices', '--key', 'alice', ...at()]);
    assert.notEqual(early.code, 0);
    assert.match(early.stdout + early.stderr, /event_not_mature/);
    const wait = ann.maturity * 1000 - Date.now() + 300;
    if (wait > 0) await sleep(wait);
    const att = await cliOk(home, ['oracle', 'attest', 'btc-1', '123.456', '--oracle-key', 'prices', '--key', 'alice', ...at()]);
    assert.deepEqual(att.outcomes, ['1', '2', '3', '4', '6'], '123.456 USD at precision -2 rounds to 12346');
    assert.equal(att.outcome, '12346');

    // Read back over HTTP.
    const ev = await getOk(`${node.http}/v1/oracles/${pubkey}/events/btc-1`);
    assert.equal(ev.status, 'attested');
    assert.deepEqual([ev.attestation.outcome, ev.attestation.atBound], ['12346', false]);
    assert.equal((await getOk(`${node.http}/v1/oracles/${pubkey}`)).profile, 'sha256-plain');
    assert.equal((await getOk(`${node.http}/v1/oracles`)).items.length, 1);
    assert.equal((await getOk(`${node.http}/v1/oracles/${pubkey}/events`)).items[0].eventId, 'btc-1');
    assert.equal((await httpGet(`${node.http}/v1/oracles/${pubkey}/events/nope`)).body.error.code, 'unknown_event');
    assert.equal((await httpGet(`${node.http}/v1/oracles/${'1'.repeat(64)}`)).body.error.code, 'unknown_oracle');

    // Attesting again reports the attestation on chain; nothing new is signed.
    const again = await cliOk(home, ['oracle', 'attest', 'btc-1', '999', '--oracle-key', 'prices', '--key', 'alice', ...at()]);
    assert.deepEqual([again.already, again.outcome], [true, '12346']);
  });

  it('runs the reference feed from a file: a price beyond the range is attested at the bound', async () => {
    const source = path.join(home, 'price.txt');
    fs.writeFileSync(source, '{"price": "1234567.89"}\n');
    const out = await cliOk(home, ['oracle', 'feed', '--oracle-key', 'prices', '--source', source, '--every', '2', '--count', '1', '--digits', '4', '--prefix', 'feed',
      '--key', 'alice', ...at()], 60_000);
    assert.equal(out.attested.length, 1);
    const [{ eventId, outcome }] = out.attested;
    assert.equal(outcome, '9999');
    const ev = await getOk(`${node.http}/v1/oracles/${pubkey}/events/${eventId}`);
    assert.deepEqual([ev.attestation.outcome, ev.attestation.atBound, ev.digits], ['9999', true, 4]);
  });
});
