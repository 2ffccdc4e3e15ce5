// A self-contained proof that a record was signed by a given time, checkable offline
// against nothing but the node key one trusts: the record and its signature, the signing
// key, the Merkle path from the record's leaf to its batch root, and the anchor: the
// transaction carrying the root (signed by the node key), its receipt, the receipt's
// Merkle path to the block's txRoot, and the block header signed by the node key. The
// steps are those of "Proving when a record was signed" in the README, in one file.
import crypto from 'node:crypto';
import { canonicalJson } from '../../core/canonical.js';
import { fromB64u, fromHex, utf8 } from '../../core/encoding.js';
import { fail } from '../../core/errors.js';
import { accountIdFromPub, verifySignature } from '../../core/keys.js';
import { rootFromProof, type MerkleProof } from '../../core/merkle.js';
import type { SignedBlock } from '../../chain/blocks.js';
import { signingText, txId, type Envelope, type Receipt } from '../../chain/envelope.js';
import { verifyTxProof } from '../../chain/proof.js';
import type { ChainReads } from '../../chain/reads.js';
import { kidOf, verifyWith, type Algorithm } from './keys.js';
import { recordLeafHash, signedMessage } from './records.js';
import { recordProof, type PendingRecord, type RecordProof } from './proof.js';
import type { KeyRow, NotaryStore } from './store.js';

export const PROOF_FORMAT = 'tally-notary-proof/v1';

export interface ProofBundle {
  format: typeof PROOF_FORMAT;
  record: { id: number; batch: number; record: unknown; kid: string; alg: Algorithm; sig: string; signed_at: string };
  key: { kid: string; alg: Algorithm; public_pem: string };
  leaf: string;
  proof: MerkleProof;
  root: string;
  anchor: { envelope: Envelope; receipt: Receipt; leaf: string; proof: MerkleProof; block: SignedBlock };
}

/** The bundle of an anchored record; refused while its batch is unsigned or not yet anchored. */
export function buildProofBundle(store: NotaryStore, reads: ChainReads, id: number): ProofBundle {
  return bundleOf(recordProof(store, id), store.keys(), reads, id);
}

/** The bundle from a record's proof and the pool's keys, read from either backend. */
export function bundleOf(found: RecordProof | PendingRecord | undefined, keys: KeyRow[], reads: ChainReads, id: number): ProofBundle {
  const p = found ?? fail('record_not_found', `no record ${id}`, { status: 404 });
  if ('state' in p || !p.proof || !p.root) fail('record_not_anchored', `record ${id} is not signed yet`, { status: 409, hint: 'wait until its batch is signed and anchored (tally notary status --batch N)' });
  if (!p.anchor_tx) fail('record_not_anchored', `record ${id} is signed but its batch ${p.batch} is not anchored yet`, { status: 409, hint: 'the running node anchors signed batches; retry shortly' });
  const tx = reads.tx(p.anchor_tx);
  const txProof = reads.proof(p.anchor_tx);
  // The batch row names an anchor transaction the chain must hold; if not, the store is damaged.
  if (!tx || !txProof) fail('db_corrupt', `anchor transaction ${p.anchor_tx} of batch ${p.batch} is not in the chain`, { status: 500 });
  const key = keys.find((k) => k.kid === p.kid)!;
  return {
    format: PROOF_FORMAT,
    record: { id: p.id, batch: p.batch, record: p.record, kid: p.kid, alg: p.alg as Algorithm, sig: p.sig, signed_at: p.signed_at },
    key: { kid: key.kid, alg: key.alg, public_pem: key.public_pem },
    leaf: p.leaf,
    proof: p.proof,
    root: p.root,
    anchor: { envelope: tx.envelope, receipt: txProof.receipt, leaf: txProof.leaf, proof: txProof.proof, block: txProof.block },
  };
}

export type ProofCheck =
  | { ok: true; record: number; batch: number; kid: string; height: number; block_time: string; anchor_tx: string }
  | { ok: false; code: string; message: string };

/** verifyTxProof's reasons (src/chain/proof.ts) as codes. */
function blockReason(reason: string): string {
  if (reason.includes('expected node key')) return 'block_not_by_node';
  if (reason.includes('block signature')) return 'block_signature_invalid';
  if (reason.includes('block hash')) return 'block_hash_mismatch';
  return 'receipt_proof_invalid';
}

