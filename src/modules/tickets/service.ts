// The tickets service: redeem a paid PID for a token, introspect, spend and revoke it.
// Shared by the public and internal routes, the watchers and the metrics of one node.
import { formatAmount, parsePositiveAmount } from '../../core/amount.js';
import { fail, TallyError } from '../../core/errors.js';
import type { TicketsConfig } from './config.js';
import { GroupCommit } from './group-commit.js';
import { MONERO_DECIMALS } from './config.js';
import { parsePid, parseToken, tallyMemoTag, tokenHash, TOKEN_PATTERN } from './pid.js';
import type { PaymentRow, PidRow, Source, TicketsStore, TokenRow } from './store.js';
import { tokenFor } from './token-key.js';

const REASON_BYTES_MAX = 256;
/**
 * The claim applier (store.ts, claim-log.ts): every APPLY_EVERY_MS it applies APPLY_CHUNK
 * claims (a few ms, so answers queued behind it wait little) once redeems have paused for
 * APPLY_QUIET_MS; while more than CLAIMS_PENDING_HIGH wait (memory: ~0.5 KB each), it
 * applies APPLY_CHUNK_HIGH each time whether redeems pause or not, which bounds the log.
 */
const APPLY_EVERY_MS = 100;
const APPLY_CHUNK = 128;
const APPLY_CHUNK_HIGH = 1024;
const APPLY_QUIET_MS = 500;
export const CLAIMS_PENDING_HIGH = 50_000;
/** Tokens per page of the operator's list. */
export const TOKEN_PAGE_MAX = 500;
export const TOKEN_PAGE_DEFAULT = 100;
/** A list cursor: the last token's issue time (unix ms) and hash, "<ms>.<64 hex>". */
const TOKEN_CURSOR = /^(\d{1,15})\.([0-9a-f]{64})$/;

/** A token as the operator's list shows it: by its hash (the token itself is never stored). */
export interface TokenListEntry {
  hash: string;
  status: 'active' | 'revoked';
  source: Source;
  balance: string;
  spent: string;
  issued_at: string;
  used_at: string | null;
  revoked_at: string | null;
  revoke_reason: string | null;
}

function checkReason(reason: unknown): void {
  if (typeof reason !== 'string' || reason.length === 0 || Buffer.byteLength(reason) > REASON_BYTES_MAX) {
    fail('reason_invalid', `reason must be a non-empty string of at most ${REASON_BYTES_MAX} bytes`);
  }
}

/** Counters read by the Prometheus collectors on the internal listener. */
export class TicketsStats {
  paymentsSeen = new Map<string, number>();
  paymentsCredited = new Map<string, number>();
  paymentsDust = new Map<string, number>();
  paymentsNoPid = new Map<string, number>();
  paymentsConflict = new Map<string, number>();
  paymentsVanished = new Map<string, number>();
  paymentsLocked = new Map<string, number>();
  watcherErrors = new Map<string, number>();
  /** polls a watcher finished, each with its view of pending payments written */
  watcherPolls = new Map<string, number>();
  /** the last block each watcher has fully scanned */
  watcherHeight = new Map<string, number>();
  /** the source's own height (Tally tip, Monero wallet height) */
  sourceHeight = new Map<string, number>();
  /** blocks a payment must wait before it is scanned (Monero: confirmations) */
  sourceDelay = new Map<string, number>();
  redeems = new Map<string, number>();
  tokenChecks = new Map<string, number>();
  tokenSpends = new Map<string, number>();
  /** entries in the store's caches and claims not yet applied (set by the service) */
  caches: () => Record<string, number> = () => ({});
  /** watchers whose last poll or block failed, with why and since when (cleared by the next success) */
  watcherFailing = new Map<string, { reason: string; since: string }>();

  static bump(map: Map<string, number>, key: string, n = 1): void {
    map.set(key, (map.get(key) ?? 0) + n);
  }

  /** A watcher's poll failed: counted, and /health shows the source failing until one succeeds. */
  watcherFailed(source: string, reason: string): void {
    TicketsStats.bump(this.watcherErrors, source);
    if (!this.watcherFailing.has(source)) this.watcherFailing.set(source, { reason, since: new Date().toISOString() });
  }
}

export interface RedeemResult {
  status: 'success' | 'already_claimed';
  /** 64 hex: on success; on already_claimed while the token was never presented, or within redeemGraceSecs of the first redeem */
  token?: string;
  balance?: string;
  source?: Source;
  claimed_at: string;
}

