// `tally keys backup|restore` (issue 12 item 7): the keystore (account and oracle keys) as
// one encrypted file, restored only when intact and opened with the right passphrase,
// never over a differing file without --force; a refused restore writes nothing.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { cleanup, cli, cliOk, tempDir } from './helpers.js';

function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const abs = path.join(dir, rel);
    if (!fs.existsSync(abs)) return;
    for (const name of fs.readdirSync(abs).sort()) {
      const child = rel ? path.join(rel, name) : name;
      if (fs.statSync(path.join(dir, child)).isDirectory()) walk(child);
      else out[child] = fs.readFileSync(path.join(dir, child), 'utf8');
    }
  };
  walk('');
  return out;
}

describe('tally keys backup / restore', { timeout: 60_000 }, () => {
  after(cleanup);

  it('round-trips the keystore and refuses a wrong passphrase, a damaged file and conflicts', async () => {
    const home = tempDir();
    const alice = await cliOk(home, ['keys', 'new', 'alice', '--json']);
    const oracle = await cliOk(home, ['oracle', 'keys', 'new', 'feed', '--json']);
    const file = path.join(tempDir(), 'keys.backup');
    const made = await cliOk(home, ['keys', 'backup', '--out', file, '--json']);
    assert.deepEqual(made.entries, ['keys/alice.json', 'oracle/feed.json']);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(!text.includes(alice.pub) && !text.includes(oracle.pubkey) && !text.includes('alice'), 'names and keys do not show');
    const again = await cli(home, ['keys', 'backup', '--out', file, '--json']);
    assert.notEqual(again.code, 0);
    assert.match(again.stdout + again.stderr, /file_exists/);
    assert.equal(fs.readFileSync(file, 'utf8'), text, 'an existing backup is not overwritten');

    // Into an empty keystore: the same files, byte for byte; the keys work there.
    const fresh = tempDir();
    const r = await cliOk(fresh, ['keys', 'restore', file, '--json']);
    assert.deepEqual(r.restored, ['keys/alice.json', 'oracle/feed.json']);
    assert.deepEqual(tree(path.join(fresh)), tree(home));
    assert.equal(fs.statSync(path.join(fresh, 'keys', 'alice.json')).mode & 0o777, 0o600);
    assert.equal((await cliOk(fresh, ['oracle', 'keys', 'show', 'feed', '--json'])).pubkey, oracle.pubkey);
    assert.deepEqual((await cliOk(fresh, ['keys', 'restore', file, '--json'])).unchanged.length, 2, 'identical files are left alone');

    // A wrong passphrase, a damaged file, an edited one: refused, nothing written.
    const empty = tempDir();
    const wrong = path.join(tempDir(), 'wrong.pass');
    fs.writeFileSync(wrong, 'not the passphrase\n', { mode: 0o600 });
    const refusals: Array<[string, string[]]> = [['wrong_passphrase', ['keys', 'restore', file, '--passphrase-file', wrong, '--json']]];
    const damaged = path.join(tempDir(), 'damaged');
    const parsed = JSON.parse(text);
    fs.writeFileSync(damaged, JSON.stringify({ ...parsed, ciphertext: (parsed.ciphertext[0] === 'A' ? 'B' : 'A') + parsed.ciphertext.slice(1) }));
    refusals.push(['backup_corrupt', ['keys', 'restore', damaged, '--json']]);
    // An edit that also fixes the checksum still fails authentication.
    const { createHash } = await import('node:crypto');
    const edited = { ...parsed, created: '2020-01-01T00:00:00.000Z' };
    edited.sha256 = createHash('sha256').update(JSON.stringify([edited.format, edited.created, edited.entries, edited.kdf, edited.cipher, edited.ciphertext])).digest('hex');
    const editedFile = path.join(tempDir(), 'edited');
    fs.writeFileSync(editedFile, JSON.stringify(edited));
    refusals.push(['wrong_passphrase', ['keys', 'restore', editedFile, '--json']]);
    for (const [code, args] of refusals) {
      const res = await cli(empty, args);
      assert.notEqual(res.code, 0, code);
      assert.match(res.stdout + res.stderr, new RegExp(code));
      assert.deepEqual(tree(empty), {}, `${code}: nothing written`);
    }

    // A keystore whose "alice" differs: refused whole without --force, replaced with it.
    const other = tempDir();
    await cliOk(other, ['keys', 'new', 'alice', '--json']);
    const before = tree(other);
    const conflict = await cli(other, ['keys', 'restore', file, '--json']);
    assert.match(conflict.stdout + conflict.stderr, /backup_conflict/);
    assert.deepEqual(tree(other), before, 'not even the oracle key was written');
    const forced = await cliOk(other, ['keys', 'restore', file, '--force', '--json']);
    assert.deepEqual([forced.replaced, forced.restored], [['keys/alice.json'], ['oracle/feed.json']]);
    assert.deepEqual(tree(other), tree(home));
  });
});
