// Statements and signatures, checked without trusting the node.
//
// A statement is a ledger.sign transaction: the account's signature over the text (or a
// document's digest), plus the node's signed block that includes its receipt. A statement
// bundle carries all of it, so `tally verify --offline` needs nothing but the bundle (and,
// to pin who made the blocks, the node key): it is a timestamped attestation.
//
// A detached signature is an account key's Ed25519 signature over MESSAGE_DOMAIN || message
// (no transaction, nothing recorded); the domain keeps it from ever being a transaction.
import crypto from 'node:crypto';
import { toHex, utf8 } from '../../core/encoding.js';
import { hash } from '../../core/hash.js';
import { verifySignature, type Signer } from '../../core/keys.js';
import { verifyTxProof } from '../../chain/proof.js';
import { parseEnvelope, signingText, txId, type Envelope } from '../../chain/envelope.js';
import type { ProofView } from '../../chain/node.js';
import { statementDigest, type SignBody } from './txs.js';
import { MESSAGE_DOMAIN } from '../../core/tx-signing.js';

export { MESSAGE_DOMAIN };
export const BUNDLE_FORMAT = 'tally-statement/v1';

export function signMessage(signer: Signer, message: string): string {
  return signer.sign(utf8.encode(MESSAGE_DOMAIN + message));
}

export function messageSignatureValid(pub: string, message: string, sig: string): boolean {
  try {
    return verifySignature(pub, utf8.encode(MESSAGE_DOMAIN + message), sig);
  } catch {
    return false;
  }
}

export interface StatementBundle extends ProofView {
  format: typeof BUNDLE_FORMAT;
  envelope: Envelope;
}

export interface StatementView {
  id: string;
  chain: string;
  signer: string;
  pub: string;
  text?: string;
  digest: string;
  label?: string;
  height: number;
  /** block time, unix ms: when the node recorded it */
  time: number;
  /** the key that signed the block */
  nodeKey: string;
}

export type BundleVerdict = { ok: true; statement: StatementView } | { ok: false; reason: string; statement?: StatementView };

/** The digest of a document as a statement names it: "blake3:<hex>" or "sha256:<hex>". */
export function documentDigest(bytes: Uint8Array, alg: 'blake3' | 'sha256' = 'blake3'): string {
  return alg === 'blake3' ? `blake3:${toHex(hash(bytes))}` : `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Check a statement bundle: the account's signature, the transaction id, the receipt
 * (committed, naming the same digest), the Merkle proof to the block's txRoot and the
 * block's signature (by nodeKey, if given). With `content`, also that the statement is
 * about exactly this text or these document bytes.
 */
export function verifyStatementBundle(raw: unknown, options: { nodeKey?: string; content?: { text?: string; bytes?: Uint8Array } } = {}): BundleVerdict {
  if (typeof raw !== 'object' || raw === null) return { ok: false, reason: 'the bundle is not a JSON object' };
  const b = raw as Partial<StatementBundle>;
  if (b.format !== BUNDLE_FORMAT) return { ok: false, reason: `the bundle format is not ${BUNDLE_FORMAT}` };
  let env: Envelope;
  try {
    env = parseEnvelope(b.envelope);
  } catch (err) {
    return { ok: false, reason: `the signed transaction is malformed: ${(err as Error).message}` };
  }
  if (!b.receipt || !b.block || !b.proof || typeof b.leaf !== 'string') return { ok: false, reason: 'the bundle lacks its receipt, proof or block' };
  const tx = env.tx;
  if (tx.type !== 'ledger.sign') return { ok: false, reason: `the transaction is a ${tx.type}, not a statement (ledger.sign)` };
  const body = tx.body as SignBody;
  const statement: StatementView = {
    id: txId(tx), chain: tx.chain, signer: tx.from, pub: env.pub,
    ...(body.text !== undefined ? { text: body.text } : {}),
    digest: typeof body.text === 'string' || typeof body.digest === 'string' ? statementDigest(body) : '',
    ...(body.label !== undefined ? { label: body.label } : {}),
    height: b.block.header?.height, time: b.block.header?.time, nodeKey: b.block.header?.proposer,
  };
  const fail = (reason: string): BundleVerdict => ({ ok: false, reason, statement });
  // Whether `pub` was the account's key at that height is the chain's word: the executor
  // refuses any other key, and the receipt below is in a block signed by the node key. (A
  // key moved in by auth.rotate is not the one the account id derives from.)
  let sigOk: boolean;
  try {
    sigOk = verifySignature(env.pub, utf8.encode(signingText(tx)), env.sig);
  } catch {
    sigOk = false;
  }
  if (!sigOk) return fail('the account\'s signature does not verify over the statement');
  if (b.receipt.id !== statement.id) return fail('the receipt is for another transaction (the statement was changed)');
  if (b.receipt.status !== 'ok') return fail(`the node recorded the statement as failed (${b.receipt.code ?? 'unknown'})`);
  const event = b.receipt.events?.find((e) => e.type === 'ledger.statement');
  if (!event || event.digest !== statement.digest || event.account !== tx.from) return fail('the receipt does not name this statement\'s digest');
  const proof = verifyTxProof({ receipt: b.receipt, leaf: b.leaf, proof: b.proof, block: b.block }, options.nodeKey);
  if (!proof.ok) return fail(proof.reason);
  if (b.block.header.chain !== tx.chain) return fail('the block is from another chain');
  const content = options.content;
  if (content?.text !== undefined && body.text !== content.text) return fail('the statement text differs from the given text');
  if (content?.bytes !== undefined) {
    const alg = statement.digest.startsWith('sha256:') ? 'sha256' : 'blake3';
    if (documentDigest(content.bytes, alg) !== statement.digest) return fail('the document does not match the statement\'s digest');
  }
  return { ok: true, statement };
}
