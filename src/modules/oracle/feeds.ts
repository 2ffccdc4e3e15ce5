// The oracle's WebSocket topic: attestations and freezes as blocks commit, so a client
// (a market's UI, a settlement watcher) learns of them without polling.
import { fail } from '../../core/errors.js';
import type { WsTopic } from '../../chain/app-module.js';
import { HEX32 } from './state.js';

/** oracle.attestations (?oracle=PUBKEY optional): {type:"oracle", height, hash, events} with the block's oracle.attested and oracle.frozen events. */
export const attestationsTopic: WsTopic<{ oracle?: string }> = {
  name: 'oracle.attestations',
  summary: 'attestations and freezes: {type:"oracle", height, hash, events} with the block\'s oracle.attested and oracle.frozen events (each with its tx id); ?oracle=PUBKEY for one oracle',
  parse(params) {
    const keys = Object.keys(params);
    if (keys.some((k) => k !== 'oracle')) fail('bad_params', `oracle.attestations takes only ?oracle=PUBKEY, not ${keys.filter((k) => k !== 'oracle').join(', ')}`);
    if (params.oracle !== undefined && !HEX32.test(params.oracle)) fail('bad_params', "oracle must be an oracle's x-only public key (64 lowercase hex digits)");
    return params.oracle === undefined ? {} : { oracle: params.oracle };
  },
  key: (p) => p.oracle ?? '*',
  message(e, { oracle }) {
    const events = e.receipts.flatMap((r) => r.events
      .filter((ev) => (ev.type === 'oracle.attested' || ev.type === 'oracle.frozen') && (oracle === undefined || ev.oracle === oracle))
      .map((ev) => ({ ...ev, tx: r.id })));
    if (events.length === 0) return undefined;
    return { type: 'oracle', height: e.block.header.height, hash: e.block.hash, events };
  },
};
