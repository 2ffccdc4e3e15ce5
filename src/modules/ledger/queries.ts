// The ledger's read-only queries, served over the socket, HTTP and the CLI alike.
import { formatAmount, parseAmount } from '../../core/amount.js';
import { ED25519_PUB_B64U } from '../../core/base64url.js';
import { fail } from '../../core/errors.js';
import { accountIdFromPub, ACCOUNT_ID } from '../../core/keys.js';
import type { Query, QueryContext } from '../../chain/module.js';
import { txView } from '../../chain/reads.js';
import type { TxEvent } from '../../chain/envelope.js';
import type { SqliteStore } from '../../store/sqlite.js';
import { adminIds, type LedgerGenesis } from './genesis.js';
import { auditTotals, netTransfer } from './audit.js';
import { historyRows } from './history.js';
import { accountsRotatedTo } from './key-index.js';
import { BUNDLE_FORMAT, messageSignatureValid, verifyStatementBundle, type StatementBundle } from './statements.js';
import {
  availableOf, disputeCount, DISPUTE_STATUSES, getAccount, getDispute, heldOf, ledgerInvariants, MINT_ID, resolveAccount, transferKey,
  type Dispute, type DisputeStatus, type TransferRecord,
} from './state.js';


function refParam(params: Record<string, unknown>): string {
  const ref = params.account ?? params.name ?? params.id ?? params.pub;
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > 64) fail('bad_query', 'give an account name, id or public key as "account"');
  return ref;
}

const genesisOf = (ctx: QueryContext): LedgerGenesis => ctx.params.moduleGenesis('ledger') as LedgerGenesis;
const amount = (ctx: QueryContext, minor: bigint | string): string => formatAmount(BigInt(minor), ctx.params.decimals);

/**
 * An account by name, 40-hex id or base64url public key; undefined if the chain has never
 * seen it. A key is first the key of its own account (the id derived from it); if that
 * account does not sign with it now, the account an auth.rotate moved to it (ledger_keys).
 */
function resolveRef(ctx: QueryContext, ref: string): string | undefined {
  if (ED25519_PUB_B64U.test(ref) && !ACCOUNT_ID.test(ref)) {
    let own: string;
    try {
      own = accountIdFromPub(ref);
    } catch {
      return undefined;
    }
    if (ctx.accounts.pubOf(own) === ref) return own;
    return accountsRotatedTo(ctx.chain.store, ref).find((account) => ctx.accounts.pubOf(account) === ref) ?? own;
  }
  return resolveAccount(ctx.state, ref) ?? (ACCOUNT_ID.test(ref) ? ref : undefined);
}

interface AccountView {
  id: string;
  name: string | null;
  pub: string | null;
  nonce: number;
  balance: string;
  registered: boolean;
  created: number | null;
}

function accountView(ctx: QueryContext, ref: string): AccountView {
  const id = resolveRef(ctx, ref);
  const pub = id ? ctx.accounts.pubOf(id) : undefined;
  const acct = id ? getAccount(ctx.state, id) : undefined;
  if (!id || (!pub && !acct)) fail('unknown_account', `no account "${ref}"`, { status: 404, hint: 'check the name, or register it first with `tally register NAME`' });
  return {
    id,
    name: acct?.name ?? null,
    pub: pub ?? null,
    nonce: ctx.accounts.nonceOf(id),
    balance: formatAmount(BigInt(acct?.balance ?? '0'), ctx.params.decimals),
    registered: acct !== undefined,
    created: acct?.created ?? null,
  };
}

function registered(ctx: QueryContext, ref: string): string {
  const id = resolveRef(ctx, ref);
  if (!id || !getAccount(ctx.state, id)) fail('unknown_account', `no registered account "${ref}"`, { status: 404, hint: 'check the name, or register it first with `tally register NAME`' });
  return id;
}

function balanceFields(ctx: QueryContext, id: string) {
  const acct = getAccount(ctx.state, id)!;
  return { balance: amount(ctx, acct.balance), held: amount(ctx, heldOf(acct)), available: amount(ctx, availableOf(acct)) };
}

export const balanceQuery: Query = {
  name: 'ledger.balance',
  summary: 'total, held (by open disputes) and available balance of an account',
  run(ctx, params) {
    const id = registered(ctx, refParam(params));
    const { balance, held, available } = balanceFields(ctx, id);
    return { id, name: getAccount(ctx.state, id)!.name, total: balance, held, available };
  },
};

