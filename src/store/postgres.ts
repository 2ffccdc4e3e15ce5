// PostgreSQL for the services' own tables (notary, tickets): several processes on several
// machines share one store. The chain itself stays in SQLite. The connection string holds a
// password, so it comes from a 0600 file or the environment, never the command line (where
// `ps` shows it to every user); it never appears in an error or a log line.
import fs from 'node:fs';
import pg from 'pg';
import { fail, TallyError } from '../core/errors.js';
import { checkSecretFileMode } from './keyfile.js';
import type { Migration } from './migrations.js';

export const PG_URL_ENV_DEFAULT = 'TALLY_PG_URL';

/** Where a connection string comes from: a file (read first when set) or an environment variable. */
export interface PgUrlSource {
  urlFile?: string;
  /** Name of the environment variable; TALLY_PG_URL by default. */
  urlEnv?: string;
}

export interface PgOpenOptions {
  /** Connections in the pool; bounded, because PostgreSQL's max_connections is shared by every process. */
  max?: number;
  connectTimeoutMs?: number;
  /** Shown in pg_stat_activity, e.g. "tally-notary-worker". */
  applicationName?: string;
  /** Called for errors on idle connections (a PostgreSQL restart); without a listener they would crash the process. */
  onIdleError?: (err: Error) => void;
}

export const pgLimits = Object.freeze({
  poolMax: 64,
  poolMaxDefault: 8,
  connectTimeoutMsDefault: 5000,
  urlBytesMax: 4096,
});

/** Read the connection string from its source; a missing or malformed one is a coded error. */
export function readPostgresUrl(source: PgUrlSource, env: NodeJS.ProcessEnv = process.env): string {
  let url: string;
  let where: string;
  if (source.urlFile) {
    where = `file ${source.urlFile}`;
    if (!fs.existsSync(source.urlFile)) {
      fail('pg_url_missing', `the PostgreSQL connection string file ${source.urlFile} does not exist`, {
        status: 500,
        hint: `write the URL (postgres://user:password@host:5432/db) into it: install -m 600 /dev/null ${source.urlFile}, then edit it`,
      });
    }
    checkSecretFileMode(source.urlFile, 'PostgreSQL connection string file');
    url = fs.readFileSync(source.urlFile, 'utf8').trim();
  } else {
    const name = source.urlEnv ?? PG_URL_ENV_DEFAULT;
    where = `environment variable ${name}`;
    url = (env[name] ?? '').trim();
    if (!url) {
      fail('pg_url_missing', `no PostgreSQL connection string: ${name} is not set`, {
        status: 500,
        hint: `set ${name}=postgres://user:password@host:5432/db, or name a 0600 file with "url_file" in config.json`,
      });
    }
  }
  if (Buffer.byteLength(url) > pgLimits.urlBytesMax || !/^postgres(ql)?:\/\/[^\s]+$/.test(url)) {
    fail('pg_url_invalid', `the PostgreSQL connection string in the ${where} is not a postgres:// URL`, {
      status: 500,
      hint: 'the form is postgres://user:password@host:5432/database (one line, no spaces)',
    });
  }
  try {
    new URL(url);
  } catch {
    fail('pg_url_invalid', `the PostgreSQL connection string in the ${where} does not parse as a URL`, { status: 500, hint: 'percent-encode special characters in the password' });
  }
  return url;
}

// int8 (bigint, count(*)) arrives as a string by default; our ids and counts stay far below
// 2^53, so they become numbers, and anything larger is a broken invariant, not a rounding.
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`invariant violated: bigint ${text} exceeds 2^53`);
  return n;
}

const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 && format !== 'binary') return parseInt8;
    return (pg.types.getTypeParser as (oid: number, format?: 'text' | 'binary') => (v: string) => unknown)(oid, format);
  },
};

/** A bounded pool. It connects lazily: call checkPostgres() to fail early with a coded error. */
export function openPostgres(url: string, options: PgOpenOptions = {}): pg.Pool {
  const max = Math.max(1, Math.min(options.max ?? pgLimits.poolMaxDefault, pgLimits.poolMax));
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: options.connectTimeoutMs ?? pgLimits.connectTimeoutMsDefault,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName ?? 'tally',
    types: pgTypes as pg.CustomTypesConfig,
  });
  pool.on('error', (err) => options.onIdleError?.(err));
  return pool;
}

/** One round trip: turns "cannot connect" into pg_unreachable (or pg_auth_failed) before any work starts. */
export async function checkPostgres(pool: pg.Pool): Promise<{ version: string }> {
  try {
    const r = await pool.query<{ v: string }>('SHOW server_version');
    return { version: r.rows[0]!.v };
  } catch (err) {
    throw pgFailure(err);
  }
}

