// Backup and restore: `tally backup` copies the database of a node that is busy with
// transfers, without taking or breaking its lock; `tally restore` puts the copy into a new
// data directory and replays it; a node started there serves the same blocks up to the
// backup height. The copies stay encrypted, and a damaged or wrongly unlocked archive
// restores nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { type Receipt } from '../src/chain/envelope.js';
import {
  cleanup, cli, getOk, httpPost, makeTx, newAccount, PASSPHRASE, sleep, startNode, tempDir, withTimeout,
  type Account, type NodeProcess,
} from './helpers.js';

const ACCOUNTS = 20;
const LOOPS = 4; // each loop owns ACCOUNTS / LOOPS accounts, so its nonces stay in order
const BATCH = 20;

describe('backup under load, restore elsewhere', { timeout: 300_000 }, () => {
  let node: NodeProcess;
  let restored: NodeProcess | undefined;
  let home: string;
  let work: string;
  const accounts: Account[] = [];
  const names: string[] = [];
  let stopLoad = false;
  let load: Promise<number[]>;
  let archive: { height: number; tipHash: string; out: string; files: string[] };
  let snapshot: { height: number; out: string };

  /** LOOPS submitters sending transfer batches until stopLoad; resolves with batches acknowledged per loop. */
  function startLoad(): Promise<number[]> {
    const loop = async (k: number): Promise<number> => {
      const own = accounts.slice(k * (ACCOUNTS / LOOPS), (k + 1) * (ACCOUNTS / LOOPS));
      let acked = 0;
      for (let n = 0; !stopLoad; n++) {
        const batch = Array.from({ length: BATCH }, (_, j) => {
          const from = own[j % own.length]!;
          const to = names[(accounts.indexOf(from) + 1 + ((n + j) % (ACCOUNTS - 1))) % ACCOUNTS]!; // never itself
          return makeTx(from, 'ledger.send', { to, amount: '0.01' });
        });
        const res = await httpPost(`${node.http}/v1/txs`, batch, { timeoutMs: 30_000 });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.ok((res.body as Receipt[]).every((r) => r.status === 'ok'), JSON.stringify(res.body));
        acked++;
      }
      return acked;
    };
    return Promise.all(Array.from({ length: LOOPS }, (_, k) => loop(k)));
  }

  async function blockHash(http: string, height: number): Promise<string> {
    return (await getOk(`${http}/v1/blocks/${height}`)).hash;
  }

  before(async () => {
    work = tempDir('tally-bk-');
    home = tempDir('tally-home-');
    node = await startNode({ dataDir: path.join(work, 'data'), extraArgs: ['--rate-limit', 'off'] });
    for (let i = 0; i < ACCOUNTS; i++) {
      accounts.push(newAccount());
      names.push(`acct${i}`);
    }
    const res = await httpPost(`${node.http}/v1/txs`, accounts.map((a, i) => makeTx(a, 'ledger.register', { name: names[i]! })));
    assert.equal(res.status, 200);
    load = startLoad();
    await sleep(1000);
  }, { timeout: 60_000 });

  after(async () => {
    stopLoad = true;
    await load?.catch(() => undefined);
    if (restored) await restored.stop().catch(() => undefined);
    await node?.stop().catch(() => undefined);
    await cleanup();
  }, { timeout: 60_000 });

  it('backs up the live database, with and without keys, while transfers commit', async () => {
    const before = (await getOk(`${node.http}/v1/node`)).height;
    const a = await cli(home, ['backup', '--data', node.dataDir, '--out', path.join(work, 'full.bak'), '--with-keys', '--json'], 120_000);
    assert.equal(a.code, 0, a.stdout + a.stderr);
    archive = a.json;
    assert.equal(a.json.format, 'archive');
    assert.deepEqual(a.json.files, ['tally.db', 'db.key', 'node.key', 'genesis.json']);
    assert.ok(archive.height >= before, `backup height ${archive.height}, node was at ${before}`);
    assert.match(a.stderr, /snapshotting .*tally\.db/);
    assert.match(a.stderr, /sealing: .*\(100%\)/);
    const s = await cli(home, ['backup', '--data', node.dataDir, '--out', path.join(work, 'db.snap'), '--json'], 120_000);
    assert.equal(s.code, 0, s.stdout + s.stderr);
    snapshot = s.json;
    assert.ok(snapshot.height >= archive.height);

    // The node kept working through both, and its lock still holds.
    const heightAfter = (await getOk(`${node.http}/v1/node`)).height;
    await withTimeout((async () => {
      while ((await getOk(`${node.http}/v1/node`)).height <= heightAfter) await sleep(100);
    })(), 30_000, 'the node to make a block after the backups');
    const second = await cli(home, ['node', '--data', node.dataDir, '--http', '127.0.0.1:0', '--internal', 'off', '--json']);
    assert.equal(second.json?.error?.code, 'node_running', second.stdout + second.stderr);
    stopLoad = true;
    const acked = await load;
    assert.ok(acked.every((n) => n > 0), `every loop got batches through: ${acked}`);
  });

  it('writes encrypted files, owner-only', () => {
    for (const f of [archive.out, snapshot.out]) {
      assert.equal(fs.statSync(f).mode & 0o777, 0o600, f);
      const bytes = fs.readFileSync(f);
      assert.ok(!bytes.subarray(0, 16).toString('latin1').startsWith('SQLite format 3'), `${f} is a plain SQLite file`);
      assert.equal(bytes.indexOf('acct1'), -1, `${f} shows an account name in clear`);
      assert.equal(bytes.indexOf('PRIVATE KEY'), -1, `${f} shows the node key in clear`);
    }
    assert.equal(fs.readFileSync(archive.out).subarray(0, 8).toString('latin1'), 'TALLYBAK');
    assert.deepEqual(fs.readdirSync(work).filter((n) => n.endsWith('.tmp')), [], 'no temporary files left');
  });

  it('restores the archive into a new directory and verifies it', async () => {
    const dir = path.join(work, 'restored');
    const r = await cli(home, ['restore', archive.out, '--data', dir, '--json'], 120_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.json.ok, true);
    assert.equal(r.json.height, archive.height);
    assert.equal(r.json.tipHash, archive.tipHash);
    assert.equal(r.json.verify.ok, true);
    assert.deepEqual(r.json.verify.issues, []);
    assert.equal(r.json.verify.height, archive.height);
    for (const f of ['tally.db', 'db.key', 'node.key']) assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
    // No signed-height watermark comes along: the restored node records its own at start.
    assert.equal(fs.existsSync(path.join(dir, 'signed.wm')), false);
  });

  it('a node started on the restored directory serves the same blocks up to the backup height', async () => {
    const dir = path.join(work, 'restored');
    restored = await startNode({ dataDir: dir, extraArgs: ['--rate-limit', 'off'] });
    assert.equal(restored.listening.created, false);
    assert.equal(restored.listening.height, archive.height);
    assert.equal(restored.nodeKey, node.nodeKey);
    const heights = Array.from({ length: archive.height + 1 }, (_, h) => h);
    for (const h of heights) assert.equal(await blockHash(restored.http, h), await blockHash(node.http, h), `block ${h}`);
    // It takes new transactions at the committed nonces.
    const a = accounts[0]!;
    a.nonce = (await getOk(`${restored.http}/v1/auth/${a.id}`)).nonce;
    const res = await httpPost(`${restored.http}/v1/txs`, makeTx(a, 'ledger.send', { to: names[1]!, amount: '1' }));
    assert.equal(res.body.status, 'ok', JSON.stringify(res.body));
    assert.equal(res.body.height, archive.height + 1);
    await restored.stop();
    restored = undefined;
  });

  it('restores a database snapshot with --keys-from, and only with it', async () => {
    const noKeys = await cli(home, ['restore', snapshot.out, '--data', path.join(work, 'nokeys'), '--json']);
    assert.equal(noKeys.code, 1);
    assert.equal(noKeys.json.error.code, 'keys_required');
    assert.equal(fs.existsSync(path.join(work, 'nokeys')), false);
    const r = await cli(home, ['restore', snapshot.out, '--data', path.join(work, 'snap'), '--keys-from', node.dataDir, '--json'], 120_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.json.verify.ok, true);
    assert.equal(r.json.height, snapshot.height);
  });

  it('reports a restore that does not verify (exit 3), and cleans up one that cannot open', async () => {
    // Another node's key beside this node's database: the replay trusts the restored node.key.
    const other = path.join(tempDir(), 'other');
    const init = await cli(home, ['init', '--data', other, '--json']);
    assert.equal(init.code, 0, init.stderr);
    const keys = path.join(tempDir(), 'keys');
    fs.mkdirSync(keys);
    fs.copyFileSync(path.join(node.dataDir, 'db.key'), path.join(keys, 'db.key'));
    fs.copyFileSync(path.join(other, 'node.key'), path.join(keys, 'node.key'));
    const r = await cli(home, ['restore', snapshot.out, '--data', path.join(work, 'wrongnode'), '--keys-from', keys, '--json'], 120_000);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.equal(r.json.ok, false);
    assert.equal(r.json.verify.issues[0].kind, 'wrong_proposer');

    // The other node's db.key does not open this database: nothing is left behind.
    const wrongKey = await cli(home, ['restore', snapshot.out, '--data', path.join(work, 'wrongkey'), '--keys-from', other, '--json']);
    assert.equal(wrongKey.json?.error?.code, 'db_key_wrong', wrongKey.stdout + wrongKey.stderr);
    assert.equal(fs.existsSync(path.join(work, 'wrongkey')), false);
  });

  it('refuses a non-empty data directory and changes nothing in it', async () => {
    const before = fs.readdirSync(node.dataDir).sort();
    const r = await cli(home, ['restore', archive.out, '--data', node.dataDir, '--json']);
    assert.equal(r.code, 1);
    assert.equal(r.json.error.code, 'data_dir_not_empty');
    assert.deepEqual(fs.readdirSync(node.dataDir).sort(), before);
  });

  it('a wrong passphrase or a damaged archive restores nothing', async () => {
    const wrong = await cli(home, ['restore', archive.out, '--data', path.join(work, 'wrong'), '--passphrase-file', passphraseFile('not-' + PASSPHRASE), '--json']);
    assert.equal(wrong.json?.error?.code, 'wrong_passphrase', wrong.stdout + wrong.stderr);
    assert.equal(fs.existsSync(path.join(work, 'wrong')), false);

    const bytes = fs.readFileSync(archive.out);
    const damaged = Buffer.from(bytes);
    damaged[Math.floor(bytes.length / 2)]! ^= 1;
    // Cut inside the last chunk, and exactly after a whole chunk (only the last flag tells).
    const cut = bytes.subarray(0, bytes.length - 1000);
    const chunkCut = bytes.subarray(0, 51 + (64 * 1024 + 16));
    assert.ok(bytes.length > chunkCut.length + 1000, 'the archive spans more than one chunk');
    for (const [name, content] of [['damaged', damaged], ['cut', cut], ['chunk-cut', chunkCut]] as const) {
      const file = path.join(work, `${name}.bak`);
      fs.writeFileSync(file, content, { mode: 0o600 });
      const dir = path.join(work, `from-${name}`);
      const r = await cli(home, ['restore', file, '--data', dir, '--json'], 60_000);
      assert.equal(r.json?.error?.code, 'backup_invalid', `${name}: ${r.stdout}${r.stderr}`);
      assert.equal(fs.existsSync(dir), false, `${name}: the half-restored directory was removed`);
    }
  });

  it('refuses to overwrite, and an empty passphrase for an archive', async () => {
    const again = await cli(home, ['backup', '--data', node.dataDir, '--out', archive.out, '--json']);
    assert.equal(again.json?.error?.code, 'file_exists');
    const empty = await cli(home, ['backup', '--data', node.dataDir, '--out', path.join(work, 'empty.bak'), '--with-keys', '--passphrase-file', passphraseFile(''), '--json']);
    assert.equal(empty.json?.error?.code, 'passphrase_empty');
    assert.equal(fs.existsSync(path.join(work, 'empty.bak')), false);
  });

  function passphraseFile(text: string): string {
    const file = path.join(tempDir(), 'pass');
    fs.writeFileSync(file, text + '\n', { mode: 0o600 });
    return file;
  }
});