export const whoamiQuery: Query = {
  name: 'ledger.whoami',
  summary: 'the account behind a key, name or id: id, name, key, balance, nonce, roles, created',
  run(ctx, params) {
    const view = accountView(ctx, refParam(params));
    const roles = !view.registered ? [] : adminIds(genesisOf(ctx)).has(view.id) ? ['admin', 'member'] : ['member'];
    const createdBlock = view.created === null ? undefined : ctx.chain.block(view.created);
    return {
      id: view.id,
      name: view.name,
      pub: view.pub,
      registered: view.registered,
      ...(view.registered ? balanceFields(ctx, view.id) : { balance: '0', held: '0', available: '0' }),
      nonce: view.nonce,
      roles,
      created: view.created === null ? null : { height: view.created, time: createdBlock?.header.time ?? null },
    };
  },
};

// ---------------------------------------------------------------------------------------
// history

const HISTORY_LIMIT_MAX = 200;

function timeParam(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : typeof v === 'string' ? Date.parse(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) fail('bad_query', `${what} must be unix milliseconds or an ISO date`);
  return n;
}

export interface HistoryItem {
  id: string;
  height: number;
  index: number;
  time: number;
  type: string;
  status: 'ok' | 'failed';
  code?: string;
  /** the account's side: + received, - sent (net, over the transaction's transfers) */
  change: string;
  counterparty: { id: string; name: string | null } | null;
  memo?: string;
  events: TxEvent[];
}

export const historyQuery: Query = {
  name: 'ledger.history',
  summary: 'an account\'s transactions, newest first: {account, with?, since?, until?, limit?, cursor?}',
  run(ctx, params) {
    const id = registered(ctx, refParam(params));
    const limit = params.limit === undefined ? 50 : Number(params.limit);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > HISTORY_LIMIT_MAX) fail('bad_query', `limit must be 1 to ${HISTORY_LIMIT_MAX}`);
    let counterparty: string | undefined;
    if (params.with !== undefined) {
      if (typeof params.with !== 'string') fail('bad_query', '"with" must be an account name or id');
      counterparty = registered(ctx, params.with);
    }
    let before: number | undefined;
    if (params.cursor !== undefined) {
      if (typeof params.cursor !== 'string' || !/^\d{1,16}$/.test(params.cursor)) fail('bad_cursor', 'cursor must be the "next" value of a previous page');
      before = Number(params.cursor);
    }
    const since = timeParam(params.since, 'since');
    const until = timeParam(params.until, 'until');
    const rows = historyRows(ctx.chain.store, {
      account: id, limit: limit + 1,
      ...(counterparty !== undefined ? { counterparty } : {}), ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}), ...(before !== undefined ? { before } : {}),
    });
    const page = rows.slice(0, limit);
    const names = new Map<string, string | null>();
    const nameOf = (acct: string) => {
      if (!names.has(acct)) names.set(acct, acct === MINT_ID ? 'mint' : getAccount(ctx.state, acct)?.name ?? null);
      return names.get(acct)!;
    };
    const items: HistoryItem[] = page.map((row) => {
      const t = txView(ctx.chain.store.txAt(row.seq)!);
      const change = netTransfer(t.receipt.events, id, ctx.params.decimals);
      const memo = t.receipt.events.find((e) => e.type === 'ledger.transfer' && typeof e.memo === 'string')?.memo as string | undefined;
      const item: HistoryItem = {
        id: t.id, height: t.receipt.height, index: t.receipt.index, time: row.time, type: t.envelope.tx.type, status: t.receipt.status,
        change: (change > 0n ? '+' : '') + amount(ctx, change),
        counterparty: row.counterparty ? { id: row.counterparty, name: nameOf(row.counterparty) } : null,
        events: t.receipt.events,
      };
      if (t.receipt.code !== undefined) item.code = t.receipt.code;
      if (memo !== undefined) item.memo = memo;
      return item;
    });
    return { account: { id, name: nameOf(id) }, items, next: rows.length > limit ? String(page[page.length - 1]!.seq) : null };
  },
};


// ---------------------------------------------------------------------------------------
// a transaction by a prefix of its id (people copy short ids)

