// Every issue kind `tally chain verify` reports, each caused by one tampering of an
// in-memory chain and asserted exactly: which kinds, at which heights, nothing else.
// Tampering re-signs what it changed (as a dishonest node would), so a check is only
// credited when it is the one that catches the change.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Envelope } from './envelope.js';
import { MemoryState } from './state.js';
import { buildTree } from './state-tree/stored.js';
import { verifyChain, type VerifyPins } from './replay.js';
import { lastCommitHashAfter, NO_COMMIT_HASH, validatorsHash } from '../core/header.js';
import { DEMO_FORBIDDEN, demoModule } from './testing/demo-module.js';
import { createTestChain, opensslAcceptsWeakKeys, testAccount, txRootOf, weakAccount, type MemorySource, type TestChain } from './testing/test-chain.js';
import { VerifierPool } from './verifier.js';

const modules = [demoModule()];
let pool: VerifierPool;
let chain: TestChain;
const alice = testAccount('alice');
const bob = testAccount('bob');
const carol = testAccount('carol');
const mallory = testAccount('mallory');
/** alice's nonce for the last stored transaction (block 4, index 1) */
let aliceLast: number;

before(() => {
  pool = new VerifierPool(1);
  chain = createTestChain(modules);
  const ok = (envs: Envelope[]) => {
    const out = chain.block(envs);
    assert.deepEqual(out.excluded, []);
    assert.ok(out.receipts.every((r) => r.status === 'ok'), JSON.stringify(out.receipts));
  };
  ok([chain.tx(alice, 'demo.open', {}), chain.tx(bob, 'demo.open', {})]);
  ok([chain.tx(alice, 'demo.put', { key: 'k1', value: 'v1' }), chain.tx(bob, 'demo.put', { key: 'k2', value: 'v2' })]);
  // Block 3 deletes a key; nothing in it depends on the block time.
  ok([chain.tx(alice, 'demo.del', { key: 'k1' }), chain.tx(bob, 'demo.put', { key: 'k3', value: 'v3' })]);
  aliceLast = alice.nonce;
  ok([chain.tx(bob, 'demo.put', { key: 'k4', value: 'v4' }), chain.tx(alice, 'demo.put', { key: 'k5', value: 'v5' })]);
  assert.equal(chain.height, 4);
});

after(() => pool.close());

/** The report's issues as "height:kind", in report order (by height). */
async function issues(source: MemorySource, pins?: VerifyPins): Promise<string[]> {
  const report = await verifyChain(source, modules, pool, () => {}, pins);
  assert.equal(report.ok, report.issues.length === 0);
  if (report.issues.length) assert.equal(report.firstDivergence, report.issues[0]!.height);
  return report.issues.map((i) => `${i.height}:${i.kind}`);
}

/**
 * Put `env` in place of the last stored transaction (block 4, index 1: alice's put). The
 * source is online (no stored state): the stored state is the honest chain's, and its
 * differences from the replay (state_extra, state_mismatch) are not what these tests test.
 */
function replaceLast(env: Envelope): MemorySource {
  const src = chain.source();
  src.state = undefined;
  src.replaceTx(4, 1, env);
  src.header(4).txRoot = txRootOf(src.blocks[4]!.txs.map((t) => t.receipt));
  src.reseal(4);
  return src;
}

const put = (extra: Record<string, unknown> = {}) => ({ key: 'k5', value: 'v5', ...extra });
/** A transaction the last stored one could have been, changed as given. */
const forged = (from: typeof alice, type: string, body: Record<string, unknown>, options: Parameters<TestChain['tx']>[3] = {}) =>
  chain.tx({ ...from }, type, body, { nonce: from === alice ? aliceLast : 0, ...options });

test('an untouched chain verifies, online and offline', async () => {
  assert.deepEqual(await issues(chain.source()), []);
  const online = chain.source();
  online.state = undefined;
  assert.deepEqual(await issues(online), []);
  const report = await verifyChain(chain.source(), modules, pool);
  assert.deepEqual({ height: report.height, blocks: report.blocks, txs: report.txs }, { height: 4, blocks: 5, txs: 8 });
});

