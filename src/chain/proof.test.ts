import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigner } from '../core/keys.js';
import { leafHash, merkleProof, merkleRoot } from '../core/merkle.js';
import { toHex } from '../core/encoding.js';
import { signHeader } from './blocks.js';
import { receiptLeafBytes, type Receipt } from './envelope.js';
import { verifyTxProof } from './proof.js';

function fixture(count: number, index: number) {
  const receipts: Receipt[] = Array.from({ length: count }, (_, i) => ({
    id: i.toString(16).padStart(64, '0'), height: 9, index: i, status: 'ok', events: [{ type: 't', n: i }],
  }));
  const leaves = receipts.map((r) => leafHash(receiptLeafBytes(r)));
  const { signer } = generateSigner();
  const block = signHeader({
    chain: 'c', height: 9, prevHash: '00'.repeat(32), time: 1, txRoot: merkleRoot(leaves), stateRoot: '00'.repeat(32), txCount: count, proposer: signer.pub,
  }, signer);
  return { view: { receipt: receipts[index]!, leaf: toHex(leaves[index]!), proof: merkleProof(leaves, index), block }, nodeKey: signer.pub };
}

test('a served proof verifies, for every index of odd and even blocks', () => {
  for (const count of [1, 2, 5, 8]) {
    for (let i = 0; i < count; i++) {
      const { view, nodeKey } = fixture(count, i);
      assert.deepEqual(verifyTxProof(view, nodeKey), { ok: true });
    }
  }
});

test('each kind of lie is caught', () => {
  const lie = (mutate: (v: ReturnType<typeof fixture>['view']) => void, key?: string) => {
    const { view, nodeKey } = fixture(5, 2);
    mutate(view);
    return verifyTxProof(view, key ?? nodeKey).ok;
  };
  assert.equal(lie((v) => { v.receipt = { ...v.receipt, status: 'failed', code: 'x' }; }), false);
  assert.equal(lie((v) => { v.proof = { ...v.proof, count: 3 }; }), false);
  assert.equal(lie((v) => { v.proof = { ...v.proof, siblings: [...v.proof.siblings].reverse() }; }), false);
  assert.equal(lie((v) => { v.block = { ...v.block, header: { ...v.block.header, time: 2 } }; }), false);
  assert.equal(lie((v) => { v.block = { ...v.block, sig: v.block.sig.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }; }), false);
  assert.equal(lie(() => {}, generateSigner().signer.pub), false);
});
