// The ledger's WebSocket topic: an account's own view of each block.
import { fail } from '../../core/errors.js';
import { ACCOUNT_ID } from '../../core/keys.js';
import type { WsTopic } from '../../chain/app-module.js';

/** ledger.account (?account=ID): blocks with only the receipts the account sent or that name it; blocks without any are skipped. */
export const accountTopic: WsTopic<{ account: string }> = {
  name: 'ledger.account',
  summary: 'an account\'s receipts: {type:"block", hash, header, sig, receipts} with only the receipts it sent or that name it (from, to, account); ?account=ID',
  parse(params) {
    const keys = Object.keys(params);
    if (keys.some((k) => k !== 'account')) fail('bad_params', `ledger.account takes only ?account=ID, not ${keys.filter((k) => k !== 'account').join(', ')}`);
    if (typeof params.account !== 'string' || !ACCOUNT_ID.test(params.account)) fail('bad_params', 'account must be an account id (40 lowercase hex digits)');
    return { account: params.account };
  },
  key: (p) => p.account,
  message(e, { account }) {
    const receipts = e.receipts.filter((r, i) => e.senders[i] === account || r.events.some((ev) => ev.from === account || ev.to === account || ev.account === account));
    if (receipts.length === 0) return undefined;
    return { type: 'block', hash: e.block.hash, header: e.block.header, sig: e.block.sig, receipts };
  },
};