describe('block links and headers', () => {
  test('broken_link: a block that points at another parent', async () => {
    const src = chain.source();
    src.header(2).prevHash = 'ab'.repeat(32);
    src.reseal(2);
    assert.deepEqual(await issues(src), ['2:broken_link']);
  });

  test('time_backwards: a block earlier than its parent', async () => {
    const src = chain.source();
    src.header(3).time = src.header(2).time - 1;
    src.reseal(3);
    assert.deepEqual(await issues(src), ['3:time_backwards']);
  });

  test('block_hash_mismatch: a stored hash that is not the header\'s', async () => {
    const src = chain.source();
    src.blocks[2]!.block.hash = 'cd'.repeat(32);
    src.relinkAfter(2);
    assert.deepEqual(await issues(src), ['2:block_hash_mismatch']);
  });

  test('bad_block_signature: a signature over other bytes', async () => {
    const src = chain.source();
    src.blocks[2]!.block.sig = src.blocks[1]!.block.sig;
    // Block 3 committed to block 2's real signature: the stored one is another commit.
    assert.deepEqual(await issues(src), ['2:bad_block_signature', '3:last_commit_mismatch']);
  });

  test('wrong_proposer: a block signed (validly) by another key', async () => {
    const src = chain.source();
    src.reseal(2, mallory.signer);
    assert.deepEqual(await issues(src), ['2:wrong_proposer']);
    // Pinning another node key: every block, block 0 included, is someone else's (and so
    // is its validator set: one issue per block, not two).
    assert.deepEqual(await issues(chain.source(), { nodeKey: mallory.pub }), [0, 1, 2, 3, 4].map((h) => `${h}:wrong_proposer`));
  });

  test('bad_height and wrong_chain: a header that names another height or chain', async () => {
    const src = chain.source();
    src.header(3).height = 7;
    src.reseal(3);
    assert.deepEqual(await issues(src), ['3:bad_height']);
    const other = chain.source();
    other.header(3).chain = 'other';
    other.reseal(3);
    assert.deepEqual(await issues(other), ['3:wrong_chain']);
  });

  test('tx_count: a header that counts another number of transactions, or none', async () => {
    const src = chain.source();
    src.header(3).txCount = 3;
    src.reseal(3);
    assert.deepEqual(await issues(src), ['3:tx_count']);
    // An empty block is not a block: a header and a store that agree on 0 transactions,
    // with roots that match (no writes), still break the 1..blockTxCountMax rule.
    const empty = chain.source();
    empty.state = undefined;
    empty.blocks[4]!.txs = [];
    Object.assign(empty.header(4), { txCount: 0, txRoot: txRootOf([]), stateRoot: empty.header(3).stateRoot });
    empty.reseal(4);
    assert.deepEqual(await issues(empty), ['4:tx_count']);
  });
});

