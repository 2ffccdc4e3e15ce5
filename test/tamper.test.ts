// Tampering with a stopped node's encrypted database: someone holding db.key edits a
// balance or a transaction, and `tally chain verify` finds it and says where. Also: the
// database is unreadable without the key, and a wrong or exposed key file is refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { hashText } from '../src/core/hash.js';
import { type Receipt } from '../src/chain/envelope.js';
import { cleanup, cli, httpPost, makeTx, newAccount, startNode, tempDir, type Account, type CliResult } from './helpers.js';
import { openDb, openEncrypted, storedValue } from './db.js';

describe('tampering is detected', { timeout: 180_000 }, () => {
  let root: string;
  let home: string;
  let dataDir: string;
  let alice: Account;
  let bob: Account;
  let carol: Account;
  const transfers: Receipt[] = [];
  let tipHeight = 0;
  let copies = 0;

  /** A copy of the pristine stopped data directory (without a socket or lock file). */
  function copy(): string {
    const dest = path.join(root, `copy${copies++}`);
    fs.cpSync(dataDir, dest, { recursive: true, filter: (src) => !src.endsWith('.sock') && !src.endsWith('.lock') });
    for (const secret of ['db.key', 'node.key']) fs.chmodSync(path.join(dest, secret), 0o600);
    return dest;
  }

  const verify = (dir: string): Promise<CliResult> => cli(home, ['chain', 'verify', '--data', dir, '--json'], 60_000);

  before(async () => {
    root = tempDir();
    home = path.join(root, 'home');
    dataDir = path.join(root, 'data');
    const node = await startNode({ dataDir });
    alice = newAccount();
    bob = newAccount();
    carol = newAccount();
    const regs = await httpPost(`${node.http}/v1/txs`, [
      makeTx(alice, 'ledger.register', { name: 'alice' }),
      makeTx(bob, 'ledger.register', { name: 'bob' }),
      makeTx(carol, 'ledger.register', { name: 'carol' }),
    ]);
    assert.ok(regs.body.every((r: Receipt) => r.status === 'ok'));
    // Several blocks: each awaited submission is its own block.
    for (const [from, to, amount] of [[alice, 'bob', '10'], [bob, 'carol', '2.5'], [carol, 'alice', '0.75'], [alice, 'carol', '100'], [bob, 'alice', '1']] as const) {
      const r = await httpPost(`${node.http}/v1/txs`, makeTx(from, 'ledger.send', { to, amount }));
      assert.equal(r.body.status, 'ok', JSON.stringify(r.body));
      transfers.push(r.body as Receipt);
    }
    tipHeight = transfers[transfers.length - 1]!.height;
    assert.equal(new Set(transfers.map((r) => r.height)).size, transfers.length, 'one block per transfer');
    assert.equal(await node.stop(), 0, node.stderr());
  }, { timeout: 60_000 });

  after(async () => {
    await cleanup();
  }, { timeout: 60_000 });

  it('the untouched directory verifies', async () => {
    const r = await verify(copy());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.json.ok, true);
    assert.equal(r.json.height, tipHeight);
  });

  // A state row holds its value, or (core migration 5) leaves it to the state tree's value
  // row at (its height, BLAKE3(key)): an edit of either is a stored state the replay refutes.
  for (const where of ['state row', 'tree value row'] as const) {
    it(`a changed balance in the ${where}: exit 3, state_mismatch at the height that wrote the row`, async () => {
      const dir = copy();
      const db = openEncrypted(dir);
      const key = `ledger/acct/${bob.id}`;
      let rowHeight: number;
      try {
        const row = storedValue(db, key);
        rowHeight = row.h;
        const value = JSON.parse(row.v) as { name: string; balance: string; created: number };
        assert.equal(value.name, 'bob');
        value.balance = (BigInt(value.balance) + 1_000_000_000n).toString(); // +1000 coins
        const changed = where === 'state row'
          ? db.prepare('UPDATE state SET v = ? WHERE k = ?').run(JSON.stringify(value), key).changes
          : db.prepare('UPDATE smt_values SET v = ? WHERE version = ? AND path = ?').run(JSON.stringify(value), row.h, Buffer.from(hashText(key))).changes;
        assert.equal(changed, 1);
      } finally {
        db.close();
      }
      // bob last sent at the last transfer's block.
      assert.equal(rowHeight, transfers[4]!.height);
      const r = await verify(dir);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.equal(r.json.ok, false);
      assert.equal(r.json.firstDivergence, rowHeight);
      const mismatch = r.json.issues.filter((i: { kind: string }) => i.kind === 'state_mismatch');
      assert.equal(mismatch.length, 1, JSON.stringify(r.json.issues));
      assert.equal(mismatch[0].height, rowHeight);
      assert.match(mismatch[0].message, new RegExp(key));
      // The blocks themselves are intact; the ledger's double-entry invariant catches it too.
      assert.deepEqual(r.json.issues.map((i: { kind: string }) => i.kind), ['state_mismatch', 'invariant_broken']);
      assert.match(r.json.issues[1].message, /stored state: balances sum to 1000000000 minor units, not zero/);
      // Human output names the divergence and exits 3 too.
      const human = await cli(home, ['chain', 'verify', '--data', dir], 60_000);
      assert.equal(human.code, 3);
      assert.match(human.stdout, new RegExp(`FAILED: the chain diverges at height ${rowHeight}`));
    });
  }

  it('a verifier that pins the node key or the genesis catches a chain made by someone else', async () => {
    const wrongKey = newAccount().signer.pub;
    const r1 = await cli(home, ['chain', 'verify', '--data', dataDir, '--json', '--node-key', wrongKey], 60_000);
    assert.equal(r1.code, 3);
    const issues1 = JSON.parse(r1.stdout).issues as Array<{ kind: string; height: number }>;
    assert.ok(issues1.length > 0 && issues1.every((i) => i.kind === 'wrong_proposer'), r1.stdout);
    const other = path.join(copy(), 'other-genesis.json');
    const genesis = JSON.parse(fs.readFileSync(path.join(dataDir, 'genesis.json'), 'utf8'));
    fs.writeFileSync(other, JSON.stringify({ ...genesis, time: genesis.time + 1 }));
    const r2 = await cli(home, ['chain', 'verify', '--data', dataDir, '--json', '--genesis', other], 60_000);
    assert.equal(r2.code, 3);
    assert.deepEqual(JSON.parse(r2.stdout).issues.map((i: { kind: string }) => i.kind), ['genesis_mismatch']);
    const r3 = await cli(home, ['chain', 'verify', '--data', dataDir, '--json', '--genesis', path.join(dataDir, 'genesis.json')], 60_000);
    assert.equal(r3.code, 0, r3.stdout);
  });

  it('a changed state row written at an earlier height reports that height', async () => {
    const dir = copy();
    const db = openEncrypted(dir);
    let rowHeight: number;
    try {
      // ledger/name/carol was written once, when carol registered.
      const row = storedValue(db, 'ledger/name/carol');
      rowHeight = row.h;
      db.prepare('UPDATE state SET v = ? WHERE k = ?').run(JSON.stringify(alice.id), 'ledger/name/carol');
    } finally {
      db.close();
    }
    assert.ok(rowHeight < transfers[0]!.height);
    const r = await verify(dir);
    assert.equal(r.code, 3);
    assert.equal(r.json.firstDivergence, rowHeight);
    assert.deepEqual(r.json.issues.map((i: { kind: string; height: number }) => [i.kind, i.height]), [['state_mismatch', rowHeight]]);
  });

  it('a changed transaction body in txs.env: divergence at that block', async () => {
    const dir = copy();
    const target = transfers[1]!; // bob -> carol 2.5, not the last block
    const db = openEncrypted(dir);
    try {
      const row = db.prepare<[Buffer], { env: string; height: number }>('SELECT env, height FROM txs WHERE id = ?').get(Buffer.from(target.id, 'hex'));
      assert.ok(row, 'the transaction row exists');
      assert.equal(row.height, target.height);
      const env = JSON.parse(row.env) as { tx: { body: { amount: string } } };
      assert.equal(env.tx.body.amount, '2.5');
      env.tx.body.amount = '250';
      assert.equal(db.prepare('UPDATE txs SET env = ? WHERE id = ?').run(JSON.stringify(env), Buffer.from(target.id, 'hex')).changes, 1);
    } finally {
      db.close();
    }
    const r = await verify(dir);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.equal(r.json.ok, false);
    assert.equal(r.json.firstDivergence, target.height);
    const kinds = new Set(r.json.issues.filter((i: { height: number }) => i.height === target.height).map((i: { kind: string }) => i.kind));
    assert.ok(kinds.has('tx_id_mismatch'), [...kinds].join(', '));
    assert.ok(kinds.has('bad_signature'), [...kinds].join(', '));
    assert.ok(r.json.issues.every((i: { height: number }) => i.height >= target.height));
  });

  it('the database file is unreadable without the key', () => {
    const dir = copy();
    const file = fs.readFileSync(path.join(dir, 'tally.db'));
    assert.ok(file.length > 0);
    assert.notEqual(file.subarray(0, 16).toString('latin1'), 'SQLite format 3\0', 'the header is encrypted');
    for (const plain of ['SQLite format 3', 'ledger/acct', 'ledger.send', 'alice', 'tally-dev']) {
      assert.equal(file.includes(Buffer.from(plain)), false, `"${plain}" appears in clear in tally.db`);
    }
    const wal = path.join(dir, 'tally.db-wal');
    if (fs.existsSync(wal)) assert.equal(fs.readFileSync(wal).includes(Buffer.from('ledger/acct')), false, 'the WAL is encrypted too');
    // Plain SQLite (no key) cannot read it.
    const plainDb = openDb(path.join(dir, 'tally.db'), { readonly: true, fileMustExist: true });
    try {
      assert.throws(() => plainDb.prepare('SELECT count(*) FROM sqlite_master').get(), /not a database|encrypted/i);
    } finally {
      plainDb.close();
    }
    // Nor can the cipher with another key.
    const wrong = openDb(path.join(dir, 'tally.db'), { readonly: true, fileMustExist: true });
    try {
      wrong.exec(`PRAGMA cipher='sqlcipher'`);
      wrong.exec('PRAGMA legacy=4');
      wrong.exec(`PRAGMA key="x'${crypto.randomBytes(32).toString('hex')}'"`);
      assert.throws(() => wrong.prepare('SELECT count(*) FROM sqlite_master').get());
    } finally {
      wrong.close();
    }
    // With the right key it reads.
    const db = openEncrypted(dir);
    try {
      assert.equal(db.prepare<[], { n: number }>('SELECT count(*) AS n FROM blocks').get()!.n, tipHeight + 1);
    } finally {
      db.close();
    }
  });

  it('a wrong db.key: db_key_wrong, from verify and from the node', async () => {
    const dir = copy();
    const keyPath = path.join(dir, 'db.key');
    fs.writeFileSync(keyPath, crypto.randomBytes(32).toString('hex') + '\n');
    assert.equal(fs.statSync(keyPath).mode & 0o777, 0o600);
    const r = await verify(dir);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.json.error.code, 'db_key_wrong');
    const n = await cli(home, ['node', '--data', dir, '--http', '127.0.0.1:0', '--internal', 'off', '--json'], 30_000);
    assert.equal(n.code, 1, n.stdout + n.stderr);
    assert.equal(n.json.error.code, 'db_key_wrong');
    // A key file that is not 64 hex digits is refused before any decryption attempt.
    fs.writeFileSync(keyPath, 'not a key\n');
    const bad = await verify(dir);
    assert.equal(bad.code, 1);
    assert.equal(bad.json.error.code, 'key_file_invalid');
  });

  it('a db.key (or node.key) readable by others is refused: key_file_permissions', async () => {
    const dir = copy();
    const keyPath = path.join(dir, 'db.key');
    fs.chmodSync(keyPath, 0o644);
    const r = await verify(dir);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.json.error.code, 'key_file_permissions');
    assert.match(r.json.error.hint, /chmod 600/);
    const n = await cli(home, ['node', '--data', dir, '--http', '127.0.0.1:0', '--internal', 'off', '--json'], 30_000);
    assert.equal(n.code, 1, n.stdout + n.stderr);
    assert.equal(n.json.error.code, 'key_file_permissions');
    fs.chmodSync(keyPath, 0o600);
    fs.chmodSync(path.join(dir, 'node.key'), 0o640);
    const n2 = await cli(home, ['node', '--data', dir, '--http', '127.0.0.1:0', '--internal', 'off', '--json'], 30_000);
    assert.equal(n2.code, 1, n2.stdout + n2.stderr);
    assert.equal(n2.json.error.code, 'key_file_permissions');
    fs.chmodSync(path.join(dir, 'node.key'), 0o600);
    const ok = await verify(dir);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  });
});
