// A state proof bundle: one signed block header and proofs of state keys against its
// stateRoot, checked with nothing but the bundle and the node key you trust. This is what
// `tally state verify` runs offline and what the browser wallet runs unchanged: it imports
// nothing Node-only (BLAKE3 from @noble/hashes, JCS from canonicalize), and the Ed25519
// check is passed in: node:crypto in the CLI (core/keys.ts), `ed25519VerifyPure` below
// (@noble/curves, strict RFC 8032 as OpenSSL) in a browser.
//
// Bundle (README, "State tree: proofs over HTTP and offline"):
//   { format: "tally-state-proof/v1", height, block: {hash, header, sig},
//     key, value, proof }                                   one key (GET /v1/state/proof)
//   { format, height, block, account: {name, id}, proofs: {name?, account?} }
//                                                           an account (GET /v1/accounts/:name/proof)
import { ed25519 } from '@noble/curves/ed25519.js';
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { B64U_TEXT } from './base64url.js';
import { canonicalJson } from './canonical.js';
import { hasStateTreeRoot, headerBytes, STATE_TREE_HEADER_VERSION, type BlockHeader, type SignatureCheck } from './header.js';
import { verifyStateProof, type StateProof } from './smt.js';

export const STATE_BUNDLE_FORMAT = 'tally-state-proof/v1';
export { STATE_TREE_HEADER_VERSION, type SignatureCheck } from './header.js';
export const LEDGER_NAME_PREFIX = 'ledger/name/';
export const LEDGER_ACCT_PREFIX = 'ledger/acct/';

export interface BundleBlock {
  hash: string;
  header: { height: number; stateRoot: string; proposer: string; version?: number; [k: string]: unknown };
  sig: string;
}

export interface KeyBundle {
  format: typeof STATE_BUNDLE_FORMAT;
  height: number;
  block: BundleBlock;
  key: string;
  /** the value parsed from proof.value (a convenience: the proof's text is what is checked) */
  value: unknown;
  proof: StateProof;
}

export interface AccountBundle {
  format: typeof STATE_BUNDLE_FORMAT;
  height: number;
  block: BundleBlock;
  /** what was asked: a name, or an account id (null when the name has no account) */
  account: { name: string | null; id: string | null };
  proofs: { name?: StateProof; account?: StateProof };
}

export type StateBundle = KeyBundle | AccountBundle;


/** base64url without padding to bytes, or undefined unless it is the canonical spelling of `length` bytes. */
function fromB64u(text: string, length: number): Uint8Array | undefined {
  if (typeof text !== 'string' || !B64U_TEXT.test(text) || text.length !== Math.ceil((length * 4) / 3)) return undefined;
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  // Canonical: re-encoding gives the same text (no stray bits in the last character).
  const again = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return bytes.length === length && again === text ? bytes : undefined;
}

/** Ed25519 in pure JS (a browser): RFC 8032 strict decoding (not ZIP-215), as OpenSSL in the node. */
export const ed25519VerifyPure: SignatureCheck = (pub, message, sig) => {
  const p = fromB64u(pub, 32);
  const s = fromB64u(sig, 64);
  if (!p || !s) return false;
  try {
    return ed25519.verify(s, message, p, { zip215: false });
  } catch {
    return false;
  }
};

/** What a bundle proves, once it checks out. */
export interface ProvenState {
  height: number;
  stateRoot: string;
  blockHash: string;
  /** every proven key with its value's canonical text, or null when absent */
  entries: Array<{ key: string; value: string | null }>;
  /** account bundles: the proven account, or null when it does not exist at that height */
  account?: { name: string; id: string; balance: string; held: string; created: number } | null;
}

export type BundleCheck = { ok: true; proven: ProvenState } | { ok: false; reason: string };

const HEX32 = /^[0-9a-f]{64}$/;
const ACCOUNT_ID = /^[0-9a-f]{40}$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Check a bundle: the header is a state-tree header (version 2 or 3), made by `nodeKey`, whose
 * signature verifies and whose hash is block.hash; every proof folds to its stateRoot;
 * an account bundle's proofs fit together (the name maps to the id whose record is proven).
 * Never throws on malformed input: it says what was wrong.
 */