describe('roots and receipts', () => {
  test('receipt_mismatch: a stored receipt replay does not reproduce', async () => {
    const src = chain.source();
    src.blocks[2]!.txs[0]!.receipt.events = [];
    assert.deepEqual(await issues(src), ['2:receipt_mismatch']);
    const failed = chain.source();
    Object.assign(failed.blocks[2]!.txs[1]!.receipt, { status: 'failed', code: 'refused', events: [] });
    assert.deepEqual(await issues(failed), ['2:receipt_mismatch']);
  });

  test('tx_root_mismatch: a header committing to other receipts', async () => {
    const src = chain.source();
    src.header(2).txRoot = txRootOf([src.blocks[2]!.txs[0]!.receipt]);
    src.reseal(2);
    assert.deepEqual(await issues(src), ['2:tx_root_mismatch']);
  });

  test('state_root_mismatch: at the tip, and mid-chain at that block alone (the tree is the replayed state\'s, not the header\'s)', async () => {
    const tip = chain.source();
    tip.header(4).stateRoot = 'ef'.repeat(32);
    tip.reseal(4);
    assert.deepEqual(await issues(tip), ['4:state_root_mismatch']);
    const mid = chain.source();
    mid.header(2).stateRoot = 'ef'.repeat(32);
    mid.reseal(2);
    assert.deepEqual(await issues(mid), ['2:state_root_mismatch']);
  });

  test('state_root_mismatch: a chain whose roots ignore deletions is caught where the deletion is', async () => {
    // Block 3 deletes demo/kv/k1. A node that left deletions out of the root, and chained
    // its later roots on that, is wrong exactly at block 3.
    const writes3 = chain.entries[3]!.writes;
    assert.ok([...writes3.values()].includes(null), 'block 3 deletes a key');
    const src = chain.source();
    const kept = new MemoryState();
    for (const e of chain.entries.slice(0, 4)) kept.apply(new Map([...e.writes].filter(([, v]) => v !== null)));
    src.header(3).stateRoot = buildTree(kept.map.entries(), 3).rootHash;
    src.reseal(3);
    assert.deepEqual(await issues(src), ['3:state_root_mismatch']);
  });

  test('tx_id_mismatch: a stored id that is not the envelope\'s hash', async () => {
    const src = chain.source();
    const t = src.blocks[2]!.txs[0]!;
    t.id = 'ee'.repeat(32);
    t.receipt.id = t.id;
    src.header(2).txRoot = txRootOf(src.blocks[2]!.txs.map((x) => x.receipt));
    src.reseal(2);
    assert.deepEqual(await issues(src), ['2:tx_id_mismatch']);
  });

  test('bad_signature and bad_envelope: a stored envelope whose signature or shape is wrong', async () => {
    const src = chain.source();
    src.blocks[4]!.txs[1]!.envelope.sig = src.blocks[4]!.txs[0]!.envelope.sig;
    assert.deepEqual(await issues(src), ['4:bad_signature']);
    const shape = chain.source();
    shape.state = undefined; // as replaceLast: the stored state's differences are tested below
    delete (shape.blocks[4]!.txs[1]!.envelope as Partial<Envelope>).pub;
    // Not executed, so its receipt and writes are missing from the replayed roots.
    assert.deepEqual(await issues(shape), ['4:bad_envelope', '4:tx_root_mismatch', '4:state_root_mismatch']);
  });
});

describe('transactions a block must not hold (replayed roots lack them, so both roots differ too)', () => {
  const rule = ['4:tx_root_mismatch', '4:state_root_mismatch'];

  test('bad_nonce: a nonce that skips one', async () => {
    assert.deepEqual(await issues(replaceLast(forged(alice, 'demo.put', put(), { nonce: aliceLast + 1 }))), ['4:bad_nonce', ...rule]);
  });

  test('expired and expires_too_far, against the block\'s own time', async () => {
    const t4 = Math.floor(chain.entries[4]!.block.header.time / 1000);
    assert.deepEqual(await issues(replaceLast(forged(alice, 'demo.put', put(), { expires: t4 - 1 }))), ['4:expired', ...rule]);
    // expires is inclusive: a transaction expiring at the block's second is valid in it.
    assert.deepEqual(await issues(replaceLast(forged(alice, 'demo.put', put(), { expires: t4 }))), []);
    assert.deepEqual(await issues(replaceLast(forged(alice, 'demo.put', put(), { expires: t4 + 24 * 3600 + 1 }))), ['4:expires_too_far', ...rule]);
  });

  test('bad_sender: an unknown account, or an opening whose id is not its key\'s', async () => {
    assert.deepEqual(await issues(replaceLast(forged(carol, 'demo.put', put()))), ['4:bad_sender', ...rule]);
    const dave = testAccount('dave');
    assert.deepEqual(await issues(replaceLast(forged(dave, 'demo.open', {}, { signer: carol.signer }))), ['4:bad_sender', ...rule]);
  });

  test('wrong_key: a known account signed for by another key', async () => {
    assert.deepEqual(await issues(replaceLast(forged(alice, 'demo.put', put(), { signer: mallory.signer }))), ['4:wrong_key', ...rule]);
  });

  test('weak_key: an account opened with a small-order key (its signature verifies where OpenSSL allows it)', async () => {
    const signature = opensslAcceptsWeakKeys() ? [] : ['4:bad_signature'];
    assert.deepEqual(await issues(replaceLast(forged(weakAccount(), 'demo.open', {}))), [...signature, '4:weak_key', ...rule]);
  });

  test('wrong_chain, unknown_type and bad_body in a transaction', async () => {
    assert.deepEqual(await issues(replaceLast(forged(alice, 'demo.put', put(), { chain: 'other' }))), ['4:wrong_chain', ...rule]);
    assert.deepEqual(await issues(replaceLast(forged(alice, 'demo.nope', put()))), ['4:unknown_type', ...rule]);
    assert.deepEqual(await issues(replaceLast(forged(alice, 'demo.put', put({ extra: 1 })))), ['4:bad_body', ...rule]);
  });
});

