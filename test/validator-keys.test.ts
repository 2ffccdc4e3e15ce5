// `tally validator keys new|show` as a user runs them: files of mode 0600, an entry whose
// proof of possession a verifier of its own (noble) accepts, no second key over the first,
// and `tally init` keeping the node key the entry names.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { nobleBls } from '../src/core/bls.js';
import { checkValidatorEntry, loadValidatorKey } from '../src/chain/consensus/validator-key.js';
import { cleanup, cli, cliOk, tempDir } from './helpers.js';

after(cleanup);

test('validator keys: new makes 0600 files and a checkable entry; show repeats it; init keeps node.key', async () => {
  const home = tempDir();
  const data = path.join(tempDir(), 'v1');
  const made = await cliOk(home, ['validator', 'keys', 'new', '--data', data, '--json']);
  assert.equal(made.power, 1);
  for (const file of ['node.key', 'validator.key']) assert.equal(fs.statSync(path.join(data, file)).mode & 0o777, 0o600, file);
  checkValidatorEntry(nobleBls, made);
  assert.equal(Buffer.from(nobleBls.publicKey(loadValidatorKey(path.join(data, 'validator.key'), nobleBls).secretKey)).toString('base64url'), made.blsKey);

  const before = fs.readFileSync(path.join(data, 'validator.key'));
  const again = await cli(home, ['validator', 'keys', 'new', '--data', data]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already_exists/);
  assert.deepEqual(fs.readFileSync(path.join(data, 'validator.key')), before, 'the first key is untouched');

  const shown = await cliOk(home, ['validator', 'keys', 'show', '--data', data, '--power', '3', '--json']);
  assert.deepEqual({ ...shown, power: 1 }, made);
  const badPower = await cli(home, ['validator', 'keys', 'show', '--data', data, '--power', '0']);
  assert.equal(badPower.code, 1);
  assert.match(badPower.stderr, /bad_option/);

  const init = await cliOk(home, ['init', '--data', data, '--json']);
  assert.equal(JSON.stringify(init).includes(made.key), true, 'the node key of the entry is the node key of the chain');
});

test('a validator key file that is readable by others, or malformed, is refused', () => {
  const dir = tempDir();
  const file = path.join(dir, 'validator.key');
  fs.writeFileSync(file, `tally-validator-key v1 bls12-381\n${'11'.repeat(32)}\n`, { mode: 0o644 });
  assert.throws(() => loadValidatorKey(file, nobleBls), /0600|mode/);
  fs.chmodSync(file, 0o600);
  assert.ok(loadValidatorKey(file, nobleBls).publicKey.length === 48);
  fs.writeFileSync(file, 'tally-validator-key v1 bls12-381\nnot hex\n');
  assert.throws(() => loadValidatorKey(file, nobleBls), { code: 'key_file_invalid' });
});

test('an entry whose proof of possession is another key\'s is refused', () => {
  const a = nobleBls.keygen(new Uint8Array(32).fill(1));
  const b = nobleBls.keygen(new Uint8Array(32).fill(2));
  const entry = { key: 'k', blsKey: Buffer.from(nobleBls.publicKey(a)).toString('base64url'), pop: Buffer.from(nobleBls.popProve(b)).toString('base64url'), power: 1 };
  assert.throws(() => checkValidatorEntry(nobleBls, entry), { code: 'bad_validators' });
  assert.throws(() => checkValidatorEntry(nobleBls, { ...entry, blsKey: 'AAAA' }), { code: 'bad_bls_public_key' });
});
