// A bounded least-recently-used map in two generations: new and refreshed entries go to
// `current`; when it holds half the bound, it becomes `previous` and the old `previous` is
// dropped whole. A hit in `previous` moves the entry back to `current`. Every entry used
// within the last half-bound insertions survives, memory never exceeds the bound, and
// eviction costs O(1): evicting one by one from the front of a Map (Map.keys().next())
// skips every slot deleted before it, which a flood of misses makes quadratic.
export class Lru<K, V> {
  private current = new Map<K, V>();
  private previous = new Map<K, V>();
  private readonly half: number;
  evictions = 0;

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 2) throw new RangeError('maxEntries must be an integer of at least 2');
    this.half = Math.floor(maxEntries / 2);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }

  get(key: K): V | undefined {
    const v = this.current.get(key);
    if (v !== undefined) return v;
    const old = this.previous.get(key);
    if (old !== undefined) {
      this.previous.delete(key);
      this.put(key, old);
    }
    return old;
  }

  has(key: K): boolean {
    return this.current.has(key) || this.previous.has(key);
  }

  set(key: K, value: V): void {
    this.previous.delete(key);
    if (this.current.has(key)) this.current.set(key, value);
    else this.put(key, value);
  }

  delete(key: K): void {
    this.current.delete(key);
    this.previous.delete(key);
  }

  private put(key: K, value: V): void {
    this.current.set(key, value);
    if (this.current.size >= this.half) {
      this.evictions += this.previous.size;
      this.previous = this.current;
      this.current = new Map();
    }
  }
}
