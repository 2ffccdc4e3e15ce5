// Group commit: writes asked for during one turn of the event loop are run together in one
// storage transaction on the next (setImmediate), and each caller is answered only once
// that transaction has committed. One commit (and one WAL sync) then serves every redeem
// that arrived in the turn instead of one each. Each write runs in its own savepoint, so a
// write that throws fails alone; a commit that fails fails the whole batch, and nothing in
// it was written.

interface Pending<T> {
  write: () => T;
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit {
  private queue: Array<Pending<unknown>> = [];
  private scheduled = false;
  /** batches committed and writes in them, for the metrics and the tests */
  batches = 0;
  writes = 0;

  constructor(
    /** runs fn in one transaction; nested calls must be savepoints (better-sqlite3 does both) */
    private readonly transaction: <T>(fn: () => T) => T,
    /** a batch is cut at this many writes, to bound one transaction's time */
    private readonly batchMax = 1024,
  ) {}

  run<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, resolve, reject } as Pending<unknown>);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.queue.splice(0, this.batchMax);
    this.scheduled = false;
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }> = [];
    try {
      this.transaction(() => {
        for (const p of batch) {
          try {
            outcomes.push({ ok: true, value: this.transaction(p.write) });
          } catch (err) {
            outcomes.push({ ok: false, err });
          }
        }
      });
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    this.batches++;
    this.writes += batch.length;
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.value);
      else p.reject(o.err);
    });
  }
}
