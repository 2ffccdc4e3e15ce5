// The README's test vectors ("Verifying Tally yourself"): a tiny chain built
// deterministically from fixed Ed25519 seeds, a fixed genesis and fixed block times, with
// the same executor, kernel and header signing the node uses. Ed25519 signatures are
// deterministic (RFC 8032), so every byte is reproducible.
//
// Print the block for the README: npm run build && node dist/test/spec-chain.js
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { signHeader, type BlockHeader, type SignedBlock } from '../src/chain/blocks.js';
import { receiptLeafBytes, signTx, txId, type Envelope, type Receipt, type Tx } from '../src/chain/envelope.js';
import { executeBlock } from '../src/chain/execute.js';
import { genesisHash, validateGenesis, type Genesis } from '../src/chain/genesis.js';
import { chainParams, genesisBlockParts } from '../src/chain/genesis-block.js';
import { Kernel } from '../src/chain/kernel.js';
import { MemoryState, type Writes } from '../src/chain/state.js';
import { MemoryTree } from '../src/chain/state-tree/memory.js';
import { toHex } from '../src/core/encoding.js';
import { lastCommitHashAfter, singleValidator, validatorsHash } from '../src/core/header.js';
import { accountIdFromPub, signerFromPrivateKey, type Signer } from '../src/core/keys.js';
import { EMPTY_ROOT, leafHash, merkleProof, type MerkleProof } from '../src/core/merkle.js';
import { statementDigest } from '../src/modules/ledger/txs.js';
import { signRotateBody } from '../src/chain/auth-rotate.js';
import { chainModules } from '../src/modules/index.js';

export const BEGIN = '<!-- spec-vectors:begin -->';
export const END = '<!-- spec-vectors:end -->';

const SEEDS = { alice: '01'.repeat(32), bob: '02'.repeat(32), node: '03'.repeat(32), alice2: '04'.repeat(32) };
const GENESIS_TIME = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const EXPIRES = 1_767_229_200; // one hour later, in seconds
const STATEMENT = 'I agree to the terms';

export interface VectorBlock extends SignedBlock {
  /** the block's state changes as the stateRoot hashes them: [key, canonical value | null], sorted by key */
  writes: Array<[string, string | null]>;
  txs: Array<{ id: string; envelope: Envelope; receipt: Receipt }>;
}

export interface SpecVectors {
  emptyRoot: string;
  keys: Record<'alice' | 'bob' | 'node' | 'alice2', { seed: string; pub: string; id: string }>;
  statement: { text: string; digest: string };
  genesis: Genesis;
  genesisHash: string;
  blocks: VectorBlock[];
  proofs: Array<{ tx: string; leaf: string; proof: MerkleProof }>;
}

export function signerFromSeed(seedHex: string): Signer {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedHex, 'hex')]);
  return signerFromPrivateKey(crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
}

const sortedWrites = (writes: Writes): Array<[string, string | null]> =>
  [...writes.keys()].sort().map((k) => [k, writes.get(k) ?? null]);