export interface TokenView {
  status: 'active' | 'revoked';
  source: Source;
  balance: string;
  spent: string;
  issued_at: string;
  revoked_at: string | null;
  revoke_reason?: string | null;
}

export interface PendingPayment {
  confirmationsLeft: number;
}

export class TicketsService {
  readonly stats = new TicketsStats();
  /** Unconfirmed payments each watcher currently sees, for the 409 answer. */
  private readonly pending = new Map<Source, Map<string, PendingPayment>>();
  /** Claims of one event-loop turn commit together (group-commit.ts). */
  readonly commits: GroupCommit;

  constructor(
    readonly store: TicketsStore,
    readonly config: TicketsConfig,
    readonly tallyDecimals: number,
    /** the node secret tokens are derived from (token-key.ts) */
    private readonly tokenKey: Buffer,
    readonly now: () => number = Date.now,
  ) {
    this.commits = new GroupCommit((fn) => store.transaction(fn));
    this.stats.caches = () => ({ ...store.cacheSizes(), commits: this.commits.batches, committed: this.commits.writes });
  }

  decimals(source: Source): number {
    return source === 'monero' ? MONERO_DECIMALS : this.tallyDecimals;
  }

  format(source: Source, minor: bigint | string): string {
    return formatAmount(BigInt(minor), this.decimals(source));
  }

