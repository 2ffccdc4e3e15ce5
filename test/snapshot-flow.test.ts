// Snapshots end to end: `tally state export` from a running node's directory, checked
// anywhere with `tally state verify-snapshot` (a changed or dropped entry fails, exit 1),
// then `tally init --from-snapshot` starts a new directory at that height, which refuses a
// tampered snapshot before creating anything, and whose node proves the same balances and
// keeps making blocks on top of the snapshot's header. `tally chain verify` on that directory
// starts at the snapshot (its signed header, the state at H against its stateRoot), replays
// the blocks after it, says that history before H was not verified, and finds a tampered
// block after H or a tampered state at H.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { verifySignature } from '../src/core/keys.js';
import { verifyStateBundle, type AccountBundle } from '../src/core/state-bundle.js';
import { cleanup, cli, cliOk, getOk, httpGet, httpPost, makeTx, newAccount, startNode, tempDir, type NodeProcess, registerNamed } from './helpers.js';
import type Database from 'better-sqlite3-multiple-ciphers';
import { openEncrypted } from './db.js';

describe('state snapshots through real node processes', { timeout: 180_000 }, () => {
  let node: NodeProcess;
  let home: string;
  let dir: string;
  let file: string;
  let exported: { height: number; entries: number; stateRoot: string };
  let newDir: string;
  let snapshotHash: string;
  const alice = newAccount();
  const bob = newAccount();

  before(async () => {
    node = await startNode();
    home = tempDir('tally-home-');
    dir = tempDir();
    file = path.join(dir, 'state.jsonl');
    await registerNamed(node.http, [[alice, 'alice'], [bob, 'bob']]);
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

    newDir = path.join(dir, 'from-snapshot');
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
    snapshotHash = before.block.hash;
    const after = (await getOk(`${next.http}/v1/accounts/bob/proof`)) as AccountBundle;
    const a = verifyStateBundle(after, node.nodeKey, verifySignature);
    assert.ok(a.ok, JSON.stringify(a));
    assert.equal(a.proven.account!.balance, '1001000000');
    assert.equal((await httpGet(`${next.http}/v1/blocks/1`)).status, 404, 'blocks below the snapshot are absent');
    assert.equal(await next.stop(), 0);
  });

  it('chain verify on a directory started from a snapshot: starts at H, replays after it, finds a tampered block', async () => {
    // A few more blocks on top of the snapshot (one per awaited submission).
    const next = await startNode({ dataDir: newDir, home: node.home });
    for (const [from, to, amount] of [[alice, 'bob', '3'], [bob, 'alice', '0.5'], [alice, 'bob', '0.25']] as const) {
      const r = await httpPost(`${next.http}/v1/txs`, makeTx(from, 'ledger.send', { to, amount }));
      assert.equal(r.body.status, 'ok', JSON.stringify(r.body));
    }
    const tip = (await getOk(`${next.http}/v1/node`)).height as number;
    assert.equal(tip, exported.height + 4);
    assert.equal(await next.stop(), 0);
    const H = exported.height;

    const ok = await cli(home, ['chain', 'verify', '--data', newDir, '--json'], 60_000);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(ok.json.ok, true, JSON.stringify(ok.json.issues));
    assert.equal(ok.json.height, tip);
    assert.deepEqual(ok.json.snapshot?.height, H, JSON.stringify(ok.json));
    assert.equal(ok.json.snapshot.hash, snapshotHash);
    assert.match(ok.json.snapshot.note, new RegExp(`history before height ${H} was not verified`));
    assert.equal(ok.json.txs, 4, 'the transactions of blocks H+1 to the tip, one each');
    assert.equal(ok.json.blocks, tip - H + 2, 'block 0, then H to the tip');
    const human = await cli(home, ['chain', 'verify', '--data', newDir], 60_000);
    assert.equal(human.code, 0, human.stdout + human.stderr);
    assert.match(human.stdout, new RegExp(`started from a snapshot at height ${H} \\(block ${snapshotHash}\\)`));
    assert.match(human.stdout, /history before height \d+ was not verified/);
    assert.match(human.stdout, /OK: /);

    // A stored block after the snapshot, changed: its hash and the next block's link break.
    const copyDir = (name: string): string => {
      const dest = path.join(dir, name);
      fs.cpSync(newDir, dest, { recursive: true, filter: (src) => !src.endsWith('.sock') && !src.endsWith('.lock') });
      for (const secret of ['db.key', 'node.key']) fs.chmodSync(path.join(dest, secret), 0o600);
      return dest;
    };
    const tampered = copyDir('tampered-block');
    const db = openEncrypted(tampered);
    try {
      const row = db.prepare<[number], { header: string }>('SELECT header FROM blocks WHERE height = ?').get(H + 2)!;
      const header = JSON.parse(row.header) as { time: number };
      header.time += 1;
      assert.equal(db.prepare('UPDATE blocks SET header = ? WHERE height = ?').run(JSON.stringify(header), H + 2).changes, 1);
    } finally {
      db.close();
    }
    const bad = await cli(home, ['chain', 'verify', '--data', tampered, '--json'], 60_000);
    assert.equal(bad.code, 3, bad.stdout + bad.stderr);
    assert.equal(bad.json.ok, false);
    assert.equal(bad.json.firstDivergence, H + 2);
    const kinds = bad.json.issues.map((i: { kind: string; height: number }) => `${i.kind}@${i.height}`);
    assert.ok(kinds.includes(`block_hash_mismatch@${H + 2}`), kinds.join(', '));
    assert.ok(kinds.includes(`bad_block_signature@${H + 2}`), kinds.join(', '));
    assert.equal(bad.json.snapshot.height, H, 'a failed report still says where it started');
  });

  it('chain verify on a directory started from a snapshot: a changed kept state, a changed snapshot block, no kept state', async () => {
    const H = exported.height;
    const tamper = (name: string, edit: (db: Database.Database) => void): string => {
      const dest = path.join(dir, name);
      fs.cpSync(newDir, dest, { recursive: true, filter: (src) => !src.endsWith('.sock') && !src.endsWith('.lock') });
      for (const secret of ['db.key', 'node.key']) fs.chmodSync(path.join(dest, secret), 0o600);
      const db = openEncrypted(dest);
      try {
        edit(db);
      } finally {
        db.close();
      }
      return dest;
    };
    const verify = async (d: string) => {
      const r = await cli(home, ['chain', 'verify', '--data', d, '--json'], 60_000);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.equal(r.json.ok, false);
      return r.json as { firstDivergence: number; issues: Array<{ kind: string; height: number; message: string }> };
    };

    // The state kept at H, changed (bob richer): its tree no longer has block H's stateRoot.
    const key = `ledger/acct/${bob.id}`;
    const richer = await verify(tamper('tampered-base', (db) => {
      const row = db.prepare<[string], { v: string }>('SELECT v FROM snapshot_base WHERE k = ?').get(key)!;
      const v = JSON.parse(row.v) as { balance: string };
      v.balance = (BigInt(v.balance) + 1_000_000n).toString();
      assert.equal(db.prepare('UPDATE snapshot_base SET v = ? WHERE k = ?').run(JSON.stringify(v), key).changes, 1);
    }));
    assert.equal(richer.firstDivergence, H);
    assert.equal(richer.issues[0]!.kind, 'state_root_mismatch', JSON.stringify(richer.issues));
    assert.match(richer.issues[0]!.message, /state this directory kept from the snapshot/);

    // The snapshot's block itself, changed: its hash and signature fail, and block H+1 no longer links to it.
    const moved = await verify(tamper('tampered-snapshot-block', (db) => {
      const row = db.prepare<[number], { header: string }>('SELECT header FROM blocks WHERE height = ?').get(H)!;
      const header = JSON.parse(row.header) as { stateRoot: string };
      header.stateRoot = '00'.repeat(32);
      db.prepare('UPDATE blocks SET header = ? WHERE height = ?').run(JSON.stringify(header), H);
    }));
    const kinds = moved.issues.map((i) => `${i.kind}@${i.height}`);
    for (const k of [`block_hash_mismatch@${H}`, `bad_block_signature@${H}`, `state_root_mismatch@${H}`]) assert.ok(kinds.includes(k), kinds.join(', '));

    // A directory without the kept state (as an older init made them): it says so, and replays nothing.
    const none = await verify(tamper('no-base', (db) => db.exec('DROP TABLE snapshot_base')));
    assert.deepEqual(none.issues.map((i) => `${i.kind}@${i.height}`), [`snapshot_base_missing@${H}`]);
  });
});