export function buildSpecVectors(): SpecVectors {
  const alice = signerFromSeed(SEEDS.alice);
  const bob = signerFromSeed(SEEDS.bob);
  const node = signerFromSeed(SEEDS.node);
  const alice2 = signerFromSeed(SEEDS.alice2);
  const aliceId = accountIdFromPub(alice.pub);
  const bobId = accountIdFromPub(bob.pub);

  const genesis = validateGenesis({
    chain: 'spec-vectors',
    time: GENESIS_TIME,
    decimals: 2,
    modules: { ledger: { registration: { policy: 'open', grant: '100' }, accounts: [{ name: 'alice', pub: alice.pub, balance: '500' }], admins: ['alice'] } },
  }, chainModules);
  const kernel = new Kernel(chainModules, chainParams(genesis));
  const state = new MemoryState();

  const zero = genesisBlockParts(genesis, kernel, node.pub);
  state.apply(zero.writes);
  const tree = new MemoryTree();
  tree.apply(zero.tree!);
  const blocks: VectorBlock[] = [{ ...signHeader(zero.header, node), writes: sortedWrites(zero.writes), txs: [] }];

  const tx = (signer: Signer, from: string, nonce: number, type: string, body: Record<string, unknown>): Envelope =>
    signTx({ chain: genesis.chain, type, from, nonce, expires: EXPIRES, body } satisfies Tx, signer);

  const addBlock = (time: number, envelopes: Envelope[]) => {
    const prev = blocks[blocks.length - 1]!;
    const height = prev.header.height + 1;
    const txs = envelopes.map((env) => ({ id: txId(env.tx), env }));
    const result = executeBlock({ get: (k) => state.get(k), range: (p, a, l) => state.range(p, a, l), stateRoot: prev.header.stateRoot, tree: { reader: tree, version: tree.tip } }, { height, time }, txs, kernel);
    if (result.excluded.length > 0) throw new Error(`spec chain: block ${height} excludes a transaction: ${result.excluded[0]!.error.message}`);
    const header: BlockHeader = {
      version: 3,
      chain: genesis.chain, height, prevHash: prev.hash, time, txRoot: result.txRoot, stateRoot: result.stateRoot, txCount: txs.length, proposer: node.pub,
      validatorsHash: validatorsHash(singleValidator(node.pub)), lastCommitHash: lastCommitHashAfter(prev),
    };
    state.apply(result.writes);
    tree.apply(result.tree!);
    blocks.push({
      ...signHeader(header, node),
      writes: sortedWrites(result.writes),
      txs: txs.map((t, i) => ({ id: t.id, envelope: t.env, receipt: result.receipts[i]! })),
    });
  };

  addBlock(GENESIS_TIME + 1000, [tx(bob, bobId, 0, 'ledger.register', { name: 'bob' })]);
  addBlock(GENESIS_TIME + 2000, [
    tx(alice, aliceId, 0, 'ledger.send', { to: 'bob', amount: '12.5', memo: 'lunch' }),
    tx(bob, bobId, 1, 'ledger.send', { to: aliceId, amount: '1' }),
    tx(alice, aliceId, 1, 'ledger.sign', { text: STATEMENT }),
  ]);

  // Block 3: alice moves her account to a new key, which then signs for it.
  addBlock(GENESIS_TIME + 3000, [
    tx(alice, aliceId, 2, 'auth.rotate', { ...signRotateBody(genesis.chain, aliceId, 2, alice2) }),
    tx(alice2, aliceId, 3, 'ledger.send', { to: bobId, amount: '2' }),
  ]);

  const last = blocks[2]!;
  const leaves = last.txs.map((t) => leafHash(receiptLeafBytes(t.receipt)));
  const proofs = [0, 2].map((i) => ({ tx: last.txs[i]!.id, leaf: toHex(leaves[i]!), proof: merkleProof(leaves, i) }));

  return {
    emptyRoot: EMPTY_ROOT,
    keys: {
      alice: { seed: SEEDS.alice, pub: alice.pub, id: aliceId },
      bob: { seed: SEEDS.bob, pub: bob.pub, id: bobId },
      node: { seed: SEEDS.node, pub: node.pub, id: accountIdFromPub(node.pub) },
      alice2: { seed: SEEDS.alice2, pub: alice2.pub, id: accountIdFromPub(alice2.pub) },
    },
    statement: { text: STATEMENT, digest: statementDigest({ text: STATEMENT }) },
    genesis,
    genesisHash: genesisHash(genesis),
    blocks,
    proofs,
  };
}

/** JSON with the outer levels spread over lines; small objects and flat arrays (a write, the siblings) on one line. */
export function formatVectors(value: unknown, depth = 0): string {
  const pad = '  '.repeat(depth + 1);
  const flat = JSON.stringify(value);
  const primitives = Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object');
  if (value === null || typeof value !== 'object' || primitives || flat.length + depth * 2 <= 110 || depth >= 5) return flat;
  if (Array.isArray(value)) return `[\n${value.map((v) => pad + formatVectors(v, depth + 1)).join(',\n')}\n${'  '.repeat(depth)}]`;
  const entries = Object.entries(value).map(([k, v]) => `${pad}${JSON.stringify(k)}: ${formatVectors(v, depth + 1)}`);
  return `{\n${entries.join(',\n')}\n${'  '.repeat(depth)}}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`${BEGIN}\n\`\`\`json\n${formatVectors(buildSpecVectors())}\n\`\`\`\n${END}`);
}
