// PostgreSQL for tests: the server named by TALLY_TEST_PG_URL (the machine's local one by
// default). Each test gets a schema of its own, dropped at cleanup, so tests (and other
// helpers' test runs on the same server) never see each other's rows. Under CI=true a
// missing server fails the test file instead of skipping it: .ci/run starts PostgreSQL.
import crypto from 'node:crypto';
import pg from 'pg';

export const PG_TEST_URL = process.env.TALLY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let probed: Promise<string | undefined> | undefined;

/** Why PostgreSQL tests cannot run here, or undefined when they can. Throws under CI=true. */
export async function pgMissing(): Promise<string | undefined> {
  probed ??= (async () => {
    const client = new pg.Client({ connectionString: PG_TEST_URL, connectionTimeoutMillis: 3000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return undefined;
    } catch (err) {
      return `PostgreSQL at ${redact(PG_TEST_URL)} is not reachable (${(err as Error).message})`;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  const reason = await probed;
  if (reason && process.env.CI === 'true') throw new Error(`${reason}, and CI=true: .ci/run starts PostgreSQL`);
  return reason;
}

export interface PgSchema {
  /** The schema's name (also the search_path of every connection made with `url`). */
  schema: string;
  /** A connection string whose connections see only this schema (options=-c search_path=...). */
  url: string;
  /** Drop the schema and everything in it. */
  drop(): Promise<void>;
}

const live = new Set<PgSchema>();

/** A new empty schema with a URL that points into it; dropped by drop() or cleanupPg(). */
export async function freshPgSchema(): Promise<PgSchema> {
  const schema = `t_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  await admin(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  const u = new URL(PG_TEST_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const entry: PgSchema = {
    schema,
    url: u.toString(),
    drop: async () => {
      live.delete(entry);
      await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
  live.add(entry);
  return entry;
}

/** Drop every schema this process made that is still there. */
export async function cleanupPg(): Promise<void> {
  for (const s of [...live]) await s.drop().catch(() => undefined);
}

async function admin(sql: string): Promise<void> {
  // A PostgreSQL restart in a chaos test may be under way: try for a while (a pg.Client
  // connects once, so each attempt is a new one).
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = new pg.Client({ connectionString: PG_TEST_URL, connectionTimeoutMillis: 5000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query(sql);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
