// Snapshots end to end: `tally state export` from a running node's directory, checked
// anywhere with `tally state verify-snapshot` (a changed or dropped entry fails, exit 1),
// then `tally init --from-snapshot` starts a new directory at that height, which refuses a
// tampered snapshot before creating anything, and whose node proves the same balances and
// keeps making blocks on top of the snapshot's header.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { verifySignature } from '../src/core/keys.js';
import { verifyStateBundle, type AccountBundle } from '../src/core/state-bundle.js';
import { cleanup, cli, cliOk, getOk, httpGet, httpPost, makeTx, newAccount, startNode, tempDir, type NodeProcess } from './helpers.js';

describe('state snapshots through real node processes', { timeout: 180_000 }, () => {
  let node: NodeProcess;
  let home: string;
  let dir: string;
  let file: string;
  let exported: { height: number; entries: number; stateRoot: string };
  const alice = newAccount();
  const bob = newAccount();

  before(async () => {
    node = await startNode();
    home = tempDir('tally-home-');
    dir = tempDir();
    file = path.join(dir, 'state.jsonl');
    for (const [acct, name] of [[alice, 'alice'], [bob, 'bob']] as const) {
      const r = await httpPost(`${node.http}/v1/txs`, makeTx(acct, 'ledger.register', { name }));
      assert.equal(r.body.status, 'ok', JSON.stringify(r.body));
    }
    const sent = await httpPost(`${node.http}/v1/txs`, makeTx(alice, 'ledger.send', { to: 'bob', amount: '2' }));
    assert.equal(sent.body.status, 'ok', JSON.stringify(sent.body));
  });
  after(async () => {
    await cleanup();
  }, { timeout: 30_000 });

  it('exports from a running node and verifies anywhere; a changed or dropped entry fails with exit 1', async () => {
    exported = await cliOk(home, ['state', 'export', '--data', node.dataDir, '--out', file, '--json']);
    const info = await getOk(`${node.http}/v1/node`);
    assert.equal(exported.height, info.height);
    const block = await getOk(`${node.http}/v1/blocks/${info.height}`);
    assert.equal(exported.stateRoot, block.header.stateRoot);
    const ok = await cliOk(home, ['state', 'verify-snapshot', file, '--node-key', node.nodeKey, '--json']);
    assert.equal(ok.valid, true);
    assert.equal(ok.entries, exported.entries);

    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const bobLine = lines.findIndex((l) => l.startsWith(`["ledger/acct/${bob.id}"`));
    assert.ok(bobLine > 0);
    const bad: Array<[string, string[]]> = [
      ['a changed balance', lines.map((l, i) => (i === bobLine ? l.replace(/\\"balance\\":\\"(\d)/, (_m, d: string) => `\\"balance\\":\\"${(Number(d) + 1) % 10}`) : l))],
      ['a dropped entry', lines.filter((_l, i) => i !== bobLine)],
    ];
    for (const [what, changed] of bad) {
      assert.notDeepEqual(changed, lines, what);
      const f = path.join(dir, `${what.replace(/\W/g, '')}.jsonl`);
      fs.writeFileSync(f, changed.join('\n'));
      const r = await cli(home, ['state', 'verify-snapshot', f, '--node-key', node.nodeKey]);
      assert.equal(r.code, 1, `${what}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /snapshot does not verify: .+ \(snapshot_invalid\)/, what);
    }
    const wrongKey = await cli(home, ['state', 'verify-snapshot', file, '--node-key', newAccount().signer.pub]);
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stderr, /not made by the node key you trust/);
  });

  it('init --from-snapshot refuses a tampered snapshot before creating anything, and starts a node at the height', async () => {
    assert.equal(await node.stop(), 0);
    const keyFile = path.join(node.dataDir, 'node.key');
    const tampered = path.join(dir, 'achangedbalance.jsonl');
    const refusedDir = path.join(dir, 'refused');
    const refused = await cli(home, ['init', '--from-snapshot', tampered, '--node-key-file', keyFile, '--data', refusedDir]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /snapshot_invalid/);
    assert.equal(fs.existsSync(refusedDir), false, 'nothing was created');

    const newDir = path.join(dir, 'from-snapshot');
    const init = await cliOk(home, ['init', '--from-snapshot', file, '--node-key-file', keyFile, '--node-key', node.nodeKey, '--data', newDir, '--json']);
    assert.equal(init.height, exported.height);
    assert.equal(init.stateRoot, exported.stateRoot);

    const next = await startNode({ dataDir: newDir, home: node.home });
    assert.equal(next.listening.height, exported.height);
    assert.equal(next.nodeKey, node.nodeKey);
    const before = (await getOk(`${next.http}/v1/accounts/bob/proof`)) as AccountBundle;
    const b = verifyStateBundle(before, node.nodeKey, verifySignature);
    assert.ok(b.ok, JSON.stringify(b));
    assert.equal(b.proven.account!.balance, '1002000000');
    // The chain goes on: bob's next nonce is the one the snapshot holds, the block links to its header.
    const sent = await httpPost(`${next.http}/v1/txs`, makeTx(bob, 'ledger.send', { to: 'alice', amount: '1' }));
    assert.equal(sent.body.status, 'ok', JSON.stringify(sent.body));
    const top = await getOk(`${next.http}/v1/blocks/${exported.height + 1}`);
    assert.equal(top.header.prevHash, before.block.hash);
    const after = (await getOk(`${next.http}/v1/accounts/bob/proof`)) as AccountBundle;
    const a = verifyStateBundle(after, node.nodeKey, verifySignature);
    assert.ok(a.ok, JSON.stringify(a));
    assert.equal(a.proven.account!.balance, '1001000000');
    assert.equal((await httpGet(`${next.http}/v1/blocks/1`)).status, 404, 'blocks below the snapshot are absent');
    assert.equal(await next.stop(), 0);
  });
});
