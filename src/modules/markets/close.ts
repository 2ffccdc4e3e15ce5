// markets.close: a chain admin's way out of a market that can no longer settle by its
// oracles. A market is halted when an oracle of it is frozen (oracle.evidence: its key is
// out). A future with another oracle still settles at its attestation; a market whose only
// oracle froze, and every perpetual, would otherwise stay open for ever with its traders'
// collateral in escrow. The admin closes it: every position settles at the market's mark
// as of the halt (trading stopped then, so nobody could move it since; it is the price the
// market's own margin checks last used), resting orders are cancelled and their holds
// released, and the market is settled. No price is chosen by the admin.
import { fail } from '../../core/errors.js';
import { decode, object, string, withCode } from '../../core/decode.js';
import type { TxType } from '../../chain/module.js';
import { Clearing } from './clearing.js';
import type { MarketsDeps } from './deps.js';
import { markPrice, settleAt } from './risk.js';
import { getMarket } from './state.js';
import { MARKET_ID } from './state.js';

const closeBody = (raw: unknown): { market: string } =>
  decode(object({ market: withCode('bad_market', string({ pattern: MARKET_ID, maxLength: 32, what: 'a market id (lowercase letters, digits, "-")' })) }), raw, 'bad_body', 'body');

export function closeFromDeps(deps: MarketsDeps): TxType<{ market: string }> {
  return {
    type: 'markets.close',
    parse: (raw) => closeBody(raw),
    apply(ctx, b) {
      const c0 = ctx.keeper(deps.ledger);
      if (!c0.isAdmin(ctx.tx.from)) fail('not_admin', 'only an admin of this chain may close a market', { status: 403 });
      const m = getMarket(ctx.state, b.market);
      if (!m) fail('unknown_market', `no market ${b.market}`, { status: 404 });
      if (m.status === 'settled') fail('market_settled', `market ${b.market} has settled`, { status: 409 });
      if (m.status !== 'halted') fail('market_not_halted', `market ${b.market} is active: only a halted market (a frozen oracle, or no attestation by its deadline) may be closed`, { status: 409 });
      const c = new Clearing(ctx, deps.ledger, m);
      const mark = markPrice(m);
      // No trade and no index: no position can exist (a position comes from a fill).
      settleAt(c, mark ?? 0, { closed: true, by: ctx.tx.from, ...(mark === undefined ? { noMark: true } : {}) });
      c.save();
      return c.events;
    },
  };
}