/** Shortest id prefix taken: 8 hex digits, as short as a git abbreviation and still rarely shared. */
export const TX_PREFIX_HEX_MIN = 8;
const TX_PREFIX = /^[0-9a-f]+$/;

// Prepared once per store and kept reachable (see keepAlive in src/store/sqlite.ts).
const prefixStatements = new Map<SqliteStore, ReturnType<typeof prefixStatement>>();
const prefixStatement = (store: SqliteStore) =>
  store.db.prepare<[bigint, bigint, number], { id: Buffer }>('SELECT id FROM txs WHERE id_head BETWEEN ? AND ? LIMIT ?');

/**
 * The ids of committed transactions that start with `prefix`, at most `max`. txs.id_head
 * holds the id's first 8 bytes as a signed 64-bit integer, indexed: every id with a given
 * non-empty prefix lies in one range of it (the first hex digit fixes the sign).
 */
function idsWithPrefix(store: SqliteStore, prefix: string, max: number): string[] {
  let stmt = prefixStatements.get(store);
  if (!stmt) prefixStatements.set(store, (stmt = prefixStatement(store)));
  const head = prefix.slice(0, 16);
  const lo = Buffer.from(head.padEnd(16, '0'), 'hex').readBigInt64BE(0);
  const hi = Buffer.from(head.padEnd(16, 'f'), 'hex').readBigInt64BE(0);
  // Beyond 16 digits the rows share id_head and are filtered here; collisions there are rare.
  const rows = stmt.all(lo, hi, prefix.length > 16 ? 64 : max);
  return rows.map((r) => r.id.toString('hex')).filter((id) => id.startsWith(prefix)).slice(0, max);
}

export const findTxQuery: Query = {
  name: 'ledger.find_tx',
  summary: `the full id of the one committed transaction whose id starts with {prefix} (${TX_PREFIX_HEX_MIN} to 64 hex digits)`,
  run(ctx, params) {
    const prefix = typeof params.prefix === 'string' ? params.prefix.toLowerCase() : undefined;
    if (!prefix || !TX_PREFIX.test(prefix) || prefix.length < TX_PREFIX_HEX_MIN || prefix.length > 64) {
      fail('bad_tx_id', `a transaction id is ${TX_PREFIX_HEX_MIN} to 64 hex digits (a unique prefix of the id)`, { hint: 'copy the id from `tally history` or the receipt' });
    }
    const ids = idsWithPrefix(ctx.chain.store, prefix, 2);
    if (ids.length === 0) fail('tx_not_found', `no transaction whose id starts with ${prefix}`, { status: 404 });
    if (ids.length > 1) fail('ambiguous_prefix', `more than one transaction id starts with ${prefix}`, { status: 409, hint: 'give more digits of the id' });
    const t = ctx.chain.tx(ids[0]!)!;
    return { id: t.id, type: t.envelope.tx.type, height: t.receipt.height, index: t.receipt.index, status: t.receipt.status };
  },
};

// ---------------------------------------------------------------------------------------
// a transfer's dispute state (what `tally contest` checks before it signs)

export interface TransferView {
  transfer: string;
  height: number;
  index: number;
  from: string;
  to: string;
  amount: string;
  /** block time of the transfer, unix ms */
  time: number;
  /** the dispute opened on it, or null */
  dispute: number | null;
  contestWindowSecs: number;
  /** until when (unix ms, by block time) a party may contest it */
  contestUntil: number;
}

export const transferQuery: Query = {
  name: 'ledger.transfer',
  summary: 'a committed ledger.send by its full id {transfer}: parties, amount, time, its dispute (or null) and the end of its contest window',
  run(ctx, params): TransferView {
    const id = params.transfer;
    if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) fail('bad_transfer_id', 'transfer must be a 64-hex transaction id', { hint: 'a unique prefix is turned into the full id by `ledger.find_tx`' });
    const t = ctx.chain.tx(id);
    const record = t && t.envelope.tx.type === 'ledger.send' && t.receipt.status === 'ok'
      ? ctx.state.get<TransferRecord>(transferKey(t.receipt.height, t.receipt.index)) : undefined;
    if (!t || !record || record.id !== id) fail('transfer_not_found', `no committed ledger.send ${id}`, { status: 404 });
    const windowSecs = genesisOf(ctx).disputes.contestWindowSecs;
    return {
      transfer: id, height: t.receipt.height, index: t.receipt.index, from: record.from, to: record.to, amount: amount(ctx, record.amount),
      time: record.time, dispute: record.dispute ?? null, contestWindowSecs: windowSecs, contestUntil: record.time + windowSecs * 1000,
    };
  },
};

