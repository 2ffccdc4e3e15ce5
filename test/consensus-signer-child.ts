// A validator's signer in a process of its own, for the kill -9 test in
// consensus-signer.test.ts: it signs a prevote for each round in turn, from the round after
// the last one its journal holds, and prints each signed message once sign() returned.
import { blstBls } from '../src/chain/consensus/bls-native.js';
import { SignJournal } from '../src/chain/consensus/journal.js';
import { ConsensusSigner } from '../src/chain/consensus/signer.js';
import type { Vote } from '../src/chain/consensus/types.js';

export const CHILD_CHAIN = 'kill-test';
export const childSecret = (): Uint8Array => blstBls.keygen(new Uint8Array(32).fill(7));
export const childVote = (round: number, value: string | null = 'ab'.repeat(32)): Vote => ({ type: 'prevote', height: 1, round, value, validator: 0 });
export const childSaved = (m: Vote) => ({
  lock: { height: 1, round: m.round, step: 'prevote' as const, lockedValue: null, lockedRound: -1, validValue: null, validRound: -1 },
  own: [m],
  pol: [],
});

if (process.argv[2] === '--run') {
  const journal = SignJournal.open(process.argv[3]!);
  const signer = new ConsensusSigner(blstBls, childSecret(), CHILD_CHAIN, journal);
  const first = (journal.state?.signed.at(-1)?.round ?? -1) + 1;
  for (let round = first; round < first + 5000; round++) {
    const m = childVote(round);
    process.stdout.write(JSON.stringify(signer.sign(m, childSaved(m))) + '\n');
  }
}
