import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nobleBls } from '../../core/bls.js';
import { JOURNAL_FILE, SignJournal } from './journal.js';
import { ConsensusSigner } from './signer.js';
import type { Vote } from './types.js';

const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tally-journal-'));
const vote = (round: number, value: string | null): Vote => ({ type: 'precommit', height: 3, round, value, validator: 1 });
const saved = (m: Vote) => ({ lock: { height: 3, round: m.round, step: 'precommit' as const, lockedValue: m.value, lockedRound: m.round, validValue: m.value, validRound: m.round }, own: [m], pol: [] });
const sk = nobleBls.keygen(new Uint8Array(32).fill(9));

test('the signer journals before it signs, and a reopened signer refuses a conflicting vote', () => {
  const d = dir();
  const signer = new ConsensusSigner(nobleBls, sk, 'c', SignJournal.open(d));
  const first = signer.sign(vote(0, 'aa'.repeat(32)), saved(vote(0, 'aa'.repeat(32))));
  assert.equal(fs.statSync(path.join(d, JOURNAL_FILE)).mode & 0o777, 0o600);
  const again = new ConsensusSigner(nobleBls, sk, 'c', SignJournal.open(d));
  assert.deepEqual(again.resumeState(), saved(vote(0, 'aa'.repeat(32))));
  assert.throws(() => again.sign(vote(0, null), saved(vote(0, null))), { code: 'double_sign_refused' });
  assert.deepEqual(again.sign(vote(0, 'aa'.repeat(32)), saved(vote(0, 'aa'.repeat(32)))), first, 'the same vote is signed again, identically');
  assert.ok(again.sign(vote(1, null), saved(vote(1, null))), 'the next round is free');
});

test('a damaged journal stops the signer instead of letting it guess', () => {
  const d = dir();
  new ConsensusSigner(nobleBls, sk, 'c', SignJournal.open(d)).sign(vote(0, null), saved(vote(0, null)));
  const file = path.join(d, JOURNAL_FILE);
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').slice(0, 40));
  assert.throws(() => SignJournal.open(d), { code: 'consensus_state_invalid' });
  fs.writeFileSync(file, JSON.stringify({ version: 2, state: {} }));
  assert.throws(() => SignJournal.open(d), { code: 'consensus_state_invalid' });
  fs.chmodSync(file, 0o644);
  assert.throws(() => SignJournal.open(d), /0600|mode/);
});
