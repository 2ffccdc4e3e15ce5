// The ledger's genesis section: registration policy with its starting grant, the initial
// accounts (paid from the mint), and the admins.
import { fail } from '../../core/errors.js';
import { accountIdFromPub, assertStrongPublicKey } from '../../core/keys.js';
import { formatAmount, parseAmount } from '../../core/amount.js';
import { fromB64u } from '../../core/encoding.js';
import { openAccount, type StateView } from '../../chain/state.js';
import type { ChainParams, ModuleGenesis } from '../../chain/module.js';
import { createAccount, MINT_ID, MINT_NAME, transfer, validName } from './state.js';

export interface LedgerGenesis {
  registration: { policy: 'open' | 'closed'; grant: string };
  accounts: Array<{ name: string; pub: string; balance: string }>;
  admins: string[];
}

export const ledgerGenesis: ModuleGenesis = {
  validate(section, { decimals }) {
    const s = (section ?? {}) as Record<string, unknown>;
    const reg = (s.registration ?? {}) as Record<string, unknown>;
    const policy = reg.policy ?? 'open';
    if (policy !== 'open' && policy !== 'closed') fail('genesis_invalid', 'ledger.registration.policy must be "open" or "closed"');
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
    return { registration: { policy, grant }, accounts: out, admins: admins as string[] } satisfies LedgerGenesis;
  },

  init(state: StateView, section, params: ChainParams) {
    const g = section as LedgerGenesis;
    createAccount(state, MINT_ID, MINT_NAME, 0);
    for (const a of g.accounts) {
      const id = accountIdFromPub(a.pub);
      openAccount(state, id, a.pub);
      createAccount(state, id, a.name, 0);
      const amount = parseAmount(a.balance, params.decimals);
      if (amount > 0n) transfer(state, MINT_ID, id, amount);
    }
  },

  defaults({ dev }) {
    return { registration: { policy: 'open', grant: dev ? '1000' : '0' }, accounts: [], admins: [] } satisfies LedgerGenesis;
  },
};