// ---------------------------------------------------------------------------------------
// statements and signatures

function statementBundle(ctx: QueryContext, id: unknown): StatementBundle {
  if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) fail('bad_query', 'statement must be a 64-hex transaction id');
  const t = ctx.chain.tx(id);
  if (!t || t.envelope.tx.type !== 'ledger.sign') fail('statement_not_found', `no statement ${id}`, { status: 404 });
  if (t.receipt.status !== 'ok') fail('statement_not_found', `transaction ${id} is a statement that failed (${t.receipt.code})`, { status: 404 });
  return { format: BUNDLE_FORMAT, envelope: t.envelope, ...ctx.chain.proof(id)! };
}

export const statementQuery: Query = {
  name: 'ledger.statement',
  summary: 'a recorded statement as a self-contained bundle (signed tx, receipt, Merkle proof, signed block): {statement}',
  run: (ctx, params) => statementBundle(ctx, params.statement ?? params.id),
};

export const verifyQuery: Query = {
  name: 'ledger.verify',
  summary: 'check a statement {statement} or a detached signature {signer, message, signature}',
  run(ctx, params) {
    if (params.statement !== undefined) {
      const bundle = statementBundle(ctx, params.statement);
      const verdict = verifyStatementBundle(bundle, { nodeKey: ctx.chain.block(0)!.header.proposer });
      const signerName = verdict.statement ? getAccount(ctx.state, verdict.statement.signer)?.name ?? null : null;
      return { kind: 'statement', valid: verdict.ok, ...(verdict.ok ? {} : { reason: verdict.reason }), statement: verdict.statement, signerName, bundle };
    }
    const { signer, message, signature } = params;
    if (typeof signer !== 'string' || typeof message !== 'string' || typeof signature !== 'string') {
      fail('bad_query', 'give {statement: id} or {signer, message, signature}');
    }
    const id = resolveRef(ctx, signer);
    const pub = id ? ctx.accounts.pubOf(id) : undefined;
    if (!id || !pub) fail('unknown_account', `no account "${signer}" with a key on this chain`, { status: 404 });
    const valid = messageSignatureValid(pub, message, signature);
    return { kind: 'signature', valid, ...(valid ? {} : { reason: 'the signature does not verify for this account and message' }), signer: { id, name: getAccount(ctx.state, id)?.name ?? null, pub } };
  },
};

// ---------------------------------------------------------------------------------------
// disputes and audit

export interface DisputeView extends Omit<Dispute, 'amount' | 'hold' | 'resolution'> {
  amount: string;
  hold: string;
  names: Record<string, string | null>;
  resolution?: Omit<NonNullable<Dispute['resolution']>, 'reversed' | 'shortfall'> & { reversed: string; shortfall: string };
}

function disputeView(ctx: QueryContext, d: Dispute): DisputeView {
  const names: Record<string, string | null> = {};
  for (const id of [d.from, d.to, d.openedBy, ...d.seconds, ...(d.resolution ? [d.resolution.by] : [])]) names[id] = getAccount(ctx.state, id)?.name ?? null;
  const view: DisputeView = { ...d, amount: amount(ctx, d.amount), hold: amount(ctx, d.hold), names } as DisputeView;
  if (d.resolution) view.resolution = { ...d.resolution, reversed: amount(ctx, d.resolution.reversed), shortfall: amount(ctx, d.resolution.shortfall) };
  return view;
}

export const disputeQuery: Query = {
  name: 'ledger.dispute',
  summary: 'one dispute by number: parties, amount, hold, seconds, status, resolution',
  run(ctx, params) {
    const n = Number(typeof params.dispute === 'string' ? params.dispute.replace('#', '') : params.dispute ?? params.id);
    if (!Number.isSafeInteger(n) || n < 1) fail('bad_dispute_id', 'dispute must be a dispute number (1, 2, ...)');
    const d = getDispute(ctx.state, n);
    if (!d) fail('dispute_not_found', `no dispute ${n}`, { status: 404 });
    return disputeView(ctx, d);
  },
};

