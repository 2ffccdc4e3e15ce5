// `auth.rotate`: move an account to a new key. The core owns the `auth/` records (an
// account's key and nonce), so this transaction type belongs to the core, not to a module:
// the kernel carries it on every chain, and it runs through the one executor, so replay
// and `tally chain verify` re-execute it like any other.
//
// The old key signs the transaction (it is the account's key, checked by checkTxSender);
// the body carries the new public key and a proof of possession: the new key's signature
// over ROTATE_DOMAIN + JCS({account, chain, nonce, pub}). Without it a typo would lock the
// owner out, and anyone could pin another person's key to their account. The nonce makes
// the consent good for this one transaction. The account id does not change, so the
// name, balance and history stay; from the next transaction on only the new key signs.
import { ED25519_PUB_B64U, ED25519_SIG_B64U } from '../core/base64url.js';
import { canonicalJson } from '../core/canonical.js';
import { decode, object, string } from '../core/decode.js';
import { utf8 } from '../core/encoding.js';
import { fail } from '../core/errors.js';
import { assertStrongPublicKey, verifySignature, type Signer } from '../core/keys.js';
import type { ChainModule, TxType } from './module.js';
import { authKey, type AuthRecord } from './state.js';

export const ROTATE_TYPE = 'auth.rotate';
export const ROTATE_DOMAIN = 'tally/rotate/v1\n';

export interface RotateBody {
  /** the new key, base64url (43 characters) */
  pub: string;
  /** the new key's signature over rotateProofText(...), base64url (86 characters) */
  proof: string;
}

const rotateBody = object({
  pub: string({ pattern: ED25519_PUB_B64U, maxLength: 43, what: 'a base64url Ed25519 public key (43 characters)' }),
  proof: string({ pattern: ED25519_SIG_B64U, maxLength: 86, what: 'a base64url Ed25519 signature (86 characters)' }),
});

/** What the new key signs to agree to hold `account` from this transaction on. */
export function rotateProofText(chain: string, account: string, nonce: number, pub: string): string {
  return ROTATE_DOMAIN + canonicalJson({ account, chain, nonce, pub });
}

/** Client side: the body of a rotation of `account` (at `nonce`) to `next`. */
export function signRotateBody(chain: string, account: string, nonce: number, next: Signer): RotateBody {
  return { pub: next.pub, proof: next.sign(utf8.encode(rotateProofText(chain, account, nonce, next.pub))) };
}

function proofValid(chain: string, account: string, nonce: number, body: RotateBody): boolean {
  try {
    return verifySignature(body.pub, utf8.encode(rotateProofText(chain, account, nonce, body.pub)), body.proof);
  } catch {
    return false;
  }
}

/** The checks that need the sender: the same at admission (refused, nothing written) and in the block (failed receipt). */
function checkRotation(chain: string, account: string, nonce: number, currentPub: string | undefined, body: RotateBody): void {
  if (body.pub === currentPub) fail('key_unchanged', 'the account already uses this key', { status: 409 });
  if (!proofValid(chain, account, nonce, body)) {
    fail('bad_rotation_proof', 'the new key\'s proof of possession does not verify', {
      status: 401, hint: 'the new key signs "tally/rotate/v1\\n" + JCS({account, chain, nonce, pub}) with this transaction\'s nonce',
    });
  }
}

export const rotate: TxType<RotateBody> = {
  type: ROTATE_TYPE,
  parse(raw) {
    const b = decode(rotateBody, raw, 'bad_body', 'body');
    // The rule the executor applies to a key that opens an account applies to a key that takes one over.
    assertStrongPublicKey(b.pub);
    return b;
  },
  admit(ctx, body) {
    // An unknown sender is refused by the sender check; no proof verify on its behalf.
    if (!ctx.known) return;
    checkRotation(ctx.params.chain, ctx.tx.from, ctx.tx.nonce, ctx.accounts.pubOf(ctx.tx.from), body);
  },
  apply(ctx, body) {
    // ctx.state is confined to "auth/" (this type's owner is the core's auth pseudo-module).
    const key = authKey(ctx.tx.from);
    const current = ctx.state.get<AuthRecord>(key);
    if (!current) fail('account_not_found', `no account ${ctx.tx.from}`, { status: 404 }); // checkTxSender refuses this first
    checkRotation(ctx.params.chain, ctx.tx.from, ctx.tx.nonce, current.pub, body);
    // The executor bumps the nonce after apply, keeping the pub found here.
    ctx.state.set(key, { pub: body.pub, nonce: current.nonce } satisfies AuthRecord);
    return [{ type: 'auth.rotated', account: ctx.tx.from, old: current.pub, pub: body.pub }];
  },
};

/**
 * The core's transaction types, as a pseudo-module named "auth" (a name no module may
 * take): its state view is the "auth/" prefix. It has no genesis, hooks, queries or
 * keeper, and is not in Kernel.modules.
 */
export const coreAuth: ChainModule = {
  name: 'auth',
  txTypes: [rotate as TxType],
  queries: [],
};
