// The ledger's genesis section: registration policy with its starting grant, the initial
// accounts (paid from the mint), and the admins.
import { fail } from '../../core/errors.js';
import { array, decode, int, object, oneOf, string, unknownValue, withDefault } from '../../core/decode.js';
import { accountIdFromPub, assertStrongPublicKey } from '../../core/keys.js';
import { formatAmount, parseAmount } from '../../core/amount.js';
import { fromB64u } from '../../core/encoding.js';
import type { ModuleGenesis } from '../../chain/module.js';
import { createAccount, MINT_ID, MINT_NAME, MODULE_ACCOUNT_NAME, transfer, validName, type LedgerAccount } from './state.js';

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

/** Genesis accounts and admins; a bound on what one genesis file may list. */
export const GENESIS_ACCOUNTS_MAX = 100_000;
const CONTEST_WINDOW_SECS_MAX = 10 * 365 * 24 * 3600;
const SECONDS_REQUIRED_MAX = 1000;

// Structure and bounds; names, keys and amounts are then checked by their own parsers
// (name_invalid, bad_key, amount_invalid), as everywhere else.
const sectionSchema = object({
  registration: withDefault(object({
    policy: withDefault(oneOf(POLICIES), 'open'),
    grant: withDefault(unknownValue, '0'),
  }), { policy: 'open' as RegistrationPolicy, grant: '0' }),
  accounts: withDefault(array(object({
    name: unknownValue,
    pub: unknownValue,
    balance: withDefault(unknownValue, '0'),
  }), { maxItems: GENESIS_ACCOUNTS_MAX }), []),
  admins: withDefault(array(string({ maxLength: 32, what: 'an account name' }), { maxItems: GENESIS_ACCOUNTS_MAX }), []),
  disputes: withDefault(object({
    contestWindowSecs: withDefault(int({ min: 1, max: CONTEST_WINDOW_SECS_MAX, what: `a whole number from 1 to ${CONTEST_WINDOW_SECS_MAX}` }), DISPUTE_DEFAULTS.contestWindowSecs),
    secondsRequired: withDefault(int({ min: 1, max: SECONDS_REQUIRED_MAX, what: `a whole number from 1 to ${SECONDS_REQUIRED_MAX}` }), DISPUTE_DEFAULTS.secondsRequired),
  }), { ...DISPUTE_DEFAULTS }),
});

export const ledgerGenesis: ModuleGenesis = {
  validate(section, { decimals }) {
    const s = decode(sectionSchema, section ?? {}, 'genesis_invalid', 'ledger');
    const policy = s.registration.policy;
    const grant = formatAmount(parseAmount(s.registration.grant, decimals, 'ledger.registration.grant'), decimals);
    const names = new Set<string>();
    const ids = new Set<string>();
    const out = s.accounts.map((a, i) => {
      const name = validName(a.name);
      fromB64u(a.pub, `ledger.accounts[${i}].pub`, 32);
      assertStrongPublicKey(a.pub as string);
      const id = accountIdFromPub(a.pub as string);
      if (names.has(name) || ids.has(id)) fail('genesis_invalid', `ledger.accounts[${i}] repeats a name or key`);
      names.add(name);
      ids.add(id);
      return { name, pub: a.pub as string, balance: formatAmount(parseAmount(a.balance, decimals, `ledger.accounts[${i}].balance`), decimals) };
    });
    const admins = s.admins;
    for (const a of admins) if (!names.has(a)) fail('genesis_invalid', `ledger.admins names "${a}", which is not a genesis account`);
    if (policy === 'invite' && admins.length === 0) fail('genesis_invalid', 'ledger.registration.policy "invite" needs at least one admin to sign invites', { hint: 'tally init --policy invite --admin KEYNAME, or list "admins" in the genesis file' });
    return { registration: { policy, grant }, accounts: out, admins, disputes: s.disputes } satisfies LedgerGenesis;
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

  /**
   * Every registered account with its name, key and whole balance; the registration
   * policy, admins (those still named as at genesis) and dispute rules unchanged. Left
   * out: holds and open disputes (their funds stay in the receiver's balance; settle
   * disputes first), transfer records, used invites and history.
   */
  export({ state, params, accounts }, section) {
    const g = section as LedgerGenesis;
    const out: LedgerGenesis['accounts'] = [];
    const adminIdsNow = adminIds(g);
    const admins: string[] = [];
    for (let after: string | undefined; ;) {
      const page = state.entries<LedgerAccount>('ledger/acct/', after === undefined ? { limit: 1000 } : { after, limit: 1000 });
      for (const [key, acct] of page) {
        const id = key.slice('ledger/acct/'.length);
        // Module accounts (markets' escrow, fees, insurance) have no key: the export leaves them out.
        if (id === MINT_ID || MODULE_ACCOUNT_NAME.test(acct.name)) continue;
        const pub = accounts.pubOf(id);
        if (!pub) fail('genesis_invalid', `ledger account ${id} has no key; the state is damaged`);
        out.push({ name: acct.name, pub, balance: formatAmount(BigInt(acct.balance), params.decimals) });
        if (adminIdsNow.has(id)) admins.push(acct.name);
      }
      if (page.length < 1000) break;
      after = page[page.length - 1]![0];
    }
    if (out.length > GENESIS_ACCOUNTS_MAX) fail('genesis_invalid', `${out.length} accounts: a genesis holds at most ${GENESIS_ACCOUNTS_MAX}`);
    return { registration: g.registration, accounts: out, admins, disputes: g.disputes } satisfies LedgerGenesis;
  },
};
