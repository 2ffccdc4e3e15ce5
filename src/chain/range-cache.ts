// Range reads of the parent state, remembered for one block. The parent state does not
// change while a block executes, yet an order book reads the best order of a side once per
// order: when the block's fills have deleted the best committed orders, every such read
// walks past them again, and in SQLite those walks were the largest cost of a busy markets
// node (`npm run bench:markets-node -- --cpu-prof DIR`). Each prefix keeps the leading run
// of its committed rows read so far; a read inside the run is answered from memory, one that
// goes past its end extends it. At most `rowsMax` rows are kept per block; past that, reads
// go to the parent state as before. The answers are exactly the parent's.
import type { CommittedState } from './state.js';

/** Rows kept per block (a row is a key and its value, both strings). */
export const RANGE_CACHE_ROWS_MAX = 16_384;
/** The smallest read that extends a run: a limit-1 read of a book's best order reads this many. */
const EXTEND_MIN = 32;
const EXTEND_MAX = 4096;

interface Run {
  /** the prefix's first committed rows, in key order */
  rows: Array<[string, string]>;
  /** true once `rows` holds every row under the prefix */
  complete: boolean;
}

/** The first index in `rows` whose key is > `key`. */
function upperBound(rows: Array<[string, string]>, key: string): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid]![0] <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class RangeCache implements CommittedState {
  private readonly runs = new Map<string, Run>();
  private kept = 0;

  constructor(private readonly parent: CommittedState, private readonly rowsMax = RANGE_CACHE_ROWS_MAX) {}

  get(key: string): string | undefined {
    return this.parent.get(key);
  }

  range(prefix: string, after: string | undefined, limit: number): Array<[string, string]> {
    let run = this.runs.get(prefix);
    if (!run) {
      run = { rows: [], complete: false };
      this.runs.set(prefix, run);
    }
    const out: Array<[string, string]> = [];
    let i = after === undefined ? 0 : upperBound(run.rows, after);
    while (out.length < limit) {
      if (i < run.rows.length) {
        out.push(run.rows[i++]!);
        continue;
      }
      if (run.complete) break;
      // Past the run's end: the next rows are those after the last one returned (or `after`).
      const cursor = out.length > 0 ? out[out.length - 1]![0] : after;
      const last = run.rows.length > 0 ? run.rows[run.rows.length - 1]![0] : undefined;
      const size = Math.min(Math.max(limit - out.length, EXTEND_MIN, run.rows.length), EXTEND_MAX);
      if (this.kept + size > this.rowsMax) {
        // Full: read the rest straight from the parent, keeping nothing.
        out.push(...this.parent.range(prefix, cursor, limit - out.length));
        break;
      }
      // Extend the run from its last row: it stays one contiguous run from the prefix's start.
      const page = this.parent.range(prefix, last, size);
      run.rows.push(...page);
      this.kept += page.length;
      if (page.length < size) run.complete = true;
      i = cursor === undefined ? i : upperBound(run.rows, cursor);
    }
    return out;
  }
}
