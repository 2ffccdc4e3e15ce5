// The ledger's genesis section: registration policy with its starting grant, the initial
// accounts (paid from the mint), and the admins.
import { fail } from '../../core/errors.js';
import { accountIdFromPub, assertStrongPublicKey } from '../../core/keys.js';
import { formatAmount, parseAmount } from '../../core/amount.js';
import { fromB64u } from '../../core/encoding.js';
import type { ModuleGenesis } from '../../chain/module.js';
import { createAccount, MINT_ID, MINT_NAME, transfer, validName } from './state.js';

export type RegistrationPolicy = 'open' | 'invite' | 'closed';
export const POLICIES: RegistrationPolicy[] = ['open', 'invite', 'closed'];

export interface LedgerGenesis {
  /** open: anyone; invite: with an admin-signed invite code; closed: genesis accounts only */
  registration: { policy: RegistrationPolicy; grant: string };
  accounts: Array<{ name: string; pub: string; balance: string }>;
  /** names of genesis accounts that may resolve disputes and issue invites */
  admins: string[];
  disputes: {
    /** how long after a transfer either party may contest it */
    contestWindowSecs: number;
    /** seconds (backers) after which an open dispute is escalated */
    secondsRequired: number;
  };
}

export const DISPUTE_DEFAULTS = { contestWindowSecs: 7 * 24 * 3600, secondsRequired: 2 };

const adminCache = new WeakMap<LedgerGenesis, Set<string>>();

/** Admin account ids: fixed by the genesis keys, so a rename never changes who is admin. */
export function adminIds(g: LedgerGenesis): Set<string> {
  let ids = adminCache.get(g);
  if (!ids) {
    ids = new Set(g.accounts.filter((a) => g.admins.includes(a.name)).map((a) => accountIdFromPub(a.pub)));
    adminCache.set(g, ids);
  }
  return ids;
}

function positiveInt(v: unknown, what: string, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) fail('genesis_invalid', `${what} must be a whole number from 1 to ${max}`);
  return v;
}

export const ledgerGenesis: ModuleGenesis = {
  validate(section, { decimals }) {
    const s = (section ?? {}) as Record<string, unknown>;
    const reg = (s.registration ?? {}) as Record<string, unknown>;
    const policy = reg.policy ?? 'open';
    if (!POLICIES.includes(policy as RegistrationPolicy)) fail('genesis_invalid', 'ledger.registration.policy must be "open", "invite" or "closed"');
    const grant = formatAmount(parseAmount(reg.grant ?? '0', decimals, 'ledger.registration.grant'), decimals);
    const accounts = (s.accounts ?? []) as Array<Record<string, unknown>>;
    if (!Array.isArray(accounts)) fail('genesis_invalid', 'ledger.accounts must be an array');
    const names = new Set<string>();
    const ids = new Set<string>();
    const out = accounts.map((a, i) => {
      const name = validName(a.name);
      fromB64u(a.pub, `ledger.accounts[${i}].pub`, 32);
      assertStrongPublicKey(a.pub as string);
      const id = accountIdFromPub(a.pub as string);
      if (names.has(name) || ids.has(id)) fail('genesis_invalid', `ledger.accounts[${i}] repeats a name or key`);
      names.add(name);
      ids.add(id);
      return { name, pub: a.pub as string, balance: formatAmount(parseAmount(a.balance ?? '0', decimals, `ledger.accounts[${i}].balance`), decimals) };
    });
    const admins = (s.admins ?? []) as unknown[];
    if (!Array.isArray(admins)) fail('genesis_invalid', 'ledger.admins must be an array of account names');
    for (const a of admins) if (typeof a !== 'string' || !names.has(a)) fail('genesis_invalid', `ledger.admins names "${String(a)}", which is not a genesis account`);
    if (policy === 'invite' && admins.length === 0) fail('genesis_invalid', 'ledger.registration.policy "invite" needs at least one admin to sign invites', { hint: 'tally init --policy invite --admin KEYNAME, or list "admins" in the genesis file' });
    const d = (s.disputes ?? {}) as Record<string, unknown>;
    const disputes = {
      contestWindowSecs: positiveInt(d.contestWindowSecs ?? DISPUTE_DEFAULTS.contestWindowSecs, 'ledger.disputes.contestWindowSecs', 10 * 365 * 24 * 3600),
      secondsRequired: positiveInt(d.secondsRequired ?? DISPUTE_DEFAULTS.secondsRequired, 'ledger.disputes.secondsRequired', 1000),
    };
    return { registration: { policy: policy as RegistrationPolicy, grant }, accounts: out, admins: admins as string[], disputes } satisfies LedgerGenesis;
  },

  init({ state, params, openAccount }, section) {
    const g = section as LedgerGenesis;
    createAccount(state, MINT_ID, MINT_NAME, 0);
    for (const a of g.accounts) {
      const id = accountIdFromPub(a.pub);
      openAccount(id, a.pub);
      createAccount(state, id, a.name, 0);
      const amount = parseAmount(a.balance, params.decimals);
      if (amount > 0n) transfer(state, MINT_ID, id, amount);
    }
  },

  defaults({ dev }) {
    return { registration: { policy: 'open', grant: dev ? '1000' : '0' }, accounts: [], admins: [], disputes: { ...DISPUTE_DEFAULTS } } satisfies LedgerGenesis;
  },
};
