// State proofs end to end against a real node process: the HTTP routes answer bundles that
// check out with nothing but the node key (src/core/state-bundle.ts); `tally account proof`
// saves one, `tally state verify` checks it offline, and any changed byte fails it with a
// reason and exit code 1. Then the routes' refusals: unknown and pruned heights, bad keys.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { verifySignature } from '../src/core/keys.js';
import { verifyStateBundle, type AccountBundle, type KeyBundle } from '../src/core/state-bundle.js';
import { TallyNode, initDataDir } from '../src/chain/node.js';
import { defaultGenesis } from '../src/chain/genesis.js';
import { buildPublicHttp } from '../src/api/http.js';
import { allModules, chainModules } from '../src/modules/index.js';
import { methods as nodeMethods } from '../src/api/methods.js';
import { cleanup, ROOT, cli, cliOk, getOk, httpGet, httpPost, makeTx, newAccount, startNode, tempDir, toMinor, type NodeProcess, registerNamed } from './helpers.js';

describe('state proofs through a real node', { timeout: 120_000 }, () => {
  let node: NodeProcess;
  let home: string;
  let dir: string;
  const alice = newAccount();
  const bob = newAccount();

  before(async () => {
    node = await startNode();
    home = tempDir('tally-home-');
    dir = tempDir();
    await registerNamed(node.http, [[alice, 'alice'], [bob, 'bob']]);
    const sent = await httpPost(`${node.http}/v1/txs`, makeTx(alice, 'ledger.send', { to: 'bob', amount: '1.5' }));
    assert.equal(sent.body.status, 'ok', JSON.stringify(sent.body));
  });
  after(async () => {
    await cleanup();
  }, { timeout: 30_000 });

  it('GET /v1/accounts/:name/proof and /v1/state/proof answer bundles that verify with the node key alone', async () => {
    const info = await getOk(`${node.http}/v1/node`);
    const b = (await getOk(`${node.http}/v1/accounts/bob/proof`)) as AccountBundle;
    assert.equal(b.height, info.height);
    const r = verifyStateBundle(b, node.nodeKey, verifySignature);
    assert.ok(r.ok, JSON.stringify(r));
    const balance = await getOk(`${node.http}/v1/accounts/bob/balance`);
    assert.equal(r.proven.account!.name, 'bob');
    assert.equal(r.proven.account!.id, bob.id);
    assert.equal(BigInt(r.proven.account!.balance), toMinor(balance.total), 'the proven balance is the one the node reports');

    const byId = (await getOk(`${node.http}/v1/accounts/${alice.id}/proof`)) as AccountBundle;
    assert.ok(verifyStateBundle(byId, node.nodeKey, verifySignature).ok);
    assert.deepEqual(byId.account, { name: 'alice', id: alice.id });

    const nobody = (await getOk(`${node.http}/v1/accounts/nobody/proof`)) as AccountBundle;
    const n = verifyStateBundle(nobody, node.nodeKey, verifySignature);
    assert.ok(n.ok && n.proven.account === null, 'an unknown name is proven absent');

    const key = (await getOk(`${node.http}/v1/state/proof?key=${encodeURIComponent(`auth/${alice.id}`)}`)) as KeyBundle;
    assert.ok(verifyStateBundle(key, node.nodeKey, verifySignature).ok);
    assert.equal((key.value as { nonce: number }).nonce, 2);
    const absent = (await getOk(`${node.http}/v1/state/proof?key=no/such/key`)) as KeyBundle;
    assert.ok(verifyStateBundle(absent, node.nodeKey, verifySignature).ok);
    assert.equal(absent.proof.value, null);

    // An older height: the header and proofs of then (bob registered at height 2, before the send).
    const old = (await getOk(`${node.http}/v1/accounts/bob/proof?height=${info.height - 1}`)) as AccountBundle;
    const o = verifyStateBundle(old, node.nodeKey, verifySignature);
    assert.ok(o.ok, JSON.stringify(o));
    assert.equal(o.proven.height, info.height - 1);
    assert.ok(BigInt(o.proven.account!.balance) < BigInt(r.proven.account!.balance), 'before the send bob had less');
  });

  it('tally account proof saves a bundle; tally state verify checks it offline; one changed byte fails with exit 1', async () => {
    const file = path.join(dir, 'bob.json');
    const online = await cliOk(home, ['account', 'proof', 'bob', '--node', node.http, '--node-key', node.nodeKey, '--out', file, '--json']);
    assert.equal(online.valid, true);
    assert.equal(online.account.name, 'bob');

    const offline = await cli(home, ['state', 'verify', '--bundle', file, '--node-key', node.nodeKey, '--account', 'bob', '--decimals', '6']);
    assert.equal(offline.code, 0, offline.stderr);
    assert.match(offline.stdout, /VALID/);
    assert.match(offline.stdout, /balance\s+1001\.5/);
    const json = await cliOk(home, ['state', 'verify', '--bundle', file, '--node-key', node.nodeKey, '--json']);
    assert.equal(json.account.balance, online.account.balance);

    const text = fs.readFileSync(file, 'utf8');
    const tampered: Array<[string, string]> = [
      ['the balance', text.replace(/(\\"balance\\":\\"1001)(\d)/, (_m, a: string, d: string) => a + String((Number(d) + 1) % 10))],
      ['a sibling', text.replace(/("siblings": \[\s*")([0-9a-f])/, (_m, a: string, d: string) => a + (d === '0' ? '1' : '0'))],
      ['the signature', text.replace(/("sig": ")(.)/, (_m, a: string, c: string) => a + (c === 'A' ? 'B' : 'A'))],
      ['the stateRoot', text.replace(/("stateRoot": ")([0-9a-f])/, (_m, a: string, d: string) => a + (d === '0' ? '1' : '0'))],
    ];
    for (const [what, changed] of tampered) {
      assert.notEqual(changed, text, `the test changed ${what}`);
      const f = path.join(dir, `tampered-${what.replace(/\W/g, '')}.json`);
      fs.writeFileSync(f, changed);
      const r = await cli(home, ['state', 'verify', '--bundle', f, '--node-key', node.nodeKey]);
      assert.equal(r.code, 1, `${what}: exit 1\n${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /does not verify: .+ \(proof_invalid\)/, what);
    }
    const wrongKey = await cli(home, ['state', 'verify', '--bundle', file, '--node-key', newAccount().signer.pub]);
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stderr, /not made by the node key you trust/);
    const otherAccount = await cli(home, ['state', 'verify', '--bundle', file, '--node-key', node.nodeKey, '--account', 'alice']);
    assert.equal(otherAccount.code, 1);
    assert.match(otherAccount.stderr, /not alice/);
  });

  it('tally state proof over the socket proves a key; refusals have their codes', async () => {
    const r = await cliOk(home, ['state', 'proof', `ledger/name/alice`, '--node', node.socket, '--json']);
    assert.equal(r.valid, true);
    assert.equal(r.entries[0].value, JSON.stringify(alice.id));

    const unknown = await httpGet(`${node.http}/v1/state/proof?key=a&height=999999`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'height_unknown');
    const badKey = await httpGet(`${node.http}/v1/state/proof?key=${encodeURIComponent('has space')}`);
    assert.equal(badKey.status, 400);
    assert.equal(badKey.body.error.code, 'bad_state_key');
    const long = await httpGet(`${node.http}/v1/state/proof?key=${'k'.repeat(257)}`);
    assert.equal(long.status, 400);
    const noKey = await httpGet(`${node.http}/v1/state/proof`);
    assert.equal(noKey.status, 400);
    const badName = await httpGet(`${node.http}/v1/accounts/Not%20A%20Name/proof`);
    assert.equal(badName.status, 400);
    assert.equal(badName.body.error.code, 'name_invalid');
    const cliUnknown = await cli(home, ['account', 'proof', 'bob', '--node', node.http, '--height', '999999']);
    assert.equal(cliUnknown.code, 1);
    assert.match(cliUnknown.stderr, /height_unknown/);
  });
});

describe('state proofs at pruned heights (in process)', () => {
  it('a height the tree no longer keeps is 410 height_pruned; the kept ones prove', async () => {
    const dir = tempDir();
    initDataDir(dir, defaultGenesis(chainModules, { chain: 'tally-dev', decimals: 6, dev: true }), allModules);
    const local = TallyNode.open({ dataDir: dir, modules: allModules, synchronous: 'NORMAL', blockDelayMsMax: 5, verifierThreads: 1, stateTreeKeepVersions: 1 });
    const app = await buildPublicHttp(local);
    try {
      for (const name of ['ann', 'ben', 'cat']) {
        const [r] = await local.submit([makeTx(newAccount(), 'ledger.register', { name })]);
        assert.equal((r as { status?: string }).status, 'ok', JSON.stringify(r));
      }
      const tip = local.tip.height;
      assert.ok(tip >= 3);
      const pruned = await app.inject({ method: 'GET', url: '/v1/accounts/ann/proof?height=1' });
      assert.equal(pruned.statusCode, 410, pruned.body);
      assert.equal(JSON.parse(pruned.body).error.code, 'height_pruned');
      for (const h of [tip - 1, tip]) {
        const res = await app.inject({ method: 'GET', url: `/v1/state/proof?key=ledger/name/cat&height=${h}` });
        assert.equal(res.statusCode, 200, res.body);
        assert.ok(verifyStateBundle(JSON.parse(res.body), local.signer.pub, verifySignature).ok, `height ${h}`);
      }
    } finally {
      await app.close();
      await local.close();
    }
  });
});

describe('state proofs on a chain upgraded from version 1 headers (in process)', () => {
  it('the last version 1 block and those before it are height_unknown; the first version 2 block proves', async () => {
    const dir = path.join(tempDir(), 'data');
    fs.cpSync(path.join(ROOT, 'test', 'fixtures', 'v1-datadir'), dir, { recursive: true });
    for (const f of ['db.key', 'node.key', 'signed.wm']) fs.chmodSync(path.join(dir, f), 0o600);
    const local = TallyNode.open({ dataDir: dir, modules: allModules, synchronous: 'NORMAL', blockDelayMsMax: 5, verifierThreads: 1 });
    try {
      const t = local.tip.height;
      for (const h of [t, t - 1]) {
        assert.throws(() => nodeMethods['state.proof']!(local, { key: 'ledger/name/user0', height: String(h) }),
          (err: { code?: string }) => err.code === 'height_unknown', `height ${h}`);
      }
      const [r] = await local.submit([makeTx(newAccount(), 'ledger.register', { name: 'later' })]);
      assert.equal((r as { status?: string }).status, 'ok', JSON.stringify(r));
      const bundle = nodeMethods['account.proof']!(local, { name: 'user0' }) as AccountBundle;
      assert.equal(bundle.height, t + 1);
      const v = verifyStateBundle(bundle, local.signer.pub, verifySignature);
      assert.ok(v.ok && v.proven.account?.name === 'user0', JSON.stringify(v));
    } finally {
      await local.close();
    }
  });
});
