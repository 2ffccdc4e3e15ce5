// The tickets tables from one definition on both backends: the PostgreSQL variants apply
// (once, even from two pools at the same time), and hold what the SQLite tables hold
// (unix ms beyond 32 bits, token hashes as bytes). Skipped when PostgreSQL is not reachable,
// except under CI=true.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { migratePostgres, openPostgres } from '../../store/postgres.js';
import { cleanupPg, freshPgSchema, pgMissing } from '../../../test/pg.js';
import { ticketsMigrations } from './store.js';

after(cleanupPg);

describe('tickets migrations on PostgreSQL', async () => {
  const missing = await pgMissing();
  it('apply once from two pools and take unix ms and token hashes', { skip: missing }, async () => {
    const schema = await freshPgSchema();
    const pools = [openPostgres(schema.url, { max: 2 }), openPostgres(schema.url, { max: 2 })];
    try {
      const [a, b] = await Promise.all(pools.map((p) => migratePostgres(p, 'tickets', ticketsMigrations)));
      assert.deepEqual([...a!, ...b!].sort(), [1, 2, 3, 4, 5]);
      assert.deepEqual(await migratePostgres(pools[0]!, 'tickets', ticketsMigrations), []);
      const now = 1_764_000_000_000;
      const hash = Buffer.alloc(32, 7);
      await pools[0]!.query("INSERT INTO tickets_pids (pid, source, credited, dust, first_seen) VALUES ('0123456789abcdef', 'tally', '5', '0', $1)", [now]);
      await pools[0]!.query("INSERT INTO tickets_tokens (hash, pid, source, balance, spent, issued_at, used_at) VALUES ($1, '0123456789abcdef', 'tally', '5', '0', $2, $2)", [hash, now]);
      await pools[0]!.query("INSERT INTO tickets_claims (pid, hash, source, balance, claimed_at) VALUES ('0123456789abcdef', $1, 'tally', '5', $2)", [hash, now]);
      const r = await pools[1]!.query<{ hash: Buffer; used_at: number }>('SELECT hash, used_at FROM tickets_tokens');
      assert.deepEqual(r.rows, [{ hash, used_at: now }]);
      await assert.rejects(pools[1]!.query("INSERT INTO tickets_tokens (hash, pid, source, balance, spent, issued_at) VALUES ($1, '0123456789abcdef', 'tally', '1', '0', 1)", [Buffer.alloc(32, 8)]), /unique/i, 'one token per PID');
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await schema.drop();
    }
  });
});
