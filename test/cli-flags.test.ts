// Every numeric CLI flag is parsed before anything runs: a bad value is a usage error
// (exit 2) naming the flag and its range, and nothing is created. Before, `tally node
// --block-txs abc` (or 0) started a node that admitted transactions and never committed
// them.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { cleanup, cli, tempDir } from './helpers.js';

describe('CLI flags are validated', () => {
  after(cleanup);

  for (const [flagName, value] of [['--block-txs', 'abc'], ['--block-txs', '0'], ['--block-txs', '1e3'], ['--block-delay-ms', '-1'], ['--rate-limit', 'lots'], ['--verifier-threads', '0'], ['--verifier-threads', '65']]) {
    it(`tally node ${flagName} ${value} exits 2 before starting`, async () => {
      const home = tempDir();
      const data = path.join(home, 'data');
      const r = await cli(home, ['node', '--dev', '--data', data, '--http', 'off', '--internal', 'off', flagName!, value!], 20_000);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`${flagName} must be an integer from \\d+ to \\d+`), r.stderr);
      assert.match(r.stderr, /\(bad_flag\)/);
      assert.equal(fs.existsSync(data), false, 'nothing was created');
    });
  }

  it('--json prints the refusal as {error: {code: "bad_flag"}} and exits 2', async () => {
    const home = tempDir();
    const r = await cli(home, ['node', '--dev', '--data', path.join(home, 'data'), '--block-txs', 'abc', '--json'], 20_000);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(r.json?.error?.code, 'bad_flag');
    assert.equal(r.json?.error?.details?.field, '--block-txs');
  });

  it('module flags too: notary worker --lease-ms 0 and ledger history --limit 500 exit 2', async () => {
    const home = tempDir();
    const w = await cli(home, ['notary', 'worker', '--data', path.join(home, 'data'), '--lease-ms', '0'], 20_000);
    assert.equal(w.code, 2, w.stdout + w.stderr);
    assert.match(w.stderr, /--lease-ms must be an integer from/);
    const h = await cli(home, ['history', 'alice', '--limit', '500', '--node', path.join(home, 'none.sock')], 20_000);
    assert.equal(h.code, 2, h.stdout + h.stderr);
    assert.match(h.stderr, /--limit must be an integer from 1 to 200/);
  });

  it('a key that starts with "-" in an argument\'s place: the usage error says to put it after --', async () => {
    // One base64url key in 64 starts with '-', and commander reads it as options.
    const home = tempDir();
    const key = `-gJS8R${'A'.repeat(37)}`;
    const r = await cli(home, ['whoami', key, '--node', path.join(home, 'none.sock')], 20_000);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /unknown option/);
    assert.ok(r.stderr.includes(`starts with "-": write it after "--", as in: tally whoami [options] -- ${key}`), r.stderr);
  });
});