describe('genesis and stored state', () => {
  test('genesis_mismatch: a pinned genesis that is not the chain\'s, or a block 0 that is not the genesis\'s', async () => {
    const pinned = { ...chain.genesis, time: chain.genesis.time + 1 };
    assert.deepEqual(await issues(chain.source(), { genesis: pinned }), ['0:genesis_mismatch']);
    const src = chain.source();
    src.genesisDoc.time += 1;
    // Block 0's header (its time) and its link (the genesis hash) both disagree.
    assert.deepEqual(await issues(src), ['0:genesis_mismatch', '0:genesis_mismatch']);
  });

  test('state_extra, state_missing and state_mismatch against the replayed state', async () => {
    const extra = chain.source();
    extra.state!.set('demo/kv/zz', { v: '"x"', h: 2 });
    assert.deepEqual(await issues(extra), ['2:state_extra']);
    const missing = chain.source();
    assert.ok(missing.state!.delete('demo/kv/k2'));
    assert.deepEqual(await issues(missing), ['4:state_missing']);
    const changed = chain.source();
    const row = changed.state!.get('demo/kv/k3')!;
    assert.equal(row.h, 3);
    changed.state!.set('demo/kv/k3', { ...row, v: row.v.replace('v3', 'v9') });
    assert.deepEqual(await issues(changed), ['3:state_mismatch']);
  });

  test('invariant_broken: in the stored state, and in the replayed state (a module bug)', async () => {
    const stored = chain.source();
    const row = stored.state!.get('demo/kv/k3')!;
    stored.state!.set('demo/kv/k3', { ...row, v: row.v.replace('v3', DEMO_FORBIDDEN) });
    assert.deepEqual(await issues(stored), ['3:state_mismatch', '4:invariant_broken']);

    // demo.put lets the forbidden value through: the chain itself breaks the invariant.
    const buggy = createTestChain(modules);
    const eve = testAccount('eve');
    buggy.block([buggy.tx(eve, 'demo.open', {})]);
    assert.equal(buggy.block([buggy.tx(eve, 'demo.put', { key: 'k', value: DEMO_FORBIDDEN })]).receipts[0]!.status, 'ok');
    assert.equal(buggy.invariants().length, 1);
    // Offline the stored state equals the replayed one, so only the replayed one is checked
    // (the same invariants, the same answer); online there is only the replayed one.
    const offline = await verifyChain(buggy.source(), modules, pool);
    assert.deepEqual(offline.issues.map((i) => [i.height, i.kind]), [[2, 'invariant_broken']]);
    assert.match(offline.issues[0]!.message, /replayed state: demo\/kv\/k holds the forbidden value/);
    const online = buggy.source();
    online.state = undefined;
    const report = await verifyChain(online, modules, pool);
    assert.deepEqual(report.issues.map((i) => [i.height, i.kind]), [[2, 'invariant_broken']]);
    assert.match(report.issues[0]!.message, /replayed state: demo\/kv\/k holds the forbidden value/);
  });
});

