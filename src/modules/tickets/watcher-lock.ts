// One watcher at a time on PostgreSQL. Every process that serves tickets on one store
// (`tally tickets serve`, or a node with "tickets": {"store": "postgres"}) asks for a
// session advisory lock on a connection of its own, every LOCK_RETRY_MS; the one that holds
// it runs the watchers (Tally, Monero), the others only serve. The lock lives as long as
// that connection: when the holder dies (kill -9, machine lost), PostgreSQL ends its
// session and frees the lock, and the next process to ask takes over, from the cursors
// stored with the credits. The holder checks its connection on the same period and stops
// its watchers as soon as it is gone, since another process may take over from then on.
// Exactly-once crediting does not rest on the lock: payments are keyed by (source, txid)
// in the database, and a credit commits with its payment row, so two watchers for a
// moment would only make one of them fail on the key.
import pg from 'pg';

/** How often a waiting process asks for the lock, and the holder checks its connection. */
export const LOCK_RETRY_MS = 1000;
const LOCK_NAME = 'tally:tickets:watcher';

export interface WatcherLockEvents {
  /** The lock is ours: start the watchers. */
  acquired(): Promise<void> | void;
  /** The lock may be gone (connection lost) or is given up (stop): stop the watchers. */
  lost(): Promise<void> | void;
  log(line: string): void;
}

export class WatcherLock {
  private client: pg.Client | undefined;
  private held = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly url: string, private readonly events: WatcherLockEvents, private readonly retryMs = LOCK_RETRY_MS) {}

  get holding(): boolean {
    return this.held;
  }

  start(): void {
    const loop = () => {
      this.running = this.tick().finally(() => {
        if (!this.stopped) this.timer = setTimeout(loop, this.retryMs);
      });
    };
    loop();
  }

  private async tick(): Promise<void> {
    try {
      if (!this.client) {
        const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5000, application_name: 'tally-tickets-watcher-lock' });
        // A dropped connection emits 'error'; the next check finds it and lets go.
        client.on('error', () => undefined);
        this.client = client;
        await client.connect();
      }
      if (this.held) {
        await this.client.query('SELECT 1');
        return;
      }
      const r = await this.client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1), hashtext(current_schema())) AS ok', [LOCK_NAME]);
      if (r.rows[0]?.ok && !this.stopped) {
        this.held = true;
        this.events.log('tickets: this process holds the watcher lock: it credits payments');
        await this.events.acquired();
      }
    } catch (err) {
      await this.letGo(`connection lost (${(err as { code?: string }).code ?? (err as Error).message})`);
    }
  }

  private async letGo(why: string): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (this.held) {
      this.held = false;
      this.events.log(`tickets: watcher lock given up: ${why}; the watchers stop, another process may take over`);
      await this.events.lost();
    }
    await client?.end().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    // Watchers first (they finish their writes), then the session ends and frees the lock.
    await this.letGo('stopping');
  }
}
