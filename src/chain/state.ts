// Chain state is a key-value map. Keys are strings owned by prefix ("auth/" by the core,
// "ledger/" by the ledger, ...); values are JSON, stored as their RFC 8785 canonical text so
// that two nodes whose modules built an object in different key orders store (and hash)
// the same bytes. Values read back are deep-frozen: a module that mutates one instead of
// calling set() fails loudly rather than changing state behind the executor's back.
//
// The executor layers writes: one transaction's writes over the block's writes over the
// committed state, so a failed transaction is dropped whole and a block commits whole.
import { canonicalJson } from '../core/canonical.js';
import { assert } from '../core/errors.js';
import { hash } from '../core/hash.js';
import { fromHex, toHex } from '../core/encoding.js';
import { KeyIndex } from './key-index.js';

/** A block's state changes: canonical JSON text, or null for a deletion. */
export type Writes = Map<string, string | null>;

export interface StateReader {
  get<T = unknown>(key: string): T | undefined;
  /**
   * Entries whose key starts with `prefix`, in ascending key order (UTF-16 code units,
   * as JavaScript compares strings and as SQLite's BINARY collation orders ASCII keys),
   * after `after` if given, at most `limit`.
   */
  entries<T = unknown>(prefix: string, options?: { after?: string; limit?: number }): Array<[string, T]>;
}

