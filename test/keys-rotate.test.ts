// Keys for operators, end to end through the CLI against a real node: a member moves the
// account to a new key (`tally keys rotate`) and keeps name, balance and history; the old
// key is refused for transactions and signed queries; `tally chain verify` replays the
// rotation. Also `keys passwd` and `--passphrase-file` without a terminal, and the warning
// on an empty passphrase.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cleanup, cli, cliOk, PASSPHRASE, startNode, TALLY_BIN, tempDir, type CliResult, type NodeProcess } from './helpers.js';

/** `tally ARGS` with exactly this environment for TALLY_* (no TALLY_PASSPHRASE unless given). */
function cliEnv(home: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith('TALLY_')) delete base[k];
  delete base.NODE_TEST_CONTEXT;
  return new Promise((resolve) => {
    execFile(process.execPath, [TALLY_BIN, ...args], { env: { ...base, TALLY_SCRYPT_N: '1024', TALLY_HOME: home, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      let json: unknown;
      try { json = JSON.parse(stdout); } catch { json = undefined; }
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr, json });
    });
  });
}

describe('keys: rotation, passwd and passphrase files through the CLI', { timeout: 180_000 }, () => {
  let node: NodeProcess;
  let home: string;
  const ids: Record<string, string> = {};

  before(async () => {
    home = path.join(tempDir('tally-home-'), 'home');
    node = await startNode();
    for (const name of ['alice', 'bob']) {
      ids[name] = (await cliOk(home, ['keys', 'new', name, '--json'])).id;
      await cliOk(home, ['register', name, '--key', name, '--node', node.socket, '--json']);
    }
    await cliOk(home, ['send', 'bob', '5', '--key', 'alice', '--node', node.socket, '--json']);
    await cliOk(home, ['keys', 'new', 'alice-2', '--json']);
  }, { timeout: 60_000 });

  after(async () => {
    await node?.stop().catch(() => undefined);
    await cleanup();
  });

  it('keys rotate moves alice to the new key; the old key is refused, the new one signs for the same account', async () => {
    const before = await cliOk(home, ['balance', 'alice', '--node', node.socket, '--json']);
    const r = await cliOk(home, ['keys', 'rotate', '--key', 'alice', '--to', 'alice-2', '--node', node.socket, '--json']);
    assert.equal(r.account, ids.alice);
    assert.equal(r.receipt.status, 'ok');
    assert.deepEqual(r.receipt.events.map((e: { type: string }) => e.type), ['auth.rotated']);
    const shown = await cliOk(home, ['keys', 'show', 'alice-2', '--json']);
    assert.equal(shown.id, ids.alice, 'the new key now signs for alice\'s account');
    const auth = await (await fetch(`${node.http}/v1/auth/${ids.alice}`)).json() as { pub: string };
    assert.equal(auth.pub, shown.pub);

    const refused = await cli(home, ['send', 'bob', '1', '--key', 'alice', '--node', node.socket, '--json']);
    assert.equal(refused.code, 1);
    assert.equal(refused.json.error.code, 'wrong_key');
    const sent = await cliOk(home, ['send', 'bob', '1', '--key', 'alice-2', '--node', node.socket, '--json']);
    assert.equal(sent.status, 'ok');
    const after = await cliOk(home, ['balance', 'alice', '--node', node.socket, '--json']);
    assert.equal(after.id, ids.alice);
    assert.equal(after.name, 'alice');
    assert.equal(Number(after.total), Number(before.total) - 1);
    const history = await cliOk(home, ['history', 'alice', '--node', node.socket, '--json']);
    assert.ok(history.items.length >= 2, 'the history from before the rotation is still alice\'s');
  });

  it('signed queries follow the key: the new one is accepted, the old one refused', async () => {
    await cliOk(home, ['audit', '--key', 'alice-2', '--node', node.socket, '--json']);
    const old = await cli(home, ['audit', '--key', 'alice', '--node', node.socket, '--json']);
    assert.equal(old.code, 1);
    assert.equal(old.json.error.code, 'query_auth_invalid');
  });

  it('a statement signed with the new key verifies online and offline from its bundle', async () => {
    const signed = await cliOk(home, ['sign', 'after the rotation', '--key', 'alice-2', '--node', node.socket, '--json']);
    const file = path.join(tempDir('tally-bundle-'), 'statement.json');
    const online = await cliOk(home, ['verify', signed.id, '--node', node.socket, '--out', file, '--json']);
    assert.equal(online.valid, true, JSON.stringify(online));
    const offline = await cli(home, ['verify', '--offline', '--bundle', file, '--node-key', node.nodeKey, '--json']);
    assert.equal(offline.code, 0, offline.stdout + offline.stderr);
    assert.equal(offline.json.valid, true);
  });

  it('running rotate again only confirms it; a key that already holds an account is refused', async () => {
    const again = await cliOk(home, ['keys', 'rotate', '--key', 'alice', '--to', 'alice-2', '--node', node.socket, '--json']);
    assert.equal(again.receipt, null);
    const taken = await cli(home, ['keys', 'rotate', '--key', 'alice-2', '--to', 'bob', '--node', node.socket, '--json']);
    assert.equal(taken.json.error.code, 'key_in_use');
  });

  it('keys list marks retired keys (from the keystore, exactly with --node); whoami finds the account by its current key', async () => {
    const marks = async (args: string[] = []) => Object.fromEntries((await cliOk(home, ['keys', 'list', ...args, '--json'])).map((k: { name: string; retired: boolean }) => [k.name, k.retired]));
    assert.deepEqual(await marks(), { alice: true, 'alice-2': false, bob: false });
    const text = await cli(home, ['keys', 'list']);
    assert.match(text.stdout, /^alice .* retired \(its account signs with another key\)$/m);
    assert.doesNotMatch(text.stdout, /^alice-2 .*retired/m);
    const pub2 = (await cliOk(home, ['keys', 'show', 'alice-2', '--json'])).pub;
    const byKey = await cliOk(home, ['whoami', '--node', node.socket, '--json', '--', pub2]);
    assert.equal(byKey.id, ids.alice);
    assert.equal(byKey.name, 'alice');
    assert.equal(byKey.pub, pub2);

    // A second move: the middle key is retired too, which only the node can tell.
    await cliOk(home, ['keys', 'new', 'alice-3', '--json']);
    await cliOk(home, ['keys', 'rotate', '--key', 'alice-2', '--to', 'alice-3', '--node', node.socket, '--json']);
    assert.deepEqual(await marks(), { alice: true, 'alice-2': false, 'alice-3': false, bob: false });
    assert.deepEqual(await marks(['--node', node.socket]), { alice: true, 'alice-2': true, 'alice-3': false, bob: false });
    const pub3 = (await cliOk(home, ['keys', 'show', 'alice-3', '--json'])).pub;
    assert.equal((await cliOk(home, ['whoami', '--node', node.http, '--json', '--', pub3])).id, ids.alice);
    // A key moved away from is no account's current key any more: not found by it.
    const gone = await cli(home, ['whoami', '--node', node.socket, '--json', '--', pub2]);
    assert.equal(gone.json?.error?.code, 'unknown_account', gone.stdout);
  });

  it('keys passwd, then --passphrase-file without a terminal; a wrong one fails at once', async () => {
    const dir = tempDir('tally-pass-');
    const newFile = path.join(dir, 'new');
    fs.writeFileSync(newFile, 'brand new\n', { mode: 0o600 });
    const changed = await cliEnv(home, ['keys', 'passwd', 'bob', '--new-passphrase-file', newFile, '--json'], { TALLY_PASSPHRASE: PASSPHRASE });
    assert.equal(changed.code, 0, changed.stderr);
    assert.equal(fs.statSync(changed.json.path).mode & 0o777, 0o600);

    const sent = await cliEnv(home, ['send', 'alice', '1', '--key', 'bob', '--passphrase-file', newFile, '--node', node.socket, '--json'], { TALLY_PASSPHRASE: 'not this one' });
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(sent.json.status, 'ok');

    const wrong = await cliEnv(home, ['send', 'alice', '1', '--key', 'bob', '--node', node.socket, '--json'], { TALLY_PASSPHRASE: PASSPHRASE });
    assert.equal(wrong.json.error.code, 'wrong_passphrase');
    const none = await cliEnv(home, ['send', 'alice', '1', '--key', 'bob', '--node', node.socket, '--json'], {});
    assert.equal(none.json.error.code, 'passphrase_required');
  });

  it('an empty passphrase gets a warning on stderr', async () => {
    const r = await cliEnv(home, ['keys', 'new', 'scratch', '--json'], { TALLY_PASSPHRASE: '' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: key "scratch" has an empty passphrase/);
    const quiet = await cliEnv(home, ['keys', 'new', 'kept', '--json'], { TALLY_PASSPHRASE: 'x' });
    assert.equal(quiet.stderr, '');
  });

  it('tally node --dev takes a new admin key\'s passphrase from --passphrase-file; a loose file stops the start', async () => {
    const dir = tempDir('tally-devpass-');
    const file = path.join(dir, 'admin.pass');
    fs.writeFileSync(file, 'admin from a file\n', { mode: 0o600 });
    const devHome = path.join(dir, 'home');
    const dev = await startNode({ home: devHome, extraArgs: ['--passphrase-file', file] });
    assert.equal((dev.listening as unknown as { admin: { keyCreated: boolean } }).admin.keyCreated, true);
    assert.equal(await dev.stop(), 0);
    const withFile = await cliEnv(devHome, ['keys', 'export', 'admin', '--private', '--passphrase-file', file, '--json'], {});
    assert.equal(withFile.code, 0, withFile.stdout + withFile.stderr);
    const withEnv = await cliEnv(devHome, ['keys', 'export', 'admin', '--private', '--json'], { TALLY_PASSPHRASE: PASSPHRASE });
    assert.equal((withEnv.json as any)?.error?.code, 'wrong_passphrase', withEnv.stdout);

    const loose = path.join(dir, 'loose.pass');
    fs.writeFileSync(loose, 'x\n', { mode: 0o644 });
    const looseHome = path.join(dir, 'home2');
    const r = await cliEnv(looseHome, ['node', '--dev', '--data', path.join(dir, 'data2'), '--http', '127.0.0.1:0', '--internal', 'off', '--passphrase-file', loose, '--json'], {});
    assert.notEqual(r.code, 0);
    assert.equal((r.json as any)?.error?.code, 'key_file_permissions', r.stdout + r.stderr);
    assert.equal(fs.existsSync(path.join(looseHome, 'keys')), false, 'no admin key was made');
  });

  it('the stopped chain, rotation included, passes tally chain verify', async () => {
    assert.equal(await node.stop(), 0);
    const r = await cli(tempDir(), ['chain', 'verify', '--data', node.dataDir, '--json'], 60_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.json.ok, true);
  });
});