const TRANSIENT_CODES = new Set([
  '57P01', // admin_shutdown: the server is restarting
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Errors that go away by waiting: the server restarting, a dropped connection, a deadlock victim. */
export function isPgTransient(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  if (!e) return false;
  if (e instanceof TallyError) return e.code === 'pg_unreachable';
  if (e.code && (TRANSIENT_CODES.has(e.code) || e.code.startsWith('08') || NETWORK_CODES.has(e.code))) return true;
  const msg = e.message ?? '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/i.test(msg);
}

/** A driver error as a coded TallyError; the message never carries the URL. */
export function pgFailure(err: unknown): TallyError {
  if (err instanceof TallyError) return err;
  const e = err as { code?: string; message?: string };
  if (e?.code === '28P01' || e?.code === '28000') {
    return new TallyError('pg_auth_failed', 'PostgreSQL refused the credentials in the connection string', { status: 503, hint: 'check the user and password in the URL, and pg_hba.conf', cause: err });
  }
  if (e?.code === '3D000') {
    return new TallyError('pg_unreachable', 'the PostgreSQL database named in the connection string does not exist', { status: 503, hint: 'create it (createdb) or fix the URL', cause: err });
  }
  if (isPgTransient(err)) {
    return new TallyError('pg_unreachable', `PostgreSQL is unreachable (${e?.code ?? e?.message ?? 'no answer'})`, {
      status: 503,
      hint: 'is it running and listening (pg_isready -h HOST)? work resumes by itself once it answers',
      cause: err,
    });
  }
  return new TallyError('pg_failed', `PostgreSQL refused a statement (${e?.code ?? 'no code'}): ${e?.message ?? String(err)}`, { status: 500, cause: err });
}

export interface RetryOptions {
  /** Give up after this long; then the last error goes to the caller as pg_unreachable. */
  deadlineMs?: number;
  onRetry?: (err: unknown, attempt: number) => void;
}

// Not unref()ed: a process waiting out a restart must stay alive to retry.
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Run `fn` again while it fails with a transient error (restart, dropped connection),
 * with a capped backoff. `fn` must be safe to repeat: one transaction, whose effect is
 * either all there or not there.
 */
export async function withPgRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.deadlineMs ?? 60_000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isPgTransient(err) || Date.now() >= deadline) throw isPgTransient(err) ? pgFailure(err) : err;
      options.onRetry?.(err, attempt);
      await sleep(Math.min(50 * 2 ** Math.min(attempt, 5), 1000));
    }
  }
}

/** BEGIN ... COMMIT on one pooled connection; ROLLBACK on any error. A connection that broke is discarded. */
export async function pgTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(begin);
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackErr) {
      broken = rollbackErr as Error;
    }
    if (isPgTransient(err)) broken ??= err as Error;
    throw err;
  } finally {
    client.release(broken);
  }
}

/**
 * Apply `migrations` of `scope` that are not yet recorded, each in its own transaction,
 * using `m.postgres` where the dialect differs from SQLite and `m.sql` where it does not.
 * Every transaction takes one advisory lock first, so processes that start together
 * migrate once: the others wait, then see the version recorded. Returns the versions applied.
 */
export async function migratePostgres(pool: pg.Pool, scope: string, migrations: Migration[]): Promise<number[]> {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1) throw new TallyError('migration_order', `${scope} migrations must be numbered 1, 2, 3, ...`, { status: 500 });
  });
  const lock = `SELECT pg_advisory_xact_lock(hashtext('tally:migrate'), hashtext(current_schema()))`;
  const applied = await withPgRetry(() => pgTransaction(pool, async (c) => {
    await c.query(lock);
    await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (scope TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (scope, version))');
    const r = await c.query<{ version: number }>('SELECT version FROM schema_migrations WHERE scope = $1', [scope]);
    return new Set(r.rows.map((row) => row.version));
  }), { deadlineMs: 15_000 }).catch((err) => { throw pgFailure(err); });
  const newest = Math.max(0, ...applied);
  if (newest > sorted.length) {
    fail('pg_schema_newer', `the PostgreSQL schema of ${scope} is at version ${newest}, newer than this program knows (${sorted.length})`, {
      status: 500,
      hint: 'upgrade this program to the version the other processes run',
    });
  }
  const done: number[] = [];
  for (const m of sorted) {
    if (applied.has(m.version)) continue;
    const ran = await withPgRetry(() => pgTransaction(pool, async (c) => {
      await c.query(lock);
      const seen = await c.query('SELECT 1 FROM schema_migrations WHERE scope = $1 AND version = $2', [scope, m.version]);
      if (seen.rowCount) return false; // another process got there first
      await c.query(m.postgres ?? m.sql);
      await c.query('INSERT INTO schema_migrations (scope, version, description, applied_at) VALUES ($1, $2, $3, $4)', [scope, m.version, m.description, new Date().toISOString()]);
      return true;
    }), { deadlineMs: 15_000 }).catch((err) => { throw pgFailure(err); });
    if (ran) done.push(m.version);
  }
  return done;
}
