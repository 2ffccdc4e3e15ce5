// Group commit of claims on PostgreSQL: one claim statement is in flight at a time, and the
// claims asked for while it runs go to the database together as the next statement (one
// round trip, one commit, one WAL flush) instead of one each. Under load a batch is as
// large as what arrived during one commit; with nothing in flight a claim goes at the
// next turn of the event loop. The statement is the single claim's (pg-store.ts), over arrays:
// each row is claimed only if still unclaimed with the credit its redeem read, and only if
// its PID's other row is not claimed; the token's hash is the primary key. A claim is
// answered only after the statement committed. If the batch hits the primary key (a claim
// of the same PID through another process, at the same moment), the whole statement wrote
// nothing and each claim of the batch is tried alone.

export interface PendingClaim {
  pid: string;
  /** the PID's other row (its memo tag's, or the PID's own) */
  other: string;
  hash: Buffer;
  credited: string;
  at: number;
}

type Run = (sql: string, params: unknown[]) => Promise<Array<{ pid: string }>>;

/** One claim; the batch statement below is the same over arrays. */
export const CLAIM_ONE_SQL = `WITH c AS (
    UPDATE tickets_pids SET claimed_at = $1, token_hash = $2
    WHERE pid = $3 AND token_hash IS NULL AND credited = $4
      AND NOT EXISTS (SELECT 1 FROM tickets_pids o WHERE o.pid = $5 AND o.token_hash IS NOT NULL)
    RETURNING pid, source, credited)
  INSERT INTO tickets_tokens (hash, pid, source, balance, spent, issued_at) SELECT $2, pid, source, credited, '0', $1 FROM c RETURNING pid`;

const CLAIM_BATCH_SQL = `WITH i AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[], $5::bigint[]) AS t(pid, other, hash, credited, at)),
  c AS (
    UPDATE tickets_pids p SET claimed_at = i.at, token_hash = i.hash FROM i
    WHERE p.pid = i.pid AND p.token_hash IS NULL AND p.credited = i.credited
      AND NOT EXISTS (SELECT 1 FROM tickets_pids o WHERE o.pid = i.other AND o.token_hash IS NOT NULL)
    RETURNING p.pid, p.source, p.credited, i.hash, i.at)
  INSERT INTO tickets_tokens (hash, pid, source, balance, spent, issued_at) SELECT hash, pid, source, credited, '0', at FROM c RETURNING pid`;

/** Claims per statement at most (bounds one statement's arrays and time). */
const BATCH_MAX = 1024;

interface Waiting {
  claim: PendingClaim;
  resolve: (won: boolean) => void;
  reject: (err: unknown) => void;
}

export class PgClaimBatcher {
  private queue: Waiting[] = [];
  private scheduled = false;
  private inFlight = false;
  /** statements sent and claims in them, for the metrics */
  batches = 0;
  claims = 0;

  constructor(
    private readonly run: Run,
    /** whether an error is the primary key refusing a second token for a PID */
    private readonly isConflict: (err: unknown) => boolean,
  ) {}

  /** Resolves true when this claim committed, false when nothing was written (the caller reads again). */
  claim(c: PendingClaim): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ claim: c, resolve, reject });
      this.schedule();
    });
  }

  /** A flush at the next turn, unless one is due or a statement is in flight (its end flushes). */
  private schedule(): void {
    if (this.scheduled || this.inFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.inFlight = true;
      void this.flush().finally(() => {
        this.inFlight = false;
        this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, BATCH_MAX);
    // One claim per token (a PID's two rows share it; one PID redeemed twice in one turn):
    // the others answer false once this batch is done, so that they read again after it.
    const byHash = new Map<string, Waiting>();
    const later: Waiting[] = [];
    for (const w of batch) {
      const key = w.claim.hash.toString('hex');
      if (byHash.has(key)) later.push(w);
      else byHash.set(key, w);
    }
    const first = [...byHash.values()];
    try {
      const won = await this.sendBatch(first.map((w) => w.claim));
      for (const w of first) w.resolve(won.has(w.claim.pid));
    } catch (err) {
      if (!this.isConflict(err)) {
        for (const w of first) w.reject(err);
      } else {
        for (const w of first) await this.one(w);
      }
    } finally {
      for (const w of later) w.resolve(false);
    }
  }

  private async sendBatch(claims: PendingClaim[]): Promise<Set<string>> {
    this.batches++;
    this.claims += claims.length;
    const rows = claims.length === 1
      ? await this.run(CLAIM_ONE_SQL, [claims[0]!.at, claims[0]!.hash, claims[0]!.pid, claims[0]!.credited, claims[0]!.other])
      : await this.run(CLAIM_BATCH_SQL, [claims.map((c) => c.pid), claims.map((c) => c.other), claims.map((c) => c.hash), claims.map((c) => c.credited), claims.map((c) => c.at)]);
    return new Set(rows.map((r) => r.pid));
  }

  private async one(w: Waiting): Promise<void> {
    try {
      w.resolve((await this.sendBatch([w.claim])).has(w.claim.pid));
    } catch (err) {
      if (this.isConflict(err)) w.resolve(false);
      else w.reject(err);
    }
  }
}
