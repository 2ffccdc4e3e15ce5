// Applying one transaction to layered state: shared by the sequencer and by replay, so
// what the node did and what `tally chain verify` recomputes can never drift apart.
import { errorBody, TallyError } from '../core/errors.js';
import type { Envelope, Receipt } from './envelope.js';
import type { ChainParams, TxType } from './module.js';
import { authKey, type AuthRecord, type LayeredState } from './state.js';

export interface ApplyInput {
  state: LayeredState;
  type: TxType;
  params: ChainParams;
  height: number;
  index: number;
  timeMs: number;
  id: string;
  env: Envelope;
  /** what type.parse() returned for the body */
  body: unknown;
  /** the sender's key and nonce before this transaction (undefined for a new account) */
  auth: AuthRecord | undefined;
}

/**
 * Run the module's apply(). Success keeps its writes; a TallyError fails the transaction
 * and drops them whole. Either way the nonce is used (a bounced cheque is still recorded).
 * Anything else thrown is a bug in the module: it is logged and recorded as `internal`.
 */
export function applyTx(a: ApplyInput): Receipt {
  const tx = a.env.tx;
  let receipt: Receipt;
  try {
    const events = a.type.apply({ state: a.state, params: a.params, height: a.height, index: a.index, timeMs: a.timeMs, id: a.id, tx, pub: a.env.pub }, a.body);
    a.state.commitTx();
    receipt = { id: a.id, height: a.height, index: a.index, status: 'ok', events };
  } catch (err) {
    a.state.rollbackTx();
    if (!(err instanceof TallyError)) console.error(`tally: transaction ${a.id} failed with an internal error`, err);
    receipt = { id: a.id, height: a.height, index: a.index, status: 'failed', code: errorBody(err).code, events: [] };
  }
  a.state.setDurable(authKey(tx.from), { pub: a.auth?.pub ?? a.env.pub, nonce: (a.auth?.nonce ?? 0) + 1 } satisfies AuthRecord);
  return receipt;
}