export interface StateView extends StateReader {
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

/** Where committed values come from: the store (through a cache) or, in replay, memory. */
export interface CommittedState {
  get(key: string): string | undefined;
  /** Committed entries under a prefix in ascending key order, after `after`, at most `limit`. */
  range(prefix: string, after: string | undefined, limit: number): Array<[string, string]>;
}

/** The one encoding of a state value. */
export function encodeValue(value: unknown): string {
  assert(value !== undefined, 'a state value must not be undefined (use delete)');
  return canonicalJson(value);
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export function decodeValue<T>(raw: string): T {
  return deepFreeze(JSON.parse(raw) as T);
}

/** An in-memory committed state (replay, tests). */
export class MemoryState implements CommittedState {
  readonly map = new Map<string, string>();

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  range(prefix: string, after: string | undefined, limit: number): Array<[string, string]> {
    const keys = [...this.map.keys()].filter((k) => k.startsWith(prefix) && (after === undefined || k > after)).sort();
    return keys.slice(0, limit).map((k) => [k, this.map.get(k)!]);
  }

  apply(writes: Writes): void {
    for (const [k, v] of writes) {
      if (v === null) this.map.delete(k);
      else this.map.set(k, v);
    }
  }
}

const ENTRIES_LIMIT_DEFAULT = 1000;
/** Committed entries read per page when deletions in the block hide many of them. */
const COMMITTED_PAGE_MAX = 4096;

export class LayeredState implements StateView {
  readonly blockWrites: Writes = new Map();
  /** the block's written keys, ordered for range reads */
  private readonly blockIndex = new KeyIndex();
  private txWrites: Writes = new Map();
  private readonly parsed = new Map<string, { raw: string; value: unknown }>();

  constructor(private readonly committed: CommittedState) {}

  getRaw(key: string): string | undefined {
    let v = this.txWrites.get(key);
    if (v === undefined) v = this.blockWrites.get(key);
    if (v === undefined) return this.committed.get(key);
    return v === null ? undefined : v;
  }

  /** Parsed values are memoized for the block (a transfer reads the same accounts often). */
  get<T = unknown>(key: string): T | undefined {
    const raw = this.getRaw(key);
    if (raw === undefined) return undefined;
    const hit = this.parsed.get(key);
    if (hit && hit.raw === raw) return hit.value as T;
    const value = decodeValue<T>(raw);
    this.parsed.set(key, { raw, value });
    return value;
  }

  entries<T = unknown>(prefix: string, options: { after?: string; limit?: number } = {}): Array<[string, T]> {
    const limit = options.limit ?? ENTRIES_LIMIT_DEFAULT;
    const after = options.after;
    // Three ordered sources merged: this transaction's writes (few: sorted here), the
    // block's writes under the prefix (from the ordered index, lazily), and committed
    // entries (read in pages, since deletions in the overlay hide committed entries).
    const inRange = (k: string) => k.startsWith(prefix) && (after === undefined || k > after);
    const txKeys = [...this.txWrites.keys()].filter(inRange).sort();
    const blockKeys = this.blockIndex.range(prefix, after);
    const committed = this.committedPages(prefix, after, limit);
    const out: Array<[string, T]> = [];
    let t = 0;
    let b = blockKeys.next();
    let c = committed.next();
    while (out.length < limit) {
      // Peek at the three heads; take the smallest key. The transaction's layer wins a tie
      // with the block's, and either overlay layer wins a tie with committed state.
      const tk = t < txKeys.length ? txKeys[t] : undefined;
      const bk = b.done ? undefined : b.value;
      const ck = c.done ? undefined : c.value[0];
      const ok = tk === undefined ? bk : bk === undefined || tk <= bk ? tk : bk;
      if (ok === undefined && ck === undefined) break;
      if (ok !== undefined && (ck === undefined || ok <= ck)) {
        if (ok === tk) t++;
        if (ok === bk) b = blockKeys.next();
        if (ok === ck) c = committed.next();
        if (this.overlayValue(ok) === null) continue;
        out.push([ok, this.get<T>(ok)!]);
      } else {
        c = committed.next();
        out.push([ck!, this.get<T>(ck!)!]);
      }
    }
    return out;
  }

  private overlayValue(key: string): string | null | undefined {
    const v = this.txWrites.get(key);
    return v !== undefined ? v : this.blockWrites.get(key);
  }

  private *committedPages(prefix: string, after: string | undefined, limit: number): Generator<[string, string]> {
    let cursor = after;
    // a little over the limit, for entries the overlay deletes (a limit-1 read of a book's best order reads 2 rows, not 17)
    let size = Math.max(limit, 1) + Math.min(Math.max(limit, 1), 16);
    for (;;) {
      const page = this.committed.range(prefix, cursor, size);
      yield* page;
      if (page.length < size) return;
      cursor = page[page.length - 1]![0];
      size = Math.min(size * 2, COMMITTED_PAGE_MAX);
    }
  }

  set(key: string, value: unknown): void {
    this.txWrites.set(key, encodeValue(value));
  }

  delete(key: string): void {
    this.txWrites.set(key, null);
  }

  /** Writes that must survive the transaction's failure (the nonce bump). */
  setDurable(key: string, value: unknown): void {
    this.writeBlock(key, encodeValue(value));
  }

  commitTx(): void {
    for (const [k, v] of this.txWrites) this.writeBlock(k, v);
    this.txWrites = new Map();
  }

  private writeBlock(key: string, value: string | null): void {
    if (!this.blockWrites.has(key)) this.blockIndex.add(key);
    this.blockWrites.set(key, value);
  }

  rollbackTx(): void {
    this.txWrites = new Map();
  }
}

/**
 * A module's view of state, confined to its own key prefix ("<module>/"). A key outside
 * it is a programmer error: modules reach each other only through keepers.
 */
export class ScopedState implements StateView {
  constructor(private readonly inner: StateView, readonly prefix: string) {}

  private own(key: string): string {
    assert(key.startsWith(this.prefix), `state key "${key}" is outside this module's prefix "${this.prefix}"`);
    return key;
  }

  get<T = unknown>(key: string): T | undefined {
    return this.inner.get<T>(this.own(key));
  }

  entries<T = unknown>(prefix: string, options?: { after?: string; limit?: number }): Array<[string, T]> {
    return this.inner.entries<T>(this.own(prefix), options);
  }

  set(key: string, value: unknown): void {
    this.inner.set(this.own(key), value);
  }

  delete(key: string): void {
    this.inner.delete(this.own(key));
  }
}

/**
 * stateRoot: a hash chain over each block's sorted state changes,
 *   stateRoot(h) = BLAKE3("tally/state/v1\n" || stateRoot(h-1) || BLAKE3(diff(h))),
 * where diff(h) is the block's writes sorted by key, one JSON [key, value|null] per line
 * (value: the canonical JSON text of the state value, as a JSON string). It commits to the
 * whole state history; the sparse Merkle tree that gives per-key proofs replaces it.
 */
export function nextStateRoot(prevStateRoot: string, writes: Writes): string {
  const keys = [...writes.keys()].sort();
  const lines = keys.map((k) => JSON.stringify([k, writes.get(k) ?? null])).join('\n');
  return toHex(hash('tally/state/v1\n', fromHex(prevStateRoot, 'state root', 32), hash(lines)));
}

export const ZERO_ROOT = '0'.repeat(64);

export interface AuthRecord {
  pub: string;
  nonce: number;
}

export const AUTH_PREFIX = 'auth/';
export const authKey = (accountId: string): string => `${AUTH_PREFIX}${accountId}`;

/** Give an account its key before its first transaction (genesis accounts). */
export function openAccount(state: StateView, accountId: string, pub: string): void {
  state.set(authKey(accountId), { pub, nonce: 0 } satisfies AuthRecord);
}
