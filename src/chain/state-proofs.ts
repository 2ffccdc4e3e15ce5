// Proofs of state against a signed header: what GET /v1/state/proof and
// GET /v1/accounts/:name/proof answer, and what `tally state proof` / `tally account proof`
// save. The tree itself (StateTreeReads) is the node's; this file only pairs its proofs
// with the block whose stateRoot they fold to, in the bundle format of src/core/state-bundle.ts.
import { fail } from '../core/errors.js';
import { ACCOUNT_ID } from '../core/keys.js';
import { hasStateTreeRoot } from '../core/header.js';
import { LEDGER_ACCT_PREFIX, LEDGER_NAME_PREFIX, STATE_BUNDLE_FORMAT, type AccountBundle, type BundleBlock, type KeyBundle } from '../core/state-bundle.js';
import type { SignedBlock } from './blocks.js';
import type { StateTreeReads } from './state-tree/reads.js';

export type { StateTreeReads } from './state-tree/reads.js';

/** State keys are printable ASCII; a longer or stranger one names nothing. */
export const STATE_KEY_BYTES_MAX = 256;
const STATE_KEY = /^[\x21-\x7e]+$/;

export function checkStateKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > STATE_KEY_BYTES_MAX || !STATE_KEY.test(key)) {
    fail('bad_state_key', `a state key is 1 to ${STATE_KEY_BYTES_MAX} printable ASCII characters without spaces`, { status: 400, hint: 'e.g. ledger/name/alice or auth/<account id> (README, "State and the stateRoot")' });
  }
  return key;
}

export interface ProofSource {
  tree: StateTreeReads;
  block(height: number): SignedBlock | undefined;
}

/** The height asked for, or the tip; refused with height_unknown / height_pruned. */
function heightOf(src: ProofSource, height: number | undefined): { height: number; block: BundleBlock } {
  const range = src.tree.provableRange();
  const h = height ?? range.tip;
  if (h > range.tip) fail('height_unknown', `no committed block at height ${h} (the tip is ${range.tip})`, { status: 404, details: range });
  if (h < range.oldest) {
    // The tree tells pruned (410) from before its first version (404, an upgraded chain).
    src.tree.prove('', h);
    fail('height_pruned', `state at height ${h} is no longer provable (the oldest provable height is ${range.oldest})`, { status: 410, details: range, hint: 'ask for a recent height, or omit height for the tip' });
  }
  const block = src.block(h);
  if (!block) fail('height_unknown', `no committed block at height ${h}`, { status: 404, details: range });
  // An upgraded chain's tree starts at its last version 1 block, whose stateRoot is the old hash chain.
  if (!hasStateTreeRoot(block.header)) {
    fail('height_unknown', `block ${h} is a version 1 block: its stateRoot is not the state tree's root`, { status: 404, details: range, hint: 'ask for a later height' });
  }
  return { height: h, block: block as unknown as BundleBlock };
}

export function stateProofBundle(src: ProofSource, key: string, height?: number): KeyBundle {
  checkStateKey(key);
  const at = heightOf(src, height);
  const proof = src.tree.prove(key, at.height);
  return { format: STATE_BUNDLE_FORMAT, height: at.height, block: at.block, key, value: proof.value === null ? null : JSON.parse(proof.value), proof };
}

/**
 * An account by name or id at one height, with the proofs that tie them: the name's record
 * (its account id) and the account's record (name, balance, held, created), both against
 * the same stateRoot. An absent name or id is proven absent (a 200 answer with account.id null).
 */
export function accountProofBundle(src: ProofSource, ref: string, height?: number): AccountBundle {
  const byId = ACCOUNT_ID.test(ref);
  if (!byId && !/^[a-z][a-z0-9_-]{0,31}$/.test(ref)) fail('name_invalid', 'give an account name (a lowercase letter, then up to 31 lowercase letters, digits, "_" or "-") or an account id (40 hex digits)', { status: 400 });
  const at = heightOf(src, height);
  const proofs: AccountBundle['proofs'] = {};
  let id: string | null = byId ? ref : null;
  let name: string | null = byId ? null : ref;
  if (!byId) {
    proofs.name = src.tree.prove(LEDGER_NAME_PREFIX + ref, at.height);
    id = proofs.name.value === null ? null : JSON.parse(proofs.name.value) as string;
  }
  if (id !== null) {
    proofs.account = src.tree.prove(LEDGER_ACCT_PREFIX + id, at.height);
    // By id: also prove its name's record, so the bundle shows both directions.
    if (byId && proofs.account.value !== null) {
      name = (JSON.parse(proofs.account.value) as { name: string }).name;
      proofs.name = src.tree.prove(LEDGER_NAME_PREFIX + name, at.height);
    }
  }
  return { format: STATE_BUNDLE_FORMAT, height: at.height, block: at.block, account: { name, id }, proofs };
}
