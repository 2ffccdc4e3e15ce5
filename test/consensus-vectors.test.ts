// The README's consensus vectors ("Consensus") are what the code computes, and they check
// out by the README's text alone: the rotation is recomputed from the stated rule, the
// sign bytes are built by hand (tag, keys in sorted order) and each signature is verified
// with blst under the vector key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blstBls } from '../src/chain/consensus/bls-native.js';
import { buildConsensusVectors, CONSENSUS_BEGIN, CONSENSUS_END, type ConsensusVectors } from './consensus-vectors.js';
import { readmeJsonBlock } from './helpers.js';

const readmeVectors = (): ConsensusVectors => readmeJsonBlock<ConsensusVectors>(CONSENSUS_BEGIN, CONSENSUS_END);

test('the README consensus vectors are exactly what the code computes', () => {
  assert.deepEqual(readmeVectors(), buildConsensusVectors(), 'README vectors drifted: regenerate with `node dist/test/consensus-vectors.js` and paste the block');
});

test('the rotation vectors follow from the README\'s rule alone', () => {
  const { powers, height2Rounds0To5, round0Heights0To5 } = readmeVectors().rotation;
  const total = powers.reduce((a, b) => a + b, 0);
  const step = (p: number[]) => {
    const next = p.map((x, i) => x + powers[i]!);
    const picked = next.indexOf(Math.max(...next));
    next[picked]! -= total;
    return { picked, next };
  };
  let atHeight = powers.map(() => 0);
  const byHeight: number[] = [];
  for (let h = 0; h < 6; h++) {
    const { picked, next } = step(atHeight);
    byHeight.push(picked);
    atHeight = next;
  }
  assert.deepEqual(round0Heights0To5, byHeight);
  let p = powers.map(() => 0);
  for (let h = 0; h < 2; h++) p = step(p).next;
  const byRound: number[] = [];
  for (let r = 0; r < 6; r++) {
    const s = step(p);
    byRound.push(s.picked);
    p = s.next;
  }
  assert.deepEqual(height2Rounds0To5, byRound);
});

test('the README sign bytes are the tag and sorted-key JSON, and the signatures verify', () => {
  const v = readmeVectors();
  const publicKey = Buffer.from(v.publicKey, 'base64url');
  for (const { message, signBytes, signature } of v.messages) {
    const body: Record<string, unknown> = { chainId: v.chainId, height: message.height, round: message.round, type: message.type };
    if (message.type === 'proposal') body.validRound = message.validRound;
    body.value = message.value;
    assert.equal(signBytes, `tally/consensus/v1\n${JSON.stringify(body)}`);
    assert.equal(blstBls.verify(publicKey, new TextEncoder().encode(signBytes), Buffer.from(signature, 'base64url')), true);
  }
});
