// The ledger's read-only queries, served over the socket, HTTP and the CLI alike.
import { formatAmount } from '../../core/amount.js';
import { fail } from '../../core/errors.js';
import { ACCOUNT_ID } from '../../core/keys.js';
import type { Query, QueryContext } from '../../chain/module.js';
import { authKey, type AuthRecord } from '../../chain/state.js';
import { getAccount, resolveAccount } from './state.js';

function refParam(params: Record<string, unknown>): string {
  const ref = params.account ?? params.name ?? params.id;
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > 64) fail('bad_query', 'give an account name or id as "account"');
  return ref;
}

export interface AccountView {
  id: string;
  name: string | null;
  pub: string | null;
  nonce: number;
  balance: string;
  registered: boolean;
  created: number | null;
}

export function accountView(ctx: QueryContext, ref: string): AccountView {
  const id = resolveAccount(ctx.state, ref) ?? (ACCOUNT_ID.test(ref) ? ref : undefined);
  const auth = id ? ctx.state.get<AuthRecord>(authKey(id)) : undefined;
  const acct = id ? getAccount(ctx.state, id) : undefined;
  if (!id || (!auth && !acct)) fail('unknown_account', `no account "${ref}"`, { status: 404 });
  return {
    id,
    name: acct?.name ?? null,
    pub: auth?.pub ?? null,
    nonce: ctx.committedNonce(id) ?? 0,
    balance: formatAmount(BigInt(acct?.balance ?? '0'), ctx.params.decimals),
    registered: acct !== undefined,
    created: acct?.created ?? null,
  };
}

export const accountQuery: Query = {
  name: 'ledger.account',
  summary: 'an account by name or id: id, name, key, nonce, balance',
  run: (ctx, params) => accountView(ctx, refParam(params)),
};

export const balanceQuery: Query = {
  name: 'ledger.balance',
  summary: 'total, held and available balance of an account',
  run(ctx, params) {
    const view = accountView(ctx, refParam(params));
    if (!view.registered) fail('unknown_account', `no registered account "${refParam(params)}"`, { status: 404 });
    // Holds arrive with disputes (the ledger's contest/resolve); until then nothing is held.
    return { id: view.id, name: view.name, total: view.balance, held: '0', available: view.balance };
  },
};
