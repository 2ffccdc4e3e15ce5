// Chain queries of the notary: an anchor as the chain recorded it.
import { fail } from '../../core/errors.js';
import { ACCOUNT_ID } from '../../core/keys.js';
import type { Query } from '../../chain/module.js';
import { anchorKey } from './anchor.js';

export const anchorQuery: Query = {
  name: 'notary.anchor',
  summary: 'the on-chain anchor of a notary batch: {account, batch} -> {root, count, first, tx, height} or null',
  run(ctx, params) {
    const account = params.account;
    const batch = params.batch;
    if (typeof account !== 'string' || !ACCOUNT_ID.test(account)) fail('bad_params', 'account must be an account id (40 lowercase hex digits)');
    if (typeof batch !== 'number' || !Number.isSafeInteger(batch) || batch < 1) fail('bad_params', 'batch must be a positive integer');
    return ctx.state.get(anchorKey(account, batch)) ?? null;
  },
};
