// The block's written keys, ordered for range reads. An order book reads the best prices
// once per order; scanning every write of the block for each read made a 3,000-order block
// quadratic (it cost more than the block's signature checks). Keys are grouped by their
// first two path segments ("markets/book/", "ledger/acct/") and a group is sorted only when
// something reads a range of it, so writers that never range-read (transfers) pay one push.

/** "a/b/c" → "a/b/", "a/b" → "a/", "ab" → "". */
function groupOf(key: string): string {
  const first = key.indexOf('/');
  if (first < 0) return '';
  const second = key.indexOf('/', first + 1);
  return key.slice(0, (second < 0 ? first : second) + 1);
}

/** The first index in `sorted` whose key is >= `key`. */
function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Group {
  sorted: string[];
  /** added since the group was last sorted */
  pending: string[];
}

/** Below this many pending keys, insert each by binary search; above, sort the lot. */
const INSERT_ONE_BY_ONE_MAX = 32;

export class KeyIndex {
  private readonly groups = new Map<string, Group>();

  /** Record a key new to the layer (call once per key). */
  add(key: string): void {
    const name = groupOf(key);
    let g = this.groups.get(name);
    if (!g) {
      g = { sorted: [], pending: [] };
      this.groups.set(name, g);
    }
    g.pending.push(key);
  }

  /**
   * Keys under `prefix`, greater than `after` if given, in ascending order, lazily: a
   * reader that wants the best few prices of a large book takes only those. The index
   * must not change while the iterator is in use.
   */
  *range(prefix: string, after: string | undefined): Generator<string> {
    const slashes = prefix.split('/').length - 1;
    if (slashes >= 2) {
      const g = this.groups.get(groupOf(prefix));
      if (g) yield* this.walk(g, prefix, after);
      return;
    }
    // A short prefix spans groups: gather from every group it could reach.
    const out: string[] = [];
    for (const [name, g] of this.groups) {
      if (name.startsWith(prefix) || prefix.startsWith(name)) out.push(...this.walk(g, prefix, after));
    }
    yield* out.sort();
  }

  private *walk(g: Group, prefix: string, after: string | undefined): Generator<string> {
    this.settle(g);
    const sorted = g.sorted;
    const from = after !== undefined && after >= prefix ? lowerBound(sorted, after + '\u0000') : lowerBound(sorted, prefix);
    for (let i = from; i < sorted.length && sorted[i]!.startsWith(prefix); i++) yield sorted[i]!;
  }

  private settle(g: Group): void {
    if (g.pending.length === 0) return;
    if (g.pending.length <= INSERT_ONE_BY_ONE_MAX) {
      for (const k of g.pending) g.sorted.splice(lowerBound(g.sorted, k), 0, k);
    } else {
      g.sorted = g.sorted.concat(g.pending).sort();
    }
    g.pending = [];
  }
}