type Fields = Record<string, unknown>;
const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Check a bundle offline. nodeKey: the node key the verifier trusts (base64url). keys: notary
 * public keys obtained separately (else the bundle's own, bound to its kid by hash).
 * Every way to fail has its own code, the first one found is answered.
 */
export function verifyProofBundle(bundle: unknown, nodeKey: string, keys?: Array<{ kid: string; public_pem: string }>): ProofCheck {
  const no = (code: string, message: string): ProofCheck => ({ ok: false, code, message });
  try {
    if (!isObject(bundle) || bundle.format !== PROOF_FORMAT) return no('proof_invalid', `not a ${PROOF_FORMAT} bundle`);
    const b = bundle as unknown as ProofBundle;
    if (!isObject(b.record) || !isObject(b.key) || !isObject(b.anchor) || !isObject(b.proof) || !isObject(b.anchor.proof) || !isObject(b.anchor.block) || !isObject(b.anchor.envelope) || !isObject(b.anchor.receipt)) {
      return no('proof_invalid', 'the bundle lacks record, key, proof or anchor');
    }
    const r = b.record;
    // 1. The signing key: pinned, or the bundle's whose hash is the kid the leaf commits to.
    const pem = keys ? keys.find((k) => k.kid === r.kid)?.public_pem : b.key.public_pem;
    if (!pem) return no('key_unknown', `key ${String(r.kid).slice(0, 32)} is not among the pinned keys`);
    let publicKey: crypto.KeyObject;
    try {
      publicKey = crypto.createPublicKey(pem);
    } catch {
      return no('key_invalid', 'the public key is not a valid PEM public key');
    }
    if (kidOf(publicKey) !== r.kid) return no('key_mismatch', `the public key's id is ${kidOf(publicKey)}, the record names ${String(r.kid).slice(0, 32)}`);
    // 2. The record's signature over exactly what the notary signs.
    const recordJson = canonicalJson(r.record);
    if (!verifyWith(r.alg, publicKey, signedMessage(r.batch, r.id, recordJson), fromB64u(r.sig, 'sig'))) return no('signature_invalid', 'the record signature does not verify');
    // 3. The leaf, and its path to the batch root.
    const leaf = recordLeafHash({ id: r.id, batch: r.batch, kid: r.kid, alg: r.alg, sig: r.sig, record: recordJson });
    if (Buffer.from(leaf).toString('hex') !== b.leaf) return no('leaf_mismatch', 'the leaf is not the hash of the record, key and signature');
    if (rootFromProof(leaf, b.proof) !== b.root) return no('root_mismatch', 'the Merkle path does not lead from the leaf to the batch root');
    // 4. The anchor transaction: signed by the node key, carrying this batch's root and size.
    const env = b.anchor.envelope;
    if (env.pub !== nodeKey) return no('anchor_not_by_node', 'the anchor transaction is not signed by the given node key');
    if (!verifySignature(env.pub, utf8.encode(signingText(env.tx)), env.sig)) return no('anchor_signature_invalid', 'the anchor transaction signature does not verify');
    if (env.tx.type !== 'notary.anchor' || env.tx.from !== accountIdFromPub(nodeKey)) return no('anchor_mismatch', 'the transaction is not a notary.anchor from the node key\'s account');
    const batches = (env.tx.body as { batches?: Array<{ batch: number; root: string; count: number }> }).batches;
    const entry = Array.isArray(batches) ? batches.find((x) => x.batch === r.batch) : undefined;
    if (!entry || entry.root !== b.root) return no('anchor_mismatch', `the anchor transaction does not carry batch ${r.batch} with this root`);
    if (entry.count !== b.proof.count) return no('anchor_mismatch', `the anchored batch has ${entry.count} records, the Merkle path ${b.proof.count}`);
    // 5. Its receipt (committed, ok) in a block the node key signed.
    const receipt = b.anchor.receipt;
    if (receipt.id !== txId(env.tx)) return no('receipt_mismatch', 'the receipt is not the anchor transaction\'s');
    if (receipt.status !== 'ok') return no('receipt_mismatch', `the anchor transaction failed (${String(receipt.code)})`);
    fromHex(b.anchor.leaf, 'receipt leaf', 32);
    const verdict = verifyTxProof({ receipt, leaf: b.anchor.leaf, proof: b.anchor.proof, block: b.anchor.block }, nodeKey);
    if (!verdict.ok) return no(blockReason(verdict.reason), verdict.reason);
    const header = b.anchor.block.header;
    return { ok: true, record: r.id, batch: r.batch, kid: r.kid, height: header.height, block_time: new Date(header.time).toISOString(), anchor_tx: receipt.id };
  } catch (err) {
    // Wrong types deep inside (a number where hex belongs, say): the bundle is malformed.
    return no('proof_invalid', `malformed bundle: ${(err as Error).message}`);
  }
}
