import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leafHash, merkleProof, merkleRoot, rootFromProof } from '../core/merkle.js';
import { BlockCache } from './block-cache.js';

const leaves = (n: number, tag: string) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`${tag}-${i}`)));

test('proofs from the cache equal merkleProof and verify; leaves are loaded once per block', () => {
  const cache = new BlockCache(1 << 20);
  for (const n of [1, 2, 3, 7, 64, 65, 1001]) {
    const l = leaves(n, `b${n}`);
    let loads = 0;
    const load = () => { loads++; return l; };
    for (const i of [0, n >> 1, n - 1]) {
      const { leaf, proof } = cache.proof(n, i, load);
      assert.deepEqual(proof, merkleProof(l, i), `size ${n} index ${i}`);
      assert.equal(leaf, Buffer.from(l[i]!).toString('hex'));
      assert.equal(rootFromProof(l[i]!, proof), merkleRoot(l));
    }
    assert.equal(loads, 1, `size ${n}: one load, then lookups`);
  }
});

test('levels recorded at commit serve proofs without any load', () => {
  const cache = new BlockCache(1 << 20);
  const l = leaves(4000, 'commit');
  cache.recordLeaves(9, l);
  const { proof } = cache.proof(9, 3999, () => assert.fail('recorded levels must not be reloaded'));
  assert.deepEqual(proof, merkleProof(l, 3999));
  assert.equal(cache.bytes, 32 * (4000 + 2000 + 1000 + 500 + 250 + 125 + 63 + 32 + 16 + 8 + 4 + 2 + 1));
});

test('bounded by bytes: the least recently used block goes first', () => {
  const oneBlock = 32 * (4 + 2 + 1); // levels of a 4-leaf tree
  const cache = new BlockCache(3 * oneBlock);
  for (let h = 1; h <= 3; h++) cache.recordLeaves(h, leaves(4, `h${h}`));
  cache.proof(1, 0, () => assert.fail('block 1 is kept')); // 1 is now the most recent
  cache.recordLeaves(4, leaves(4, 'h4')); // evicts 2, the least recent
  assert.equal(cache.bytes, 3 * oneBlock);
  let reloaded = 0;
  cache.proof(2, 0, () => { reloaded++; return leaves(4, 'h2'); });
  assert.equal(reloaded, 1, 'block 2 was evicted');
  for (const h of [1, 4]) cache.proof(h, 0, () => assert.fail(`block ${h} is kept`));
  assert.ok(cache.bytes <= cache.bytesMax);
});

test('an entry larger than the whole cache is served and not kept', () => {
  const cache = new BlockCache(100);
  const l = leaves(8, 'big');
  let loads = 0;
  for (let k = 0; k < 2; k++) cache.proof(1, 5, () => { loads++; return l; });
  assert.equal(loads, 2);
  assert.equal(cache.bytes, 0);
});

test('full blocks are parsed once, deep-frozen, and count toward the bound', () => {
  const cache = new BlockCache(1 << 20);
  let loads = 0;
  const load = () => { loads++; return { txs: [{ id: 'a', receipt: { events: [{ type: 't' }] } }], textBytes: 50 }; };
  const first = cache.fullTxs(5, load);
  const again = cache.fullTxs(5, load);
  assert.equal(loads, 1);
  assert.equal(first, again);
  assert.ok(Object.isFrozen(first) && Object.isFrozen(first[0]!.receipt.events[0]));
  assert.throws(() => { (first[0] as { id: string }).id = 'b'; }, TypeError);
  assert.ok(cache.bytes >= 100);
});

test('a full block\'s JSON text is built once per block', () => {
  const cache = new BlockCache(1 << 20);
  let builds = 0;
  const build = () => { builds++; return { height: 3, txs: [{ id: 'a' }] }; };
  assert.equal(cache.fullJson(3, build).toString(), '{"height":3,"txs":[{"id":"a"}]}');
  assert.equal(cache.fullJson(3, build).toString(), '{"height":3,"txs":[{"id":"a"}]}');
  assert.equal(builds, 1);
  assert.equal(cache.bytes, 31);
  cache.fullJson(4, () => ({ memo: 'café' }));
  assert.equal(cache.bytes, 31 + 16, 'UTF-8 bytes');
});
