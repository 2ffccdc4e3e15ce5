// The web page's checks (web/src/verify.ts), bundled exactly as the page bundles them (with
// the browser shims for src/core/hash.ts and encoding.ts), run in Node against blocks,
// transactions and proofs the node's own code makes: what the node signs verifies, and
// each way of lying about it does not, including lies a byte-flipping proxy cannot tell.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { canonicalJson } from '../src/core/canonical.js';
import { toHex, utf8 } from '../src/core/encoding.js';
import { hash } from '../src/core/hash.js';
import { generateSigner } from '../src/core/keys.js';
import { leafHash, merkleProof, merkleRoot } from '../src/core/merkle.js';
import { NO_COMMIT_HASH, singleValidator, validatorsHash } from '../src/core/header.js';
import { blockHash, signHeader, type BlockHeader, type SignedBlock } from '../src/chain/blocks.js';
import { receiptLeafBytes, signTx, txId, type Receipt } from '../src/chain/envelope.js';
import { ROOT, tempDir } from './helpers.js';

type Verdict = { ok: true } | { ok: false; reason: string };
interface FullBlock extends SignedBlock { txs: Array<{ id: string; envelope: ReturnType<typeof signTx>; receipt: Receipt }> }
interface WebVerify {
  headerHash(h: BlockHeader): string;
  txIdOf(tx: unknown): string;
  verifyBlock(b: SignedBlock, key: string | null): Verdict;
  verifyFullBlock(b: FullBlock, key: string | null): Verdict;
  verifyInclusion(view: FullBlock['txs'][number], proof: unknown, key: string | null): Verdict;
  verifyGenesis(genesis: unknown, block0: SignedBlock, key: string | null): Verdict;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const failsWith = (v: Verdict, pattern: RegExp) => {
  assert.equal(v.ok, false, 'must not verify');
  assert.match((v as { reason: string }).reason, pattern);
};

describe('the web page\'s checks, as bundled for the browser', () => {
  let web: WebVerify;
  const node = generateSigner().signer;
  const other = generateSigner().signer;
  const sender = generateSigner().signer;
  let block: FullBlock;
  let proofs: Array<{ receipt: Receipt; leaf: string; proof: ReturnType<typeof merkleProof>; block: SignedBlock }>;

  before(async () => {
    const { browserShims } = await import(pathToFileURL(path.join(ROOT, 'web', 'esbuild-shims.mjs')).href) as { browserShims: esbuild.Plugin };
    const outfile = path.join(tempDir('tally-web-'), 'verify.mjs');
    const built = await esbuild.build({
      entryPoints: [path.join(ROOT, 'web', 'src', 'verify.ts')], bundle: true, format: 'esm', platform: 'browser',
      outfile, plugins: [browserShims], metafile: true, logLevel: 'silent',
    });
    const inputs = Object.keys(built.metafile.inputs);
    assert.ok(inputs.some((i) => i.endsWith('web/src/shims/hash.ts')) && !inputs.some((i) => i.includes('hash-wasm')), 'the browser shims are what is tested');
    web = await import(pathToFileURL(outfile).href) as WebVerify;

    // Three transactions (an odd count: the last leaf is promoted), made and signed by the node's code.
    const from = toHex(hash(utf8.encode('tally/account/v1\n'))).slice(0, 40);
    const txs = [0, 1, 2].map((nonce) => {
      const envelope = signTx({ chain: 'web-test', type: 'ledger.send', from, nonce, expires: 2_000_000_000, body: { to: 'bob', amount: `${nonce + 1}` } }, sender);
      const receipt: Receipt = { id: txId(envelope.tx), height: 5, index: nonce, status: 'ok', events: [{ type: 'ledger.transfer', from, to: 'x', amount: `${nonce + 1}` }] as Receipt['events'] };
      return { id: receipt.id, envelope, receipt };
    });
    const leaves = txs.map((t) => leafHash(receiptLeafBytes(t.receipt)));
    const header: BlockHeader = { version: 2, chain: 'web-test', height: 5, prevHash: 'ab'.repeat(32), time: 1_700_000_000_000, txRoot: merkleRoot(leaves), stateRoot: 'cd'.repeat(32), txCount: 3, proposer: node.pub };
    block = { ...signHeader(header, node), txs };
    proofs = txs.map((t, i) => ({ receipt: t.receipt, leaf: toHex(leaves[i]!), proof: merkleProof(leaves, i), block: signHeader(header, node) }));
  });

  it('hashes headers and transactions as the node does', () => {
    assert.equal(web.headerHash(block.header), blockHash(block.header));
    for (const t of block.txs) assert.equal(web.txIdOf(t.envelope.tx), t.id);
  });

  it('verifies what the node signed: the block, its transactions, each inclusion proof', () => {
    assert.deepEqual(web.verifyBlock(block, node.pub), { ok: true });
    assert.deepEqual(web.verifyFullBlock(block, node.pub), { ok: true });
    for (const [i, p] of proofs.entries()) assert.deepEqual(web.verifyInclusion(block.txs[i]!, p, node.pub), { ok: true });
  });

  it('refuses a block without a pinned key, or made by another key', () => {
    failsWith(web.verifyBlock(block, null), /no node key is pinned/);
    failsWith(web.verifyBlock(block, other.pub), /not made by the pinned node key/);
    const forged = signHeader({ ...block.header, proposer: other.pub }, other);
    failsWith(web.verifyBlock(forged, node.pub), /not made by the pinned node key/);
  });

  it('checks a version 3 header\'s validator set like the node does', () => {
    const v3: BlockHeader = { ...block.header, version: 3, validatorsHash: validatorsHash(singleValidator(node.pub)), lastCommitHash: NO_COMMIT_HASH };
    assert.equal(web.headerHash(v3), blockHash(v3));
    assert.deepEqual(web.verifyBlock(signHeader(v3, node), node.pub), { ok: true });
    const otherSet = { ...v3, validatorsHash: validatorsHash(singleValidator(other.pub)) };
    failsWith(web.verifyBlock(signHeader(otherSet, node), node.pub), /validatorsHash/);
  });

  it('refuses a header changed with its hash recomputed (only the signature can tell)', () => {
    const header = { ...block.header, stateRoot: 'ef'.repeat(32) };
    failsWith(web.verifyBlock({ hash: blockHash(header), header, sig: block.sig }, node.pub), /signature does not verify/);
    failsWith(web.verifyBlock({ ...block, sig: other.sign(utf8.encode('tally/block/v1\n' + canonicalJson(block.header))) }, node.pub), /signature does not verify/);
  });

  it('refuses a full block whose transactions are not the ones its txRoot commits to', () => {
    const dropped = clone(block);
    dropped.txs.pop();
    failsWith(web.verifyFullBlock(dropped, node.pub), /txCount/);
    const swapped = clone(block);
    [swapped.txs[0], swapped.txs[1]] = [swapped.txs[1]!, swapped.txs[0]!];
    failsWith(web.verifyFullBlock(swapped, node.pub), /another position/);
    const body = clone(block);
    body.txs[1]!.envelope.tx.body.amount = '1000';
    failsWith(web.verifyFullBlock(body, node.pub), /id is not the hash/);
    const resigned = clone(block);
    resigned.txs[1]!.envelope.sig = other.sign(utf8.encode('tally/tx/v1\n' + canonicalJson(resigned.txs[1]!.envelope.tx)));
    failsWith(web.verifyFullBlock(resigned, node.pub), /signature does not verify/);
    const status = clone(block);
    status.txs[2]!.receipt.status = 'failed';
    failsWith(web.verifyFullBlock(status, node.pub), /txRoot/);
  });

  it('refuses an inclusion proof that does not fold to the signed txRoot', () => {
    const sibling = clone(proofs[0]!);
    sibling.proof.siblings[0] = '00'.repeat(32);
    failsWith(web.verifyInclusion(block.txs[0]!, sibling, node.pub), /txRoot/);
    failsWith(web.verifyInclusion(block.txs[0]!, proofs[1], node.pub), /another receipt/);
    const count = clone(proofs[2]!);
    count.proof.count = 4;
    failsWith(web.verifyInclusion(block.txs[2]!, count, node.pub), /transaction count/);
    const extra = clone(proofs[2]!);
    extra.proof.siblings.push('00'.repeat(32));
    failsWith(web.verifyInclusion(block.txs[2]!, extra, node.pub), /unused siblings|txRoot/);
    failsWith(web.verifyInclusion(block.txs[0]!, { ...proofs[0]!, block: { ...block, sig: block.sig.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) } }, node.pub), /signature/);
  });

  it('checks the genesis document against block 0', () => {
    const genesis = { chain: 'web-test', time: 1, decimals: 6, modules: {} };
    const g = toHex(hash(utf8.encode('tally/genesis/v1\n' + canonicalJson(genesis))));
    const block0 = signHeader({ version: 2, chain: 'web-test', height: 0, prevHash: g, time: 1, txRoot: merkleRoot([]), stateRoot: 'cd'.repeat(32), txCount: 0, proposer: node.pub }, node);
    assert.deepEqual(web.verifyGenesis(genesis, block0, node.pub), { ok: true });
    failsWith(web.verifyGenesis({ ...genesis, decimals: 2 }, block0, node.pub), /does not hash/);
  });
});
