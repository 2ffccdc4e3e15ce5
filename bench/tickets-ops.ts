// Tickets operations one at a time, in one process, through the service (no HTTP): what a
// redeem, an introspection and a miss cost on each backend, SQLite (the node's store with
// its caches, claim log and group commit) and PostgreSQL (a fresh schema on
// $TALLY_TEST_PG_URL, else the local server; skipped if unreachable). One request at a
// time is latency, not throughput: on PostgreSQL it shows the round trip and the commit.
// Run: npm run build && node dist/bench/tickets-ops.js [--ops N] [--json]
import crypto from 'node:crypto';
import { SqliteTicketsBackend, type TicketsBackend } from '../src/modules/tickets/backend.js';
import { validateTicketsConfig } from '../src/modules/tickets/config.js';
import { openPgTickets } from '../src/modules/tickets/pg-store.js';
import { newPid, tallyMemoTag } from '../src/modules/tickets/pid.js';
import { TicketsService } from '../src/modules/tickets/service.js';
import { openTestStore } from '../src/modules/tickets/test-store.js';
import { cleanupPg, freshPgSchema, pgMissing } from '../test/pg.js';
import { helpFromHeader } from './usage.js';

helpFromHeader(import.meta.url);

const at = process.argv.indexOf('--ops');
const N = at >= 0 ? Number(process.argv[at + 1]) : 1000;
if (!Number.isInteger(N) || N < 1 || N > 100_000) throw new Error('--ops must be an integer from 1 to 100000');
const json = process.argv.includes('--json');

async function run(kind: 'sqlite' | 'postgres'): Promise<Record<string, number>> {
  let backend: TicketsBackend;
  let close: () => Promise<void>;
  if (kind === 'sqlite') {
    const db = openTestStore();
    backend = new SqliteTicketsBackend(db.store);
    close = async () => db.close();
  } else {
    const schema = await freshPgSchema();
    process.env.TALLY_BENCH_TICKETS_PG = schema.url;
    const pg = openPgTickets({ urlEnv: 'TALLY_BENCH_TICKETS_PG' });
    await pg.ready;
    backend = pg;
    close = async () => {
      await pg.close();
      await schema.drop();
    };
  }
  try {
    const service = new TicketsService(backend, validateTicketsConfig({}), 6, crypto.randomBytes(32));
    const pids = Array.from({ length: N }, () => newPid());
    await backend.applyPayments(pids.map((p, i) => ({ kind: 'record', payment: { source: 'tally', txid: `t${i}`, pid: tallyMemoTag(p), amount: 10n, height: 1 } })), 0n, 1);
    const time = async (op: (i: number) => Promise<unknown>) => {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) await op(i);
      return +((performance.now() - t0) / N).toFixed(3);
    };
    const tokens: string[] = [];
    return {
      redeem_ms: await time(async (i) => tokens.push((await service.redeem(pids[i])).token!)),
      first_introspect_ms: await time((i) => service.introspect(tokens[i])),
      introspect_ms: await time((i) => service.introspect(tokens[i])),
      introspect_miss_ms: await time(() => service.introspect(crypto.randomBytes(32).toString('hex')).catch(() => undefined)),
      redeem_miss_ms: await time(() => service.redeem(newPid()).catch(() => undefined)),
      spend_ms: await time((i) => service.spend(tokens[i], '0.000001')),
    };
  } finally {
    await close();
  }
}

const out: Record<string, unknown> = { ops: N, loadavg: (await import('node:os')).loadavg().map((l) => +l.toFixed(2)) };
out.sqlite = await run('sqlite');
const missing = await pgMissing();
out.postgres = missing ? { skipped: missing } : await run('postgres');
await cleanupPg();
if (json) process.stdout.write(JSON.stringify(out) + '\n');
else for (const [k, v] of Object.entries(out)) process.stdout.write(`${k}: ${JSON.stringify(v)}\n`);