export function verifyStateBundle(bundle: unknown, nodeKey: string, verifySig: SignatureCheck): BundleCheck {
  const bad = (reason: string): BundleCheck => ({ ok: false, reason });
  if (!isObject(bundle)) return bad('the bundle must be a JSON object');
  if (bundle.format !== STATE_BUNDLE_FORMAT) return bad(`the bundle's format must be "${STATE_BUNDLE_FORMAT}"`);
  const block = bundle.block;
  if (!isObject(block) || !isObject(block.header) || typeof block.hash !== 'string' || typeof block.sig !== 'string') return bad('block must be {hash, header, sig}');
  const header = block.header;
  if (!hasStateTreeRoot(header)) return bad(`the header is version ${String(header.version ?? 1)}: only a header of version ${STATE_TREE_HEADER_VERSION} or later has a state tree root as its stateRoot`);
  if (typeof header.stateRoot !== 'string' || !HEX32.test(header.stateRoot)) return bad('header.stateRoot must be 32 bytes of lowercase hex');
  if (!Number.isSafeInteger(header.height) || (header.height as number) < 0) return bad('header.height must be a non-negative integer');
  if (bundle.height !== header.height) return bad(`the bundle says height ${String(bundle.height)} but the header is of height ${String(header.height)}`);
  if (header.proposer !== nodeKey) return bad('the block was not made by the node key you trust');
  let bytes: Uint8Array;
  try {
    bytes = headerBytes(header as unknown as BlockHeader);
  } catch {
    return bad('the header cannot be put in canonical JSON');
  }
  if (bytesToHex(blake3(bytes)) !== block.hash) return bad('block.hash is not the hash of the header');
  let signed: boolean;
  try {
    signed = verifySig(nodeKey, bytes, block.sig);
  } catch {
    signed = false;
  }
  if (!signed) return bad('the block signature does not verify with the node key');

  const root = header.stateRoot;
  const proven: ProvenState = { height: header.height as number, stateRoot: root, blockHash: block.hash, entries: [] };
  const check = (what: string, proof: unknown, key: string): string | null => {
    if (!isObject(proof)) return `${what} must be a proof object`;
    if (proof.key !== key) return `${what} is about "${String(proof.key)}", not "${key}"`;
    const r = verifyStateProof(root, proof as unknown as StateProof);
    if (!r.ok) return `${what}: ${r.reason}`;
    proven.entries.push({ key, value: r.value });
    return null;
  };

  if ('proof' in bundle) {
    if (typeof bundle.key !== 'string') return bad('key must be a string');
    const failed = check('the proof', bundle.proof, bundle.key);
    if (failed) return bad(failed);
    if (canonicalOrNull(bundle.value) !== (bundle.proof as StateProof).value) return bad('value is not the proven value');
    return { ok: true, proven };
  }

  if (!isObject(bundle.account) || !isObject(bundle.proofs)) return bad('an account bundle has account {name, id} and proofs {name?, account?}');
  const { name, id } = bundle.account;
  const proofs = bundle.proofs;
  if (name !== null && typeof name !== 'string') return bad('account.name must be a string or null');
  if (id !== null && (typeof id !== 'string' || !ACCOUNT_ID.test(id))) return bad('account.id must be an account id or null');
  if (name === null && id === null) return bad('account names neither a name nor an id');
  let provenId: string | null = id;
  if (name !== null) {
    const failed = check('the name proof', proofs.name, LEDGER_NAME_PREFIX + name);
    if (failed) return bad(failed);
    const nameValue = (proofs.name as StateProof).value;
    if (nameValue === null) {
      if (id !== null || proofs.account !== undefined) return bad(`the name "${name}" is proven absent, yet the bundle names an account`);
      proven.account = null;
      return { ok: true, proven };
    }
    const mapped = parseJson(nameValue);
    if (typeof mapped !== 'string' || !ACCOUNT_ID.test(mapped)) return bad('the name\'s value is not an account id');
    if (id !== null && id !== mapped) return bad(`the name "${name}" belongs to ${mapped}, not ${id}`);
    provenId = mapped;
  } else if (proofs.name !== undefined) {
    return bad('a name proof without account.name');
  }
  const failed = check('the account proof', proofs.account, LEDGER_ACCT_PREFIX + provenId!);
  if (failed) return bad(failed);
  const acctText = (proofs.account as StateProof).value;
  if (acctText === null) {
    if (name !== null) return bad(`the name "${name}" maps to ${provenId!}, whose account record is proven absent`);
    proven.account = null;
    return { ok: true, proven };
  }
  const acct = parseJson(acctText);
  if (!isObject(acct) || typeof acct.name !== 'string' || typeof acct.balance !== 'string' || !Number.isSafeInteger(acct.created)) return bad('the account record is not {name, balance, created, held?}');
  if (name !== null && acct.name !== name) return bad(`the account record is named "${acct.name}", not "${name}"`);
  proven.account = { name: acct.name, id: provenId!, balance: acct.balance, held: typeof acct.held === 'string' ? acct.held : '0', created: acct.created as number };
  return { ok: true, proven };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function canonicalOrNull(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  try {
    return canonicalJson(value);
  } catch {
    return '';
  }
}