describe('header versions: a chain made before the state tree, upgraded at a height', () => {
  let old: TestChain;
  before(() => {
    // Blocks 0..2 follow the version 1 rule (the hash chain); 3 and 4 the state tree.
    old = createTestChain(modules, {}, testAccount('node'), { stateTreeFrom: 3 });
    const a = testAccount('alice');
    const b = testAccount('bob');
    old.block([old.tx(a, 'demo.open', {}), old.tx(b, 'demo.open', {})]);
    old.block([old.tx(a, 'demo.put', { key: 'k1', value: 'v1' })]);
    old.block([old.tx(a, 'demo.del', { key: 'k1' }), old.tx(b, 'demo.put', { key: 'k2', value: 'v2' })]);
    old.block([old.tx(b, 'demo.put', { key: 'k3', value: 'v3' })]);
  });

  test('versions 1 then 3 verify, and the switch builds the tree from the replayed state', async () => {
    assert.deepEqual(old.entries.map((e) => e.block.header.version), [undefined, undefined, undefined, 3, 3]);
    assert.deepEqual(await issues(old.source()), []);
    // The proofs start at the switch's parent.
    assert.equal(old.tree!.prove('demo/kv/k2', 4).value, old.state.get('demo/kv/k2'));
    assert.match(old.tree!.prove('demo/kv/k1', 2).value!, /"b":"v1"/); // the value at the switch's height
    assert.equal(old.tree!.prove('demo/kv/k1', 3).value, null); // deleted in block 3
    assert.throws(() => old.tree!.prove('demo/kv/k2', 1), /no state tree at height 1/);
  });

  test('bad_version: a version 1 block after a version 2 block, or an unknown version', async () => {
    const down = old.source();
    delete down.header(4).version;
    down.reseal(4);
    assert.deepEqual(await issues(down), ['4:bad_version']);
    const unknown = old.source();
    (unknown.header(4) as { version?: number }).version = 4;
    unknown.reseal(4);
    assert.deepEqual(await issues(unknown), ['4:bad_version']);
  });

  test('a version 1 root in a version 2 block is a state_root_mismatch', async () => {
    const src = old.source();
    src.header(3).stateRoot = src.header(2).stateRoot;
    src.reseal(3);
    assert.deepEqual(await issues(src), ['3:state_root_mismatch']);
  });
});

describe('header version 3: validatorsHash and lastCommitHash', () => {
  let v2: TestChain;
  before(() => {
    // A chain made with version 2 headers (0..2), upgraded: 3 and 4 are version 3.
    v2 = createTestChain(modules, {}, testAccount('node'), { commitsFrom: 3 });
    const a = testAccount('alice');
    for (let i = 0; i < 4; i++) v2.block([v2.tx(a, i === 0 ? 'demo.open' : 'demo.put', i === 0 ? {} : { key: `k${i}`, value: 'v' })]);
  });

  test('versions 2 then 3 verify; the first version 3 block commits to its version 2 parent', async () => {
    assert.deepEqual(v2.entries.map((e) => e.block.header.version), [2, 2, 2, 3, 3]);
    assert.equal(v2.entries[3]!.block.header.lastCommitHash, lastCommitHashAfter(v2.entries[2]!.block));
    assert.deepEqual(await issues(v2.source()), []);
    assert.deepEqual(chain.entries.map((e) => e.block.header.version), [3, 3, 3, 3, 3], 'a new chain is version 3 from block 0');
    assert.equal(chain.entries[0]!.block.header.lastCommitHash, NO_COMMIT_HASH);
  });

  test('bad_version: a version 2 block after a version 3 block, or a version 2 block with the new fields', async () => {
    const down = v2.source();
    const { validatorsHash: _v, lastCommitHash: _l, ...rest } = down.header(4);
    down.blocks[4]!.block.header = { ...rest, version: 2 };
    down.reseal(4);
    assert.deepEqual(await issues(down), ['4:bad_version']);
    const extra = v2.source();
    extra.header(2).lastCommitHash = NO_COMMIT_HASH;
    extra.reseal(2);
    assert.deepEqual(await issues(extra), ['2:bad_version']);
  });

  test('validators_hash_mismatch: a header naming another validator set', async () => {
    const src = chain.source();
    src.header(2).validatorsHash = validatorsHash([{ key: testAccount('node').pub, power: 2 }]);
    src.reseal(2);
    assert.deepEqual(await issues(src), ['2:validators_hash_mismatch']);
  });

  test('last_commit_mismatch: a header naming another commit, at 0 and after', async () => {
    const src = chain.source();
    src.header(3).lastCommitHash = lastCommitHashAfter(src.blocks[1]!.block);
    src.seal(3);
    src.header(4).prevHash = src.blocks[3]!.block.hash;
    src.header(4).lastCommitHash = lastCommitHashAfter(src.blocks[3]!.block);
    src.seal(4);
    assert.deepEqual(await issues(src), ['3:last_commit_mismatch']);
    const zero = chain.source();
    zero.header(0).lastCommitHash = 'ab'.repeat(32);
    zero.reseal(0);
    assert.deepEqual(await issues(zero), ['0:genesis_mismatch', '0:last_commit_mismatch']);
  });
});

