// The ledger's events, as they appear in receipts: its public, typed surface for anything
// that reacts to blocks (the tickets watcher, feeds, wallets). Amounts are decimal
// strings; ids are account ids (40 hex). Documented in the README, "Ledger events".
import type { Receipt, TxEvent } from '../../chain/envelope.js';
import type { StateReader } from '../../chain/state.js';
import { resolveAccount } from './state.js';

export type TransferEvent = {
  type: 'ledger.transfer';
  from: string;
  to: string;
  amount: string;
  memo?: string;
  /** set when a dispute's resolution moved the funds back */
  dispute?: number;
};

/** A module's hold on an account, or its release (through the ledger keeper; owner = the module). */
export type HoldEvent = {
  type: 'ledger.hold' | 'ledger.release';
  account: string;
  owner: string;
  amount: string;
};

export type LedgerEvent =
  | TransferEvent
  | HoldEvent
  | { type: 'ledger.registered'; account: string; name: string }
  | { type: 'ledger.invite_used'; invite: string; admin: string }
  | { type: 'ledger.renamed'; account: string; old: string; name: string }
  | { type: 'ledger.statement'; account: string; digest: string }
  | { type: 'ledger.dispute_opened'; dispute: number; transfer: string; from: string; to: string; amount: string; held: string }
  | { type: 'ledger.dispute_seconded'; dispute: number; account: string; seconds: number }
  | { type: 'ledger.dispute_escalated'; dispute: number }
  | { type: 'ledger.dispute_resolved'; dispute: number; action: 'reverse' | 'dismiss'; from: string; to: string; reversed: string; shortfall: string };

export function isTransfer(ev: TxEvent): ev is TxEvent & TransferEvent {
  return ev.type === 'ledger.transfer' && typeof ev.from === 'string' && typeof ev.to === 'string' && typeof ev.amount === 'string';
}

/** Each transfer of a successful transaction, with its position among the receipt's events. */
export function* transfersOf(receipt: Receipt): Generator<{ event: TransferEvent; position: number }> {
  if (receipt.status !== 'ok') return;
  for (let i = 0; i < receipt.events.length; i++) {
    const ev = receipt.events[i]!;
    if (isTransfer(ev)) yield { event: ev, position: i };
  }
}

/** An account id from a name or an id, in committed state (for the app parts of other modules). */
export function ledgerAccountId(state: StateReader, ref: string): string | undefined {
  return resolveAccount(state, ref);
}
