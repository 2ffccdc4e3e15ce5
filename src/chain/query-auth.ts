// Signed queries. Most queries are public reads, but some answer by role (an audit shows
// an admin every dispute and a member only their own), so the caller proves which account
// asks: params.auth = {account, at, sig}, where sig is the account key's Ed25519 signature
// over QUERY_DOMAIN || JCS({chain, name, account, at, params-without-auth}). A signed query
// is fresh for QUERY_AUTH_SKEW_MS either side of the node's clock, and usable once: the node
// remembers the signatures it accepted until they go stale (QueryAuthReplays), so one
// signed audit cannot be replayed in a loop (issue 10 item 7).
import { canonicalJson } from '../core/canonical.js';
import { utf8 } from '../core/encoding.js';
import { fail } from '../core/errors.js';
import { limits } from '../core/limits.js';
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

/**
 * The signatures of accepted signed queries until they go stale, bounded in all
 * (limits.queryAuthSeenMax) and per account (limits.queryAuthPerAccountMax): a replay is
 * refused, and an account (or everyone) signing more than that within the freshness window
 * is told to wait, rather than the node forgetting a signature that could then be replayed.
 */
export class QueryAuthReplays {
  /** signature -> {account, when it goes stale}; insertion order, roughly by time. */
  private readonly seen = new Map<string, { account: string; staleAt: number }>();
  private readonly perAccount = new Map<string, number>();

  constructor(
    private readonly max: number = limits.queryAuthSeenMax,
    private readonly perAccountMax: number = limits.queryAuthPerAccountMax,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  /** Remember a verified signature, or refuse it if it was used before (or too many are pending). */
  claim(account: string, sig: string, at: number, now: number): void {
    if (this.seen.has(sig)) fail('query_auth_replayed', 'this signed query was already used; sign a new one', { status: 409 });
    if (this.seen.size >= this.max || (this.perAccount.get(account) ?? 0) >= this.perAccountMax) this.forgetStale(now);
    const mine = this.perAccount.get(account) ?? 0;
    if (mine >= this.perAccountMax) {
      fail('query_auth_busy', `at most ${this.perAccountMax} signed queries per account every ${QUERY_AUTH_SKEW_MS / 1000} s`, { status: 429, hint: 'retry in a minute' });
    }
    if (this.seen.size >= this.max) fail('query_auth_busy', 'too many signed queries in flight on this node; retry shortly', { status: 503 });
    this.seen.set(sig, { account, staleAt: at + QUERY_AUTH_SKEW_MS });
    this.perAccount.set(account, mine + 1);
  }

  /** Drop every signature past its freshness: verifyQueryAuth refuses those as stale anyway. */
  private forgetStale(now: number): void {
    for (const [sig, e] of this.seen) {
      if (e.staleAt >= now) continue;
      this.seen.delete(sig);
      const left = this.perAccount.get(e.account)! - 1;
      if (left === 0) this.perAccount.delete(e.account);
      else this.perAccount.set(e.account, left);
    }
  }
}

/**
 * Node side: the account that signed the query, or a refusal with a query_auth_* code.
 * With `replays`, each signature is accepted once.
 */
export function verifyQueryAuth(
  chain: string,
  name: string,
  params: Record<string, unknown>,
  pubOf: (account: string) => string | undefined,
  now = Date.now(),
  replays?: QueryAuthReplays,
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
  replays?.claim(auth.account, auth.sig, auth.at, now);
  return auth.account;
}
