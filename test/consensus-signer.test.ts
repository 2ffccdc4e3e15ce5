// kill -9 a validator's signer while it signs, again and again: after each restart, every
// vote it ever printed is in its journal, a conflicting vote in that slot is refused, and
// the same vote signs to the same bytes. Real processes, real files, real fsync.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { blstBls } from '../src/chain/consensus/bls-native.js';
import { SignJournal } from '../src/chain/consensus/journal.js';
import { ConsensusSigner } from '../src/chain/consensus/signer.js';
import { CHILD_CHAIN, childSaved, childSecret, childVote } from './consensus-signer-child.js';
import { cleanup, ROOT, tempDir } from './helpers.js';

after(cleanup);

const CHILD = path.join(ROOT, 'dist', 'test', 'consensus-signer-child.js');

/** Runs the child until it has printed `lines` signed votes (and maybe a few more), then kills it with SIGKILL. */
function signThenKill(dataDir: string, lines: number): Promise<Array<{ message: { round: number }; signature: string }>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, '--run', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const printed: Array<{ message: { round: number }; signature: string }> = [];
    let buffer = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('the child printed too little in 30 s')); }, 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const p of parts) printed.push(JSON.parse(p));
      if (printed.length >= lines) child.kill('SIGKILL');
    });
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`the child ended by itself (${signal})`));
      resolve(printed);
    });
  });
}

test('kill -9 during signing, five times: nothing printed is forgotten, nothing conflicting is signed', async () => {
  const dataDir = tempDir();
  for (const lines of [1, 7, 3, 25, 12]) {
    const printed = await signThenKill(dataDir, lines);
    assert.ok(printed.length >= lines);
    const last = printed.at(-1)!;
    const signer = new ConsensusSigner(blstBls, childSecret(), CHILD_CHAIN, SignJournal.open(dataDir));
    const journaled = signer.resumeState()!.lock.round;
    assert.ok(journaled >= last.message.round, `the journal holds round ${journaled}, the child printed round ${last.message.round}`);
    assert.throws(() => signer.sign(childVote(last.message.round, null), childSaved(childVote(last.message.round, null))), { code: 'double_sign_refused' });
    assert.equal(signer.sign(childVote(last.message.round), childSaved(childVote(last.message.round))).signature, last.signature);
  }
});