  /** Apply logged claims to the PID and token tables in the background; answers the function that stops it. */
  startClaimApplier(): () => void {
    const timer = setInterval(() => {
      const { claimsPending } = this.store.cacheSizes();
      if (claimsPending === 0) return;
      if (claimsPending > CLAIMS_PENDING_HIGH) this.store.applyClaims(APPLY_CHUNK_HIGH);
      else if (Date.now() - this.store.lastClaimAt >= APPLY_QUIET_MS) this.store.applyClaims(APPLY_CHUNK);
    }, APPLY_EVERY_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** A watcher replaces its view of unconfirmed payments after each poll. */
  setPending(source: Source, view: Map<string, PendingPayment>): void {
    this.pending.set(source, view);
  }

  private pendingOf(pid: string): PendingPayment | undefined {
    let best: PendingPayment | undefined;
    for (const view of this.pending.values()) {
      const p = view.get(pid);
      if (p && (!best || p.confirmationsLeft < best.confirmationsLeft)) best = p;
    }
    return best;
  }

  /**
   * The payments of a PID: Monero ones are stored under the PID itself, Tally ones under its
   * memo tag (see tallyMemoTag). A Tally row is never found by its tag typed in as a PID,
   * which is what keeps a chain watcher from redeeming someone else's payment.
   * A PID redeemed through either row is redeemed: one PID, one token (a Monero PID with
   * only dust, redeemed through Tally, must not be redeemed again after a real Monero payment).
   */
  private lookup(pid: string): PidRow | undefined {
    const stored = this.store.pid(pid);
    const direct = stored && stored.source !== 'tally' ? stored : undefined;
    const tag = this.store.pid(tallyMemoTag(pid));
    const tagged = tag && tag.source === 'tally' ? tag : undefined;
    if (direct?.token_hash) return direct;
    if (tagged?.token_hash) return tagged;
    if (direct && BigInt(direct.credited) > 0n) return direct;
    return tagged ?? direct;
  }

  /** Answered once the claim is committed (with the other claims of its event-loop turn). */
  async redeem(pidValue: unknown): Promise<RedeemResult> {
    try {
      const result = await this.redeemInner(pidValue);
      TicketsStats.bump(this.stats.redeems, result.status);
      return result;
    } catch (err) {
      TicketsStats.bump(this.stats.redeems, err instanceof TallyError ? err.code : 'internal');
      throw err;
    }
  }

  private async redeemInner(pidValue: unknown): Promise<RedeemResult> {
    const pid = parsePid(pidValue);
    const row = this.lookup(pid);
    // The token is derived from the PID, so one PID has one token whoever asks, and the
    // claim on disk is all that must commit: an answer lost to a crash is asked for again.
    const token = tokenFor(this.tokenKey, pid);
    if (row?.token_hash) return this.alreadyClaimed(row, token);
    if (row && BigInt(row.credited) > 0n) {
      const hash = tokenHash(token);
      const claimed = await this.commits.run(() => {
        // Read again in the batch's transaction: since the read above, another redeem of this
        // PID (maybe in this very batch) may have claimed it, or the watcher changed its credit.
        const fresh = this.lookup(pid);
        const balance = fresh ? BigInt(fresh.credited) : 0n;
        if (!fresh || fresh.token_hash || balance <= 0n) return null;
        const now = this.now();
        return this.store.claim(fresh.pid, hash, fresh.source, balance, now) ? { balance, now, source: fresh.source } : null;
      });
      if (!claimed) return this.redeemInner(pid);
      return { status: 'success', token, balance: this.format(claimed.source, claimed.balance), source: claimed.source, claimed_at: new Date(claimed.now).toISOString() };
    }
    const waiting = this.pendingOf(pid);
    if (waiting) {
      fail('payment_unconfirmed', `the payment is seen but needs ${waiting.confirmationsLeft} more confirmation(s)`, {
        status: 409, details: { confirmationsLeft: waiting.confirmationsLeft }, hint: 'retry after the next blocks',
      });
    }
    const details: Record<string, unknown> = {};
    if (row && BigInt(row.dust) > 0n) details.dust = this.format(row.source, row.dust);
    return fail('payment_not_found', 'no confirmed payment to this payment id', {
      status: 404,
      details,
      hint: details.dust ? 'only payments below the minimum amount (dust) arrived; they are not credited' : 'pay first (see `tally ticket new`), then retry once the watcher has seen it',
    });
  }

  private alreadyClaimed(row: PidRow, token: string): RedeemResult {
    const out: RedeemResult = { status: 'already_claimed', claimed_at: new Date(row.claimed_at!).toISOString() };
    const t = this.store.token(row.token_hash!)!;
    if (this.mayHandOutAgain(token, t, row.claimed_at!, this.now())) Object.assign(out, { token, balance: this.format(t.source, t.balance), source: t.source });
    return out;
  }

  /**
   * A redeemed PID gets its token again until the token is first presented (introspected
   * or spent: then it has reached whoever uses it), and within redeemGraceSecs of the
   * claim. After both, the PID stops being a key to the token. A token made before tokens
   * were derived (random) cannot be made again: its hash does not match.
   */
  private mayHandOutAgain(token: string, t: TokenRow, claimedAt: number, now: number): boolean {
    if (!tokenHash(token).equals(t.hash)) return false;
    return t.used_at === null || now < claimedAt + this.config.redeemGraceSecs * 1000;
  }

  /** What the service knows about a PID (no token, no balance after it was redeemed). */
  paymentStatus(pidValue: unknown) {
    const pid = parsePid(pidValue);
    const row = this.lookup(pid);
    const waiting = this.pendingOf(pid);
    if (!row && !waiting) fail('payment_not_found', 'no payment to this payment id yet', { status: 404 });
    const payments = row ? this.store.paymentsOfPid(row.pid).map((p: PaymentRow) => ({ txid: p.txid, amount: this.format(p.source, p.amount), height: p.height, status: p.status })) : [];
    return {
      pid,
      source: row?.source ?? null,
      credited: row ? this.format(row.source, row.credited) : '0',
      dust: row ? this.format(row.source, row.dust) : '0',
      claimed: row?.token_hash ? true : false,
      confirmationsLeft: waiting?.confirmationsLeft ?? null,
      payments,
    };
  }

  private tokenRow(tokenValue: unknown) {
    const hash = tokenHash(parseToken(tokenValue));
    const row = this.store.token(hash);
    if (!row) fail('token_not_found', 'no such token', { status: 404 });
    return row;
  }

  async introspect(tokenValue: unknown): Promise<TokenView> {
    let row;
    try {
      row = this.tokenRow(tokenValue);
    } catch (err) {
      TicketsStats.bump(this.stats.tokenChecks, err instanceof TallyError ? err.code : 'internal');
      throw err;
    }
    if (row.used_at === null) {
      // The first presentation is a write: those of one turn commit together, like claims.
      // Read again after it: a revoke or spend may have come in meanwhile.
      const hash = row.hash;
      await this.commits.run(() => this.store.markUsed(hash, this.now()));
      row = this.store.token(hash)!;
    }
    const view = this.view(row);
    TicketsStats.bump(this.stats.tokenChecks, view.status);
    return view;
  }

  private view(row: TokenRow): TokenView {
    return {
      status: row.revoked_at === null ? 'active' : 'revoked',
      source: row.source,
      balance: this.format(row.source, row.balance),
      spent: this.format(row.source, row.spent),
      issued_at: new Date(row.issued_at).toISOString(),
      revoked_at: row.revoked_at === null ? null : new Date(row.revoked_at).toISOString(),
    };
  }

  /** Debit usage; never below zero. */
  spend(tokenValue: unknown, amountValue: unknown): TokenView {
    try {
      const out = this.store.transaction(() => {
        const row = this.tokenRow(tokenValue);
        if (row.revoked_at !== null) fail('token_revoked', 'the token is revoked', { status: 410 });
        const amount = parsePositiveAmount(amountValue, this.decimals(row.source));
        const balance = BigInt(row.balance);
        if (amount > balance) {
          fail('insufficient_balance', `the token holds ${this.format(row.source, balance)}, less than ${this.format(row.source, amount)}`, {
            status: 409, details: { balance: this.format(row.source, balance) },
          });
        }
        this.store.setTokenBalance(row.hash, balance - amount, BigInt(row.spent) + amount);
        if (row.used_at === null) this.store.markUsed(row.hash, this.now());
        return this.view(this.store.token(row.hash)!);
      });
      TicketsStats.bump(this.stats.tokenSpends, 'ok');
      return out;
    } catch (err) {
      TicketsStats.bump(this.stats.tokenSpends, err instanceof TallyError ? err.code : 'internal');
      throw err;
    }
  }

  /** The operator's list of tokens, newest first, paged by an opaque cursor. */
  listTokens(query: { status?: unknown; limit?: unknown; cursor?: unknown }): { tokens: TokenListEntry[]; next_cursor: string | null } {
    const status = query.status ?? null;
    if (status !== null && status !== 'active' && status !== 'revoked') fail('bad_request', 'status must be active or revoked');
    let limit = TOKEN_PAGE_DEFAULT;
    if (query.limit !== undefined) {
      limit = typeof query.limit === 'string' && /^\d{1,4}$/.test(query.limit) ? Number(query.limit) : 0;
      if (limit < 1 || limit > TOKEN_PAGE_MAX) fail('bad_request', `limit must be an integer from 1 to ${TOKEN_PAGE_MAX}`);
    }
    let before = { issuedAt: Number.MAX_SAFE_INTEGER, hash: Buffer.alloc(32, 0xff) };
    if (query.cursor !== undefined) {
      const m = typeof query.cursor === 'string' ? TOKEN_CURSOR.exec(query.cursor) : null;
      if (!m) fail('bad_cursor', 'cursor must be the next_cursor of an earlier page');
      before = { issuedAt: Number(m[1]), hash: Buffer.from(m[2]!, 'hex') };
    }
    // One more than asked: tells whether another page follows without a second query.
    const rows = this.store.tokensPage(status as 'active' | 'revoked' | null, before, limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      tokens: page.map((r) => ({
        hash: r.hash.toString('hex'),
        ...this.view(r),
        used_at: r.used_at === null ? null : new Date(r.used_at).toISOString(),
        revoke_reason: r.revoke_reason,
      })),
      next_cursor: rows.length > limit && last ? `${last.issued_at}.${last.hash.toString('hex')}` : null,
    };
  }

  /** Revoke for good; revoking again answers the first revocation. */
  revoke(tokenValue: unknown, reason: unknown): TokenView {
    checkReason(reason);
    return this.revokeRow(this.tokenRow(tokenValue), reason as string);
  }

  /** Revoke by the token's hash, as the operator's list shows it (the token itself is not stored). */
  revokeByHash(hashValue: unknown, reason: unknown): TokenView {
    checkReason(reason);
    if (typeof hashValue !== 'string' || !TOKEN_PATTERN.test(hashValue)) fail('invalid_token_hash', 'a token hash is 64 lowercase hex digits (the hash of `tally ticket list`)');
    const row = this.store.token(Buffer.from(hashValue, 'hex')) ?? fail('token_not_found', 'no token with this hash', { status: 404 });
    return this.revokeRow(row, reason as string);
  }

  private revokeRow(row: TokenRow, reason: string): TokenView {
    this.store.revoke(row.hash, this.now(), reason);
    const after = this.store.token(row.hash)!;
    return { ...this.view(after), revoke_reason: after.revoke_reason };
  }
}
