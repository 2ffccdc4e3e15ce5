// Ledger state is a key-value map of JSON values, owned by modules under their own key
// prefixes ("auth/", "ledger/..."). The sequencer layers writes: one transaction's
// writes over the block's writes over the committed state, so a failed transaction is
// dropped whole and a block commits whole.
import { hash } from '../core/hash.js';
import { fromHex, toHex } from '../core/encoding.js';

export interface StateReader {
  get<T = unknown>(key: string): T | undefined;
}

export interface StateView extends StateReader {
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

/** Where committed values come from: the store (through a cache) or, in replay, memory. */
export type CommittedLookup = (key: string) => string | undefined;

export class LayeredState implements StateView {
  readonly blockWrites = new Map<string, string | null>();
  private txWrites = new Map<string, string | null>();

  constructor(private readonly committed: CommittedLookup) {}

  getRaw(key: string): string | undefined {
    let v = this.txWrites.get(key);
    if (v === undefined) v = this.blockWrites.get(key);
    if (v === undefined) return this.committed(key);
    return v === null ? undefined : v;
  }

  /**
   * Parsed values are memoized for the block (a transfer reads the same accounts several
   * times) and frozen, so a module that mutated one instead of calling set() would fail
   * loudly rather than change state behind the sequencer's back.
   */
  get<T = unknown>(key: string): T | undefined {
    const raw = this.getRaw(key);
    if (raw === undefined) return undefined;
    const hit = this.parsed.get(key);
    if (hit && hit.raw === raw) return hit.value as T;
    const value = Object.freeze(JSON.parse(raw) as object);
    this.parsed.set(key, { raw, value });
    return value as T;
  }

  private readonly parsed = new Map<string, { raw: string; value: unknown }>();

  set(key: string, value: unknown): void {
    this.txWrites.set(key, JSON.stringify(value));
  }

  delete(key: string): void {
    this.txWrites.set(key, null);
  }

  /** Writes that must survive the transaction's failure (the nonce bump). */
  setDurable(key: string, value: unknown): void {
    this.blockWrites.set(key, JSON.stringify(value));
  }

  commitTx(): void {
    for (const [k, v] of this.txWrites) this.blockWrites.set(k, v);
    this.txWrites = new Map();
  }

  rollbackTx(): void {
    this.txWrites = new Map();
  }
}

/**
 * stateRoot: a hash chain over each block's sorted state changes,
 *   stateRoot(h) = BLAKE3("tally/state/v1\n" || stateRoot(h-1) || BLAKE3(diff(h))),
 * where diff(h) is the block's writes sorted by key, one JSON [key, value|null] per line. It commits
 * to the whole state history (replay recomputes it) but does not yet give per-account
 * inclusion proofs; a sparse Merkle tree over the state is the planned replacement.
 */
export function nextStateRoot(prevStateRoot: string, writes: Map<string, string | null>): string {
  const keys = [...writes.keys()].sort();
  const lines = keys.map((k) => JSON.stringify([k, writes.get(k) ?? null])).join('\n');
  return toHex(hash('tally/state/v1\n', fromHex(prevStateRoot, 'state root', 32), hash(lines)));
}

export const ZERO_ROOT = '0'.repeat(64);

export interface AuthRecord {
  pub: string;
  nonce: number;
}

export const authKey = (accountId: string): string => `auth/${accountId}`;

/** Give an account its key before its first transaction (genesis accounts). */
export function openAccount(state: StateView, accountId: string, pub: string): void {
  state.set(authKey(accountId), { pub, nonce: 0 } satisfies AuthRecord);
}
