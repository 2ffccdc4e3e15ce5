// Committed state values, cached in memory in front of the store so the sequencer does
// not read SQLite for hot accounts. Bounded: when full it is emptied and refills on demand.
import type { SqliteStore } from '../store/sqlite.js';

export class StateCache {
  private readonly values = new Map<string, string | null>();

  /** `knownAbsent(key)`: true when the committed state surely lacks the key (the state tree's rows in memory say so) */
  constructor(private readonly store: SqliteStore, private readonly entriesMax = 500_000, private readonly knownAbsent?: (key: string) => boolean) {}

  get(key: string): string | undefined {
    const hit = this.values.get(key);
    if (hit !== undefined) return hit === null ? undefined : hit;
    const v = this.knownAbsent?.(key) ? undefined : this.store.getState(key);
    this.remember(key, v ?? null);
    return v;
  }

  /** Forget everything (a rolled-back storage transaction): it refills from the store. */
  clear(): void {
    this.values.clear();
  }

  apply(writes: Map<string, string | null>): void {
    for (const [k, v] of writes) this.remember(k, v);
  }

  private remember(key: string, value: string | null): void {
    if (this.values.size >= this.entriesMax) this.values.clear();
    this.values.set(key, value);
  }
}