function* allDisputes(ctx: QueryContext): Generator<Dispute> {
  const count = disputeCount(ctx.state);
  for (let n = 1; n <= count; n++) {
    const d = getDispute(ctx.state, n);
    if (d) yield d;
  }
}

/**
 * A member's own consistency check: the balance equals the sum of the transfers in the
 * account's history, and what is held equals what its open disputes hold. Synchronous, so
 * the history, the balance and the disputes are read at one chain position; the history's
 * sum is kept by AuditTotals (the caller's catchUp did the long part with yields).
 */
function ownCheck(ctx: QueryContext, id: string) {
  const acct = getAccount(ctx.state, id)!;
  let fromHistory = auditTotals(ctx.chain.store, ctx.params.decimals).netNow(id);
  // Genesis balances are not transactions: they count as the opening balance.
  const g = genesisOf(ctx);
  const opening = g.accounts.find((a) => accountIdFromPub(a.pub) === id);
  if (opening) fromHistory += parseAmount(opening.balance, ctx.params.decimals);
  let heldByDisputes = 0n;
  for (const d of allDisputes(ctx)) if (d.to === id && (d.status === 'open' || d.status === 'escalated')) heldByDisputes += BigInt(d.hold);
  const problems: string[] = [];
  if (fromHistory !== BigInt(acct.balance)) problems.push(`the balance is ${amount(ctx, acct.balance)}, but the account's transfers add up to ${amount(ctx, fromHistory)}`);
  if (heldByDisputes !== heldOf(acct)) problems.push(`${amount(ctx, heldOf(acct))} is held, but open disputes hold ${amount(ctx, heldByDisputes)}`);
  return { ok: problems.length === 0, balance: amount(ctx, acct.balance), fromHistory: amount(ctx, fromHistory), held: amount(ctx, heldOf(acct)), heldByDisputes: amount(ctx, heldByDisputes), problems };
}

export const auditQuery: Query = {
  name: 'ledger.audit',
  summary: 'signed: a member gets their disputes and a check of their own balance; an admin gets every dispute (by status) and a full replay of the chain',
  async run(ctx, params) {
    const who = ctx.authenticate('ledger.audit', params);
    if (!getAccount(ctx.state, who)) fail('not_registered', 'the signing key has no ledger account', { status: 403 });
    const status = params.status;
    if (status !== undefined && !DISPUTE_STATUSES.includes(status as DisputeStatus)) fail('bad_query', `status must be one of ${DISPUTE_STATUSES.join(', ')}`);
    const totals = auditTotals(ctx.chain.store, ctx.params.decimals);
    return totals.exclusive(who, async () => {
      await totals.catchUp(who);
      return audit(ctx, who, status);
    });
  },
};

/** The audit's answer; synchronous for a member (one chain position), see ownCheck. */
async function audit(ctx: QueryContext, who: string, status: unknown) {
  const isAdmin = adminIds(genesisOf(ctx)).has(who);
  const disputes = [...allDisputes(ctx)]
    .filter((d) => isAdmin || d.from === who || d.to === who || d.openedBy === who || d.seconds.includes(who))
    .filter((d) => status === undefined || d.status === status)
    .map((d) => disputeView(ctx, d));
  const account = { id: who, name: getAccount(ctx.state, who)!.name, role: isAdmin ? 'admin' : 'member' };
  if (!isAdmin) return { account, disputes, own: ownCheck(ctx, who) };
  // Admin: the whole chain, from a snapshot: every block links and is signed, every
  // transaction, receipt, Merkle root and state root replays, the stored state equals the
  // replayed one, and the ledger's invariants hold on both.
  const report = await ctx.chain.verify();
  const stored: Array<[string, string]> = [];
  for (const row of ctx.chain.store.allState()) if (row.k.startsWith('ledger/')) stored.push([row.k, row.v]);
  return { account, disputes, own: ownCheck(ctx, who), invariants: ledgerInvariants(stored), chain: report };
}

export const ledgerQueries: Query[] = [
  whoamiQuery, balanceQuery, historyQuery, findTxQuery, transferQuery, statementQuery, verifyQuery, disputeQuery, auditQuery,
];
