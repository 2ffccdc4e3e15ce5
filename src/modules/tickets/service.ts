// The tickets service: redeem a paid PID for a token, introspect, spend and revoke it.
// Shared by the public and internal routes, the watchers and the metrics of one node.
import { formatAmount, parsePositiveAmount } from '../../core/amount.js';
import { fail, TallyError } from '../../core/errors.js';
import type { TicketsConfig } from './config.js';
import type { GroupCommit } from './group-commit.js';
import { MONERO_DECIMALS } from './config.js';
import { SqliteTicketsBackend, type TicketsBackend } from './backend.js';
import { parsePid, parseToken, tallyMemoTag, tokenHash, TOKEN_PATTERN } from './pid.js';
import { TicketsStore, type PaymentRow, type PidRow, type Source, type TokenRow } from './store.js';
import { tokenFor } from './token-key.js';

const REASON_BYTES_MAX = 256;
/** Reads and claims of one redeem before it gives up (redeem_conflict). */
const REDEEM_ATTEMPTS_MAX = 8;
export { CLAIMS_PENDING_HIGH } from './backend.js';
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
  /** Where the tables are (backend.ts): SQLite in the node, or PostgreSQL shared by many processes. */
  readonly backend: TicketsBackend;

  constructor(
    store: TicketsStore | TicketsBackend,
    readonly config: TicketsConfig,
    readonly tallyDecimals: number,
    /** the node secret tokens are derived from (token-key.ts) */
    private readonly tokenKey: Buffer,
    readonly now: () => number = Date.now,
  ) {
    this.backend = store instanceof TicketsStore ? new SqliteTicketsBackend(store) : store;
    this.stats.caches = () => this.backend.cacheSizes();
  }

  /** SQLite: the group commit of claims and first uses (for the tests); undefined on PostgreSQL. */
  get commits(): GroupCommit | undefined {
    return this.backend instanceof SqliteTicketsBackend ? this.backend.commits : undefined;
  }

  decimals(source: Source): number {
    return source === 'monero' ? MONERO_DECIMALS : this.tallyDecimals;
  }

  format(source: Source, minor: bigint | string): string {
    return formatAmount(BigInt(minor), this.decimals(source));
  }

  /** SQLite: apply logged claims to the PID and token tables in the background; answers the function that stops it. */
  startClaimApplier(): () => void {
    return this.backend.startBackground();
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

  /** The row of a PID that counts (choosePid). */
  private async lookup(pid: string): Promise<PidRow | undefined> {
    return choosePid(...(await this.backend.pidPair(pid, tallyMemoTag(pid))));
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

  private async redeemInner(pidValue: unknown, attempt = 1): Promise<RedeemResult> {
    const pid = parsePid(pidValue);
    const pair = await this.backend.pidPair(pid, tallyMemoTag(pid));
    const row = choosePid(...pair);
    // The token is derived from the PID, so one PID has one token whoever asks, and the
    // claim on disk is all that must commit: an answer lost to a crash is asked for again.
    const token = tokenFor(this.tokenKey, pid);
    if (row?.token_hash) return this.alreadyClaimed(row, token);
    if (row && BigInt(row.credited) > 0n) {
      // Checked again and written in one transaction (SQLite: with the other claims of this
      // event-loop turn; PostgreSQL: under the PID's row locks, whichever process asks).
      const claimed = await this.backend.claim(pid, tallyMemoTag(pid), tokenHash(token), choosePid, this.now, pair);
      // Lost a race (or the credit changed): read again. Bounded: each retry follows a change.
      if (!claimed) {
        if (attempt >= REDEEM_ATTEMPTS_MAX) fail('redeem_conflict', 'the payment id changed under every attempt to redeem it; retry', { status: 503 });
        return this.redeemInner(pid, attempt + 1);
      }
      return { status: 'success', token, balance: this.format(claimed.source, claimed.balance), source: claimed.source, claimed_at: new Date(claimed.at).toISOString() };
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

  private async alreadyClaimed(row: PidRow, token: string): Promise<RedeemResult> {
    const out: RedeemResult = { status: 'already_claimed', claimed_at: new Date(row.claimed_at!).toISOString() };
    const t = (await this.backend.token(row.token_hash!))!;
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
  async paymentStatus(pidValue: unknown) {
    const pid = parsePid(pidValue);
    const row = await this.lookup(pid);
    const waiting = this.pendingOf(pid);
    if (!row && !waiting) fail('payment_not_found', 'no payment to this payment id yet', { status: 404 });
    const payments = row ? (await this.backend.paymentsOfPid(row.pid)).map((p: PaymentRow) => ({ txid: p.txid, amount: this.format(p.source, p.amount), height: p.height, status: p.status })) : [];
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

  private async tokenRow(tokenValue: unknown): Promise<TokenRow> {
    const hash = tokenHash(parseToken(tokenValue));
    return (await this.backend.token(hash)) ?? fail('token_not_found', 'no such token', { status: 404 });
  }

  async introspect(tokenValue: unknown): Promise<TokenView> {
    let row;
    try {
      row = await this.tokenRow(tokenValue);
    } catch (err) {
      TicketsStats.bump(this.stats.tokenChecks, err instanceof TallyError ? err.code : 'internal');
      throw err;
    }
    if (row.used_at === null) {
      // The first presentation is a write: those of one turn commit together, like claims.
      // Read again after it: a revoke or spend may have come in meanwhile.
      const hash = row.hash;
      row = (await this.backend.markUsed(hash, this.now()))!;
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
  async spend(tokenValue: unknown, amountValue: unknown): Promise<TokenView> {
    try {
      const hash = tokenHash(parseToken(tokenValue));
      // The checks run on the row as the transaction sees it (PostgreSQL: locked), so two
      // spends through two processes never both take the same balance.
      const after = await this.backend.spend(hash, (row) => {
        if (!row) return fail('token_not_found', 'no such token', { status: 404 });
        if (row.revoked_at !== null) fail('token_revoked', 'the token is revoked', { status: 410 });
        const amount = parsePositiveAmount(amountValue, this.decimals(row.source));
        const balance = BigInt(row.balance);
        if (amount > balance) {
          fail('insufficient_balance', `the token holds ${this.format(row.source, balance)}, less than ${this.format(row.source, amount)}`, {
            status: 409, details: { balance: this.format(row.source, balance) },
          });
        }
        return { balance: balance - amount, spent: BigInt(row.spent) + amount };
      }, this.now());
      const out = this.view(after);
      TicketsStats.bump(this.stats.tokenSpends, 'ok');
      return out;
    } catch (err) {
      TicketsStats.bump(this.stats.tokenSpends, err instanceof TallyError ? err.code : 'internal');
      throw err;
    }
  }

  /** The operator's list of tokens, newest first, paged by an opaque cursor. */
  async listTokens(query: { status?: unknown; limit?: unknown; cursor?: unknown }): Promise<{ tokens: TokenListEntry[]; next_cursor: string | null }> {
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
    const rows = await this.backend.tokensPage(status as 'active' | 'revoked' | null, before, limit + 1);
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
  async revoke(tokenValue: unknown, reason: unknown): Promise<TokenView> {
    checkReason(reason);
    return this.revokeHash(tokenHash(parseToken(tokenValue)), reason as string, 'no such token');
  }

  /** Revoke by the token's hash, as the operator's list shows it (the token itself is not stored). */
  async revokeByHash(hashValue: unknown, reason: unknown): Promise<TokenView> {
    checkReason(reason);
    if (typeof hashValue !== 'string' || !TOKEN_PATTERN.test(hashValue)) fail('invalid_token_hash', 'a token hash is 64 lowercase hex digits (the hash of `tally ticket list`)');
    return this.revokeHash(Buffer.from(hashValue, 'hex'), reason as string, 'no token with this hash');
  }

  private async revokeHash(hash: Buffer, reason: string, notFound: string): Promise<TokenView> {
    const after = (await this.backend.revoke(hash, this.now(), reason)) ?? fail('token_not_found', notFound, { status: 404 });
    return { ...this.view(after), revoke_reason: after.revoke_reason };
  }
}

/**
 * The payments of a PID: Monero ones are stored under the PID itself, Tally ones under its
 * memo tag (see tallyMemoTag). A Tally row is never found by its tag typed in as a PID,
 * which is what keeps a chain watcher from redeeming someone else's payment.
 * A PID redeemed through either row is redeemed: one PID, one token (a Monero PID with
 * only dust, redeemed through Tally, must not be redeemed again after a real Monero payment).
 */
export function choosePid(stored: PidRow | undefined, tag: PidRow | undefined): PidRow | undefined {
  const direct = stored && stored.source !== 'tally' ? stored : undefined;
  const tagged = tag && tag.source === 'tally' ? tag : undefined;
  if (direct?.token_hash) return direct;
  if (tagged?.token_hash) return tagged;
  if (direct && BigInt(direct.credited) > 0n) return direct;
  return tagged ?? direct;
}
