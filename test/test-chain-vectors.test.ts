// The in-process test chain makes the same blocks as the README's test vectors (built
// step by step in test/spec-chain.ts the way a node does): same genesis, same block 0,
// same headers, hashes, signatures and receipts. So what the harness tests is what a
// node would commit, and verifyChain accepts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { genesisHash } from '../src/chain/genesis.js';
import { verifyChain } from '../src/chain/replay.js';
import { accountFromSeed, createTestChain } from '../src/chain/testing/test-chain.js';
import { VerifierPool } from '../src/chain/verifier.js';
import { chainModules } from '../src/modules/index.js';
import { buildSpecVectors } from './spec-chain.js';

test('the test chain reproduces the spec vectors block for block, and replays clean', async () => {
  const v = buildSpecVectors();
  const node = accountFromSeed(Buffer.from(v.keys.node.seed, 'hex'), 'node');
  const chain = createTestChain(chainModules, { chain: v.genesis.chain, time: v.genesis.time, decimals: v.genesis.decimals, modules: v.genesis.modules }, node);
  assert.equal(genesisHash(chain.genesis), v.genesisHash);
  const strip = (b: { hash: string; header: unknown; sig: string }) => ({ hash: b.hash, header: b.header, sig: b.sig });
  assert.deepEqual(strip(chain.tip), strip(v.blocks[0]!));
  for (const vb of v.blocks.slice(1)) {
    const out = chain.block(vb.txs.map((t) => t.envelope), { time: vb.header.time });
    assert.deepEqual(out.excluded, []);
    assert.deepEqual(strip(out.block!), strip(vb), `block ${vb.header.height}`);
    assert.deepEqual(out.receipts, vb.txs.map((t) => t.receipt));
    assert.deepEqual([...out.result.writes].sort(([a], [b]) => (a < b ? -1 : 1)), vb.writes);
  }
  const pool = new VerifierPool(1);
  try {
    const report = await verifyChain(chain.source(), chainModules, pool, () => {}, { genesis: v.genesis, nodeKey: node.pub });
    assert.deepEqual(report.issues, []);
    assert.equal(report.height, v.blocks.length - 1);
  } finally {
    await pool.close();
  }
});
