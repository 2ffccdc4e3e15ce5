// Signed queries. Most queries are public reads, but some answer by role (an audit shows
// an admin every dispute and a member only their own), so the caller proves which account
// asks: params.auth = {account, at, sig}, where sig is the account key's Ed25519 signature
// over QUERY_DOMAIN || JCS({chain, name, account, at, params-without-auth}). A signed query
// is fresh for QUERY_AUTH_SKEW_MS either side of the node's clock; replaying one inside that
// window only repeats a read its owner already made.
import { canonicalJson } from '../core/canonical.js';
import { utf8 } from '../core/encoding.js';
import { fail } from '../core/errors.js';
import { ACCOUNT_ID, verifySignature, type Signer } from '../core/keys.js';

export const QUERY_DOMAIN = 'tally/query/v1\n';
export const QUERY_AUTH_SKEW_MS = 120_000;

export interface QueryAuth {
  account: string;
  /** unix milliseconds when signed */
  at: number;
  sig: string;
}

function signingBytes(chain: string, name: string, auth: { account: string; at: number }, params: Record<string, unknown>): Uint8Array {
  const rest = { ...params };
  delete rest.auth;
  return utf8.encode(QUERY_DOMAIN + canonicalJson({ chain, name, account: auth.account, at: auth.at, params: rest }));
}

/** Client side: params with an auth block signed by `signer` (account id `account`). */
export function signQuery(chain: string, name: string, params: Record<string, unknown>, signer: Signer, account: string, at = Date.now()): Record<string, unknown> {
  const sig = signer.sign(signingBytes(chain, name, { account, at }, params));
  return { ...params, auth: { account, at, sig } satisfies QueryAuth };
}

/** Node side: the account that signed the query, or a refusal with a query_auth_* code. */
export function verifyQueryAuth(
  chain: string,
  name: string,
  params: Record<string, unknown>,
  pubOf: (account: string) => string | undefined,
  now = Date.now(),
): string {
  const auth = params.auth as Partial<QueryAuth> | undefined;
  if (auth === undefined) {
    fail('query_auth_required', `the query "${name}" must be signed by an account`, { status: 401, hint: 'use the CLI (it signs with --key), or add params.auth = {account, at, sig}' });
  }
  if (typeof auth !== 'object' || auth === null || typeof auth.account !== 'string' || !ACCOUNT_ID.test(auth.account) ||
      typeof auth.at !== 'number' || !Number.isSafeInteger(auth.at) || typeof auth.sig !== 'string' || auth.sig.length > 128) {
    fail('query_auth_invalid', 'params.auth must be {account: 40-hex id, at: unix ms, sig: base64url}', { status: 400 });
  }
  if (Math.abs(now - auth.at) > QUERY_AUTH_SKEW_MS) {
    fail('query_auth_stale', `the query was signed ${Math.round((now - auth.at) / 1000)} s from the node's clock; at most ${QUERY_AUTH_SKEW_MS / 1000} s is accepted`, { status: 401, hint: 'check the clock of this machine' });
  }
  const pub = pubOf(auth.account);
  if (!pub) fail('unknown_account', `no account ${auth.account}`, { status: 404 });
  let ok: boolean;
  try {
    ok = verifySignature(pub, signingBytes(chain, name, { account: auth.account, at: auth.at }, params), auth.sig);
  } catch {
    ok = false;
  }
  if (!ok) fail('query_auth_invalid', 'the query signature does not verify for this account', { status: 401 });
  return auth.account;
}
