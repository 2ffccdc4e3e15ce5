// Block headers as the spec defines them (README, "Block headers"): the bytes a node signs,
// the block hash, the validator set hash and the commit hash, and the checks a verifier
// makes of one header and of the link between two. Browser-safe: BLAKE3 from
// @noble/hashes and JCS from canonicalize; Ed25519 is passed in (node:crypto in the node,
// `ed25519VerifyPure` from state-bundle.ts in a browser), so the web wallet runs this as is.
//
//   blockHash      = BLAKE3("tally/block/v1\n" ‖ JCS(header))        signed by the proposer
//   validatorsHash = BLAKE3("tally/validators/v1\n" ‖ JCS({validators}))
//   lastCommitHash = BLAKE3("tally/commit/v1\n" ‖ JCS(commit of block h-1)); at height 0
//                    NO_COMMIT_HASH (64 zero hex digits: there is no previous block)
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { canonicalJson } from './canonical.js';
import { fail } from './errors.js';

export const BLOCK_DOMAIN = 'tally/block/v1\n';
export const VALIDATORS_DOMAIN = 'tally/validators/v1\n';
export const COMMIT_DOMAIN = 'tally/commit/v1\n';
/** lastCommitHash of block 0: no block came before it, so no commit; not the hash of anything. */
export const NO_COMMIT_HASH = '0'.repeat(64);
/** The version new blocks get; a chain's versions never go down. */
export const HEADER_VERSION_LATEST = 3;
/** The first header version whose stateRoot is the state tree's root (2 and 3 both are). */
export const STATE_TREE_HEADER_VERSION = 2;
/** The first header version with validatorsHash and lastCommitHash. */
export const COMMIT_HEADER_VERSION = 3;

export type HeaderVersion = 1 | 2 | 3;

export interface BlockHeader {
  /**
   * Absent: version 1, stateRoot is the hash chain over writes (blocks made before the
   * state tree). 2: stateRoot is the state tree's root. 3: as 2, plus validatorsHash and
   * lastCommitHash. A chain's versions never go down.
   */
  version?: 2 | 3;
  chain: string;
  height: number;
  prevHash: string;
  /** Unix milliseconds, never earlier than the previous block's. */
  time: number;
  txRoot: string;
  stateRoot: string;
  txCount: number;
  /** base64url public key of the node that made the block */
  proposer: string;
  /** version 3: the hash of the validator set that signs this block's commit */
  validatorsHash?: string;
  /** version 3: the hash of block height-1's commit (NO_COMMIT_HASH at height 0) */
  lastCommitHash?: string;
}

export interface SignedBlock {
  hash: string;
  header: BlockHeader;
  sig: string;
}

/**
 * One validator: its Ed25519 block-signing key (base64url) and its voting power (a
 * positive safe integer). The validators issue adds fields (a BLS key, say) to this
 * object; JCS keeps the encoding canonical whatever fields it grows.
 */
export interface Validator {
  key: string;
  power: number;
  /** a validator chain: base64url of the 48-byte BLS12-381 public key that signs its votes */
  blsKey?: string;
  /** a validator chain: base64url of the 96-byte proof of possession of blsKey */
  pop?: string;
}

/** The signatures that make a block final. A one-validator chain: the proposer's one signature. */
export interface Commit {
  height: number;
  blockHash: string;
  /** sorted by validator key */
  signatures: Array<{ validator: string; sig: string }>;
}

/**
 * The commit of a validator chain's block: an aggregate BLS signature of validators
 * holding more than 2/3 of the power over the precommit of (height, round, blockHash)
 * (README, "Consensus"), and the bitmap of who signed. Validators may gather different
 * quorums for one block, so a block's canonical commit is the one the next block's
 * lastCommitHash names (and carries); until then the node keeps its own.
 */
export interface CertifiedCommit {
  height: number;
  round: number;
  blockHash: string;
  /** hex bitmap over the validator set in its canonical order, LSB-first per byte */
  signers: string;
  /** base64url of the 96-byte aggregate signature */
  signature: string;
}

/** BLAKE3("tally/commit/v1\n" ‖ JCS(commit)): what the next header's lastCommitHash holds. */
export function certifiedCommitHash(commit: CertifiedCommit): string {
  const { height, round, blockHash, signers, signature } = commit;
  return bytesToHex(blake3(utf8ToBytes(COMMIT_DOMAIN + canonicalJson({ height, round, blockHash, signers, signature }))));
}

/** Ed25519: does `sig` (base64url) by `pub` (base64url) verify over `message`? Never throws. */
export type SignatureCheck = (pub: string, message: Uint8Array, sig: string) => boolean;

export const headerVersion = (header: { version?: unknown }): number => (header.version === undefined ? 1 : Number(header.version));

/** Is the header's stateRoot the state tree's root (version 2 and later)? */
export const hasStateTreeRoot = (header: { version?: unknown }): boolean => header.version === 2 || header.version === 3;

export function headerBytes(header: BlockHeader): Uint8Array {
  return utf8ToBytes(BLOCK_DOMAIN + canonicalJson(header));
}

export function headerHash(header: BlockHeader): string {
  return bytesToHex(blake3(headerBytes(header)));
}