describe('a directory that started from a snapshot at height 2 (blocks 1 and the transactions of 1, 2 absent)', () => {
  /** The chain as `init --from-snapshot` at height 2 leaves it: block 0, blocks 2 to 4, the state at 2 kept. */
  function fromSnapshot(H = 2): MemorySource & { base: Map<string, string> } {
    const src = chain.source();
    const atH = new MemoryState();
    for (const e of chain.entries.slice(0, H + 1)) atH.apply(e.writes);
    for (let h = 1; h < H; h++) src.blocks[h] = undefined as never; // a read of it fails the test
    src.blocks[H]!.txs = [];
    const base = new Map(atH.map);
    return Object.assign(src, { base, snapshotBase: () => ({ height: H, entries: () => [...base] }) });
  }

  test('verifies from H: block H and the kept state against its stateRoot, then H+1 to the tip; says where it started', async () => {
    const report = await verifyChain(fromSnapshot(), modules, pool);
    assert.deepEqual(report.issues, []);
    assert.deepEqual({ blocks: report.blocks, txs: report.txs, height: report.height }, { blocks: 4, txs: 4, height: 4 });
    assert.equal(report.snapshot?.height, 2);
    assert.equal(report.snapshot.hash, chain.entries[2]!.block.hash);
    assert.match(report.snapshot.note, /^history before height 2 was not verified: this directory started from a snapshot at height 2 /);
    // At the tip: nothing to replay, still checked.
    const atTip = await verifyChain(fromSnapshot(4), modules, pool);
    assert.deepEqual([atTip.ok, atTip.blocks, atTip.txs], [true, 2, 0]);
    // A chain from genesis says nothing of snapshots.
    assert.equal((await verifyChain(chain.source(), modules, pool)).snapshot, undefined);
  });

  test('a changed kept value: the state tree at H is not block H\'s stateRoot', async () => {
    const src = fromSnapshot();
    src.base.set('demo/kv/k2', src.base.get('demo/kv/k2')!.replace('v2', 'v9'));
    const found = await issues(src);
    assert.equal(found[0], '2:state_root_mismatch', found.join(', '));
  });

  test('block H re-signed by another key, or with another stateRoot, or of another chain', async () => {
    const other = testAccount('other');
    const signedByOther = fromSnapshot();
    signedByOther.reseal(2, other.signer);
    assert.deepEqual(await issues(signedByOther), ['2:wrong_proposer']);
    const root = fromSnapshot();
    root.header(2).stateRoot = root.header(3).stateRoot;
    root.reseal(2);
    assert.deepEqual(await issues(root), ['2:state_root_mismatch']);
    const chainId = fromSnapshot();
    chainId.header(2).chain = 'elsewhere';
    chainId.reseal(2);
    assert.deepEqual(await issues(chainId), ['2:wrong_chain']);
  });

  test('no kept state (an older init): snapshot_base_missing, nothing replayed', async () => {
    const src = Object.assign(fromSnapshot(), { snapshotBase: () => ({ height: 2 }) });
    const report = await verifyChain(src, modules, pool);
    assert.deepEqual(report.issues.map((i) => `${i.height}:${i.kind}`), ['2:snapshot_base_missing']);
    assert.equal(report.snapshot?.height, 2);
  });
});
