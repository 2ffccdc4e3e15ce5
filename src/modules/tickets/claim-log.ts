// The claim log: a redeem's durable record is one row appended to tickets_claims (a rowid
// table, so a batch of claims lands on one or two pages), not an update of the PID row
// and an insert into the token tables, which land on three random B-tree pages each and
// cost ten times as much (see README, "Tickets at the limit"). Claims are applied to those
// tables later, in large batches, or at once when anything else is about to write the
// PID or the token. Until then the store shows them from memory (the maps below hold the
// whole log, which the applier keeps short). The maps change only with the log; each
// change registers its undo, which the store runs if the transaction rolls back.
import type Database from 'better-sqlite3-multiple-ciphers';

/** Where a payment came from. */
export type Source = 'tally' | 'monero';

export interface Claim {
  seq: number;
  pid: string;
  hash: Buffer;
  source: Source;
  balance: string;
  claimed_at: number;
  /** unix ms the token was first presented while the claim waited in the log */
  used_at: number | null;
}

type Undo = (fn: () => void) => void;

export class ClaimLog {
  private readonly byPid = new Map<string, Claim>();
  private readonly byHash = new Map<string, Claim>();
  private readonly s;
  /** unix ms of the last append, for the applier's "quiet" test */
  lastAppend = 0;

  constructor(db: Database.Database, keep: (s: unknown) => void) {
    const prep = <P extends unknown[], R = unknown>(sql: string) => {
      const st = db.prepare<P, R>(sql);
      keep(st);
      return st;
    };
    this.s = {
      append: prep<[string, Buffer, string, string, number]>('INSERT INTO tickets_claims (pid, hash, source, balance, claimed_at) VALUES (?, ?, ?, ?, ?)'),
      remove: prep<[number]>('DELETE FROM tickets_claims WHERE seq = ?'),
      markUsed: prep<[number, number]>('UPDATE tickets_claims SET used_at = ? WHERE seq = ? AND used_at IS NULL'),
      all: prep<[], Claim>('SELECT * FROM tickets_claims ORDER BY seq'),
    };
    for (const c of this.s.all.all()) this.index(c);
  }

  get size(): number {
    return this.byPid.size;
  }

  ofPid(pid: string): Claim | undefined {
    return this.byPid.get(pid);
  }

  ofHash(hash: Buffer): Claim | undefined {
    return this.byHash.get(hash.toString('hex'));
  }

  /** By the token hash in hex. */
  ofKey(hashHex: string): Claim | undefined {
    return this.byHash.get(hashHex);
  }

  /** Every claim not yet applied, oldest first. */
  all(): IterableIterator<Claim> {
    return this.byPid.values();
  }

  append(c: Omit<Claim, 'seq'>, undo: Undo): void {
    const seq = Number(this.s.append.run(c.pid, c.hash, c.source, c.balance, c.claimed_at).lastInsertRowid);
    const claim = { ...c, seq };
    this.index(claim);
    this.lastAppend = Date.now();
    undo(() => this.unindex(claim));
  }

  /** The token's first presentation, while its claim waits here (the applier carries it to the token row). */
  markUsed(c: Claim, at: number, undo: Undo): void {
    if (c.used_at !== null) return;
    this.s.markUsed.run(at, c.seq);
    c.used_at = at;
    undo(() => { c.used_at = null; });
  }

  /** Called once the claim's rows are written to the PID and token tables. */
  drop(c: Claim, undo: Undo): void {
    this.s.remove.run(c.seq);
    this.unindex(c);
    undo(() => this.index(c));
  }

  private index(c: Claim): void {
    this.byPid.set(c.pid, c);
    this.byHash.set(c.hash.toString('hex'), c);
  }

  private unindex(c: Claim): void {
    this.byPid.delete(c.pid);
    this.byHash.delete(c.hash.toString('hex'));
  }
}
