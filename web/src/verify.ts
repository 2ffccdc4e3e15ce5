// Everything the page checks, in the browser, against the node key the user pinned. The
// rules are the node's own code from src/core (canonical JSON, BLAKE3, Merkle folding,
// state proofs); the few lines here only join them up. README, "Verifying Tally yourself".
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { canonicalJson } from '../../src/core/canonical.js';
import { checkSignedHeader } from '../../src/core/header.js';
import { leafHash, merkleRoot, rootFromProof } from '../../src/core/merkle.js';
import { ed25519VerifyPure, verifyStateBundle, type ProvenState } from '../../src/core/state-bundle.js';
import type { Envelope, FullBlock, Receipt, SignedBlock, TxView } from './api.js';

/** The block hash, as src/core/header.ts defines it (exported for the bundle's test). */
export { headerHash } from '../../src/core/header.js';

export type Verdict = { ok: true } | { ok: false; reason: string };
const good: Verdict = { ok: true };
const bad = (reason: string): Verdict => ({ ok: false, reason });

const TX_DOMAIN = 'tally/tx/v1\n';
const RECEIPT_DOMAIN = 'tally/receipt/v1\n';
const GENESIS_DOMAIN = 'tally/genesis/v1\n';

const blake3Hex = (text: string): string => bytesToHex(blake3(utf8ToBytes(text)));

export function txIdOf(tx: Envelope['tx']): string {
  return blake3Hex(TX_DOMAIN + canonicalJson(tx));
}

export function receiptLeaf(receipt: Receipt): Uint8Array {
  return leafHash(utf8ToBytes(RECEIPT_DOMAIN + canonicalJson(receipt)));
}

/** A signed header: made by the pinned key, hashes to its hash, signature verifies. */
export function verifyBlock(block: SignedBlock, nodeKey: string | null): Verdict {
  if (!nodeKey) return bad('no node key is pinned');
  // The node's own header rules (hash, proposer, signature, a version 3 header's validator
  // set): src/core/header.ts, with the pure Ed25519 check.
  const check = checkSignedHeader(block, nodeKey, ed25519VerifyPure);
  if (check.ok) return good;
  switch (check.code) {
    case 'wrong_proposer': return bad('the block was not made by the pinned node key');
    case 'block_hash_mismatch': return bad('the block hash is not the hash of its header');
    case 'bad_block_signature': return bad('the block signature does not verify with the pinned key');
    default: return bad(`malformed block: ${check.reason}`);
  }
}

/** One transaction as the node shows it: its id is its hash, its sender's key signed it, the receipt names it. */
export function verifyTxView(view: TxView): Verdict {
  try {
    const text = TX_DOMAIN + canonicalJson(view.envelope.tx);
    if (blake3Hex(text) !== view.id) return bad('the transaction id is not the hash of the transaction');
    if (view.receipt.id !== view.id) return bad('the receipt is of another transaction');
    if (!ed25519VerifyPure(view.envelope.pub, utf8ToBytes(text), view.envelope.sig)) return bad('the sender\'s signature does not verify');
    return good;
  } catch (err) {
    return bad(`malformed transaction: ${(err as Error).message}`);
  }
}

/** A full block: the header as above, and its transactions are exactly those its txRoot commits to. */
export function verifyFullBlock(block: FullBlock, nodeKey: string | null): Verdict {
  const head = verifyBlock(block, nodeKey);
  if (!head.ok) return head;
  if (!Array.isArray(block.txs) || block.txs.length !== block.header.txCount) return bad('the block does not carry txCount transactions');
  for (const [i, t] of block.txs.entries()) {
    if (t.receipt.height !== block.header.height || t.receipt.index !== i) return bad(`transaction ${i}: its receipt is for another position`);
    const v = verifyTxView(t);
    if (!v.ok) return bad(`transaction ${i}: ${v.reason}`);
  }
  try {
    if (merkleRoot(block.txs.map((t) => receiptLeaf(t.receipt))) !== block.header.txRoot) return bad('the receipts do not lead to the header\'s txRoot');
  } catch (err) {
    return bad(`malformed receipts: ${(err as Error).message}`);
  }
  return good;
}

export interface ProofView { receipt: Receipt; leaf: string; proof: { index: number; count: number; siblings: string[] }; block: SignedBlock }

/** A transaction's inclusion: its receipt folds up to the txRoot of a block the pinned key signed. */
export function verifyInclusion(view: TxView, proof: ProofView, nodeKey: string | null): Verdict {
  const tx = verifyTxView(view);
  if (!tx.ok) return tx;
  try {
    if (canonicalJson(proof.receipt) !== canonicalJson(view.receipt)) return bad('the proof is of another receipt');
    const leaf = receiptLeaf(proof.receipt);
    if (bytesToHex(leaf) !== proof.leaf) return bad('the receipt does not hash to the leaf');
    if (proof.receipt.height !== proof.block.header.height) return bad('the receipt is for another block');
    if (proof.proof.count !== proof.block.header.txCount) return bad('the proof does not cover the block\'s transaction count');
    if (rootFromProof(leaf, proof.proof) !== proof.block.header.txRoot) return bad('the proof does not lead to the header\'s txRoot');
  } catch (err) {
    return bad(`malformed proof: ${(err as Error).message}`);
  }
  return verifyBlock(proof.block, nodeKey);
}

/** An account bundle from GET /v1/accounts/:name/proof (src/core/state-bundle.ts). */
export function verifyAccountBundle(bundle: unknown, nodeKey: string | null): { ok: true; proven: ProvenState } | { ok: false; reason: string } {
  if (!nodeKey) return { ok: false, reason: 'no node key is pinned' };
  return verifyStateBundle(bundle, nodeKey, ed25519VerifyPure);
}

/** The genesis document: its hash is what the node reports and what block 0 (verified) points back to. */
export function verifyGenesis(genesis: unknown, block0: SignedBlock, nodeKey: string | null): Verdict {
  const head = verifyBlock(block0, nodeKey);
  if (!head.ok) return head;
  try {
    if (blake3Hex(GENESIS_DOMAIN + canonicalJson(genesis)) !== block0.header.prevHash) return bad('the genesis document does not hash to block 0\'s prevHash');
  } catch (err) {
    return bad(`malformed genesis: ${(err as Error).message}`);
  }
  return good;
}

/**
 * One state key from GET /v1/state/proof?key=K (src/core/state-bundle.ts): the bundle checks
 * out against the pinned key and is about `key`, not another one the node chose to prove.
 * The value is the proven text parsed (null: proven absent).
 */
export function verifyKeyBundle(bundle: unknown, key: string, nodeKey: string | null): { ok: true; proven: ProvenState; value: unknown } | { ok: false; reason: string } {
  if (!nodeKey) return { ok: false, reason: 'no node key is pinned' };
  const v = verifyStateBundle(bundle, nodeKey, ed25519VerifyPure);
  if (!v.ok) return v;
  const entry = v.proven.entries.find((e) => e.key === key);
  if (!entry || v.proven.entries.length !== 1) return { ok: false, reason: `the proof is not about ${key}` };
  try {
    return { ok: true, proven: v.proven, value: entry.value === null ? null : JSON.parse(entry.value) };
  } catch {
    return { ok: false, reason: 'the proven value is not JSON' };
  }
}