const byKey = <T>(key: (t: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/**
 * The validator set in its one canonical form: {validators: [...]} sorted by key (string
 * order of the base64url text), each key once, each power a positive safe integer.
 */
export function canonicalValidators(validators: readonly Validator[]): { validators: Validator[] } {
  const sorted = [...validators].sort(byKey((v) => v.key));
  sorted.forEach((v, i) => {
    if (typeof v.key !== 'string' || v.key.length === 0) fail('bad_validators', 'a validator key must be a non-empty string');
    if (!Number.isSafeInteger(v.power) || v.power < 1) fail('bad_validators', `validator ${v.key}: power must be a positive safe integer`);
    if (i > 0 && sorted[i - 1]!.key === v.key) fail('bad_validators', `validator ${v.key} appears twice`);
  });
  if (sorted.length === 0) fail('bad_validators', 'a validator set has at least one validator');
  return { validators: sorted };
}

export function validatorsHash(validators: readonly Validator[]): string {
  return bytesToHex(blake3(utf8ToBytes(VALIDATORS_DOMAIN + canonicalJson(canonicalValidators(validators)))));
}

/** Today's validator set: the node key alone, with power 1. */
export const singleValidator = (nodeKey: string): Validator[] => [{ key: nodeKey, power: 1 }];

/** The commit of a one-validator chain's block: its proposer's signature. */
export function commitOf(block: SignedBlock): Commit {
  return { height: block.header.height, blockHash: block.hash, signatures: [{ validator: block.header.proposer, sig: block.sig }] };
}

export function commitHash(commit: Commit): string {
  const signatures = [...commit.signatures].sort(byKey((s) => s.validator));
  return bytesToHex(blake3(utf8ToBytes(COMMIT_DOMAIN + canonicalJson({ ...commit, signatures }))));
}

/** What block `prev`'s successor carries as lastCommitHash (undefined prev: block 0). */
export const lastCommitHashAfter = (prev: SignedBlock | undefined): string => (prev ? commitHash(commitOf(prev)) : NO_COMMIT_HASH);

const HEX32 = /^[0-9a-f]{64}$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export type HeaderCheck = { ok: true } | { ok: false; code: string; reason: string };

/**
 * One signed block on its own: its hash is the hash of its header, it was made and signed
 * by `nodeKey`, and a version 3 header names the one-validator set {nodeKey, power 1}.
 * Never throws on malformed input: it says what was wrong, with a stable code.
 */
export function checkSignedHeader(block: unknown, nodeKey: string, verifySig: SignatureCheck): HeaderCheck {
  const bad = (code: string, reason: string): HeaderCheck => ({ ok: false, code, reason });
  if (!isObject(block) || !isObject(block.header) || typeof block.hash !== 'string' || typeof block.sig !== 'string') return bad('bad_block', 'a block is {hash, header, sig}');
  const h = block.header;
  if (h.version !== undefined && h.version !== 2 && h.version !== 3) return bad('bad_version', `the header says version ${String(h.version)}; known: 1 (no field), 2 and 3`);
  if (!Number.isSafeInteger(h.height) || (h.height as number) < 0) return bad('bad_height', 'header.height must be a non-negative integer');
  const v3 = h.version === 3;
  for (const field of ['validatorsHash', 'lastCommitHash'] as const) {
    if (v3 && (typeof h[field] !== 'string' || !HEX32.test(h[field]))) return bad('bad_version', `a version 3 header has ${field}, 32 bytes of lowercase hex`);
    if (!v3 && field in h) return bad('bad_version', `a version ${headerVersion(h)} header has no ${field}`);
  }
  let bytes: Uint8Array;
  try {
    bytes = headerBytes(h as unknown as BlockHeader);
  } catch {
    return bad('bad_block', 'the header cannot be put in canonical JSON');
  }
  if (bytesToHex(blake3(bytes)) !== block.hash) return bad('block_hash_mismatch', 'the block hash is not the hash of its header');
  if (h.proposer !== nodeKey) return bad('wrong_proposer', `the block is signed by ${String(h.proposer)}, not the node key ${nodeKey}`);
  let signed: boolean;
  try {
    signed = verifySig(nodeKey, bytes, block.sig);
  } catch {
    signed = false;
  }
  if (!signed) return bad('bad_block_signature', 'the block signature does not verify with the node key');
  if (v3 && h.validatorsHash !== validatorsHash(singleValidator(nodeKey))) return bad('validators_hash_mismatch', 'validatorsHash is not the hash of the validator set {node key, power 1}');
  if (v3 && h.height === 0 && h.lastCommitHash !== NO_COMMIT_HASH) return bad('last_commit_mismatch', 'block 0 has no previous commit: its lastCommitHash is 64 zeros');
  return { ok: true };
}

/**
 * `next` follows `prev` (both already checked on their own): heights in a row, the hash
 * link, time and version never going back, and next.lastCommitHash the hash of prev's commit.
 */
export function checkHeaderLink(prev: SignedBlock, next: SignedBlock): HeaderCheck {
  const bad = (code: string, reason: string): HeaderCheck => ({ ok: false, code, reason });
  const p = prev.header;
  const n = next.header;
  if (n.height !== p.height + 1) return bad('bad_height', `block ${n.height} does not follow block ${p.height}`);
  if (n.prevHash !== prev.hash) return bad('broken_link', 'prevHash does not match the previous block hash');
  if (n.chain !== p.chain) return bad('wrong_chain', `block says chain ${n.chain}, the previous ${p.chain}`);
  if (n.time < p.time) return bad('time_backwards', 'block time is earlier than the previous block');
  if (headerVersion(n) < headerVersion(p)) return bad('bad_version', `a version ${headerVersion(n)} block after a version ${headerVersion(p)} block (versions never go down)`);
  if (n.version === 3 && n.lastCommitHash !== lastCommitHashAfter(prev)) return bad('last_commit_mismatch', 'lastCommitHash is not the hash of the previous block\'s commit');
  return { ok: true };
}
