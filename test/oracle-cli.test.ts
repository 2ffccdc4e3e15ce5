// The oracle end to end against a real node process: an operator creates a BIP340 key,
// registers it, announces an event and attests it with the CLI; the attestation is read
// back over HTTP; the reference price feed announces and attests from a file source, a
// price beyond the digits' range landing at the bound.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { toHex } from '../src/core/encoding.js';
import { outcomeMessage, signWithNonce } from '../src/modules/oracle/bip340.js';
import { loadEventSecrets, unlockOracleKey } from '../src/modules/oracle/keyfile.js';
import { cleanup, cli, cliOk, getOk, httpGet, PASSPHRASE, sleep, startNode, tempDir, withTimeout, type NodeProcess } from './helpers.js';

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
    const ws = new WebSocket(`${node.http.replace(/^http/, 'ws')}/v1/ws?topic=oracle.attestations&oracle=${pubkey}`);
    const messages: any[] = [];
    ws.on('message', (m) => messages.push(JSON.parse(m.toString())));
    await withTimeout(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), 10_000, 'WebSocket open');
    let out: any;
    try {
      out = await cliOk(home, ['oracle', 'feed', '--oracle-key', 'prices', '--source', source, '--every', '2', '--count', '1', '--digits', '4', '--prefix', 'feed',
        '--key', 'alice', ...at()], 60_000);
      const deadline = Date.now() + 10_000;
      while (messages.length === 0) {
        assert.ok(Date.now() < deadline, 'no oracle.attestations message within 10 s');
        await sleep(20);
      }
    } finally {
      ws.close();
    }
    assert.equal(messages[0].type, 'oracle');
    assert.deepEqual(messages[0].events.map((e: any) => [e.type, e.eventId, e.outcome, e.atBound]), [['oracle.attested', out.attested[0].eventId, '9999', true]]);
    assert.equal(out.attested.length, 1);
    const [{ eventId, outcome }] = out.attested;
    assert.equal(outcome, '9999');
    const ev = await getOk(`${node.http}/v1/oracles/${pubkey}/events/${eventId}`);
    assert.deepEqual([ev.attestation.outcome, ev.attestation.atBound, ev.digits], ['9999', true, 4]);
  });

  it('turns a nonce signed twice into evidence that freezes the oracle', async () => {
    // The operator's secrets, as a leaked or careless signer would have them: sign another
    // outcome for digit 4 of btc-1 with the nonce the chain already has a signature for.
    process.env.TALLY_SCRYPT_N = '1024';
    const { secret } = unlockOracleKey(home, 'prices', PASSPHRASE);
    const k = Buffer.from(loadEventSecrets(home, 'prices', secret, pubkey, 'btc-1').nonces[4]!, 'hex');
    const onChain = await getOk(`${node.http}/v1/oracles/${pubkey}/events/btc-1`);
    const first = `${onChain.attestation.outcomes[4]}:${onChain.attestation.sigs[4]}`;
    const second = `3:${toHex(signWithNonce(outcomeMessage('sha256-plain', '3'), secret, k))}`;
    const bad = await cli(home, ['oracle', 'evidence', pubkey, first, first, '--key', 'alice', ...at()]);
    assert.match(bad.stdout + bad.stderr, /bad_evidence/);
    const ev = await cliOk(home, ['oracle', 'evidence', pubkey, first, second, '--key', 'alice', ...at()]);
    assert.equal(ev.receipt.events[0].type, 'oracle.frozen');
    const o = await getOk(`${node.http}/v1/oracles/${pubkey}`);
    assert.deepEqual([o.status, o.frozen.height], ['frozen', ev.receipt.height]);
    const announce = await cli(home, ['oracle', 'announce', '--oracle-key', 'prices', '--event', 'btc-9', '--maturity', '+5', '--key', 'alice', ...at()]);
    assert.match(announce.stdout + announce.stderr, /oracle_frozen/);
  });
});
