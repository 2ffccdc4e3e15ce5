// `tally oracle feed`: a reference price-feed oracle for tests and small deployments. On
// a fixed schedule it announces the next event (id PREFIX-MATURITY, maturity on the next
// multiple of --every seconds) and, once an event is mature, reads the source (a file or
// an HTTP(S) URL holding a decimal number, or JSON {"price": ...}) and attests it. Every
// step is bounded: sources are read with a timeout and a size cap, and the loop sleeps at
// least FEED_TICK_MS between steps.
import fs from 'node:fs';
import { fail, TallyError } from '../../core/errors.js';
import type { CliContext } from '../../chain/app-module.js';
import { announceEvent, attestEvent, eventOnChain, type EventShape, type Operator } from './operator.js';

export const FEED_SOURCE_BYTES_MAX = 64 * 1024;
export const FEED_SOURCE_TIMEOUT_MS = 5000;
export const FEED_TICK_MS = 200;

export interface FeedOptions {
  source: string;
  everySecs: number;
  prefix: string;
  shape: Omit<EventShape, 'eventId' | 'maturity'>;
  /** stop after this many attestations (tests); undefined: run until stopped */
  count?: number;
}

/** The decimal text a source holds now. */
export async function readSource(source: string): Promise<string> {
  let text: string;
  if (/^https?:\/\//.test(source)) {
    let body: Buffer;
    try {
      const res = await fetch(source, { signal: AbortSignal.timeout(FEED_SOURCE_TIMEOUT_MS), redirect: 'error' });
      if (!res.ok) fail('source_unavailable', `${source} answered ${res.status}`, { status: 502 });
      body = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      if (err instanceof TallyError) throw err;
      fail('source_unavailable', `cannot fetch ${source}: ${(err as Error).message}`, { status: 502 });
    }
    if (body.length > FEED_SOURCE_BYTES_MAX) fail('source_invalid', `${source} sent more than ${FEED_SOURCE_BYTES_MAX} bytes`);
    text = body.toString('utf8');
  } else {
    let fd: number;
    try {
      fd = fs.openSync(source, 'r');
    } catch (err) {
      fail('source_unavailable', `cannot read ${source}: ${(err as Error).message}`, { status: 502 });
    }
    try {
      const buf = Buffer.alloc(FEED_SOURCE_BYTES_MAX + 1);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      if (n > FEED_SOURCE_BYTES_MAX) fail('source_invalid', `${source} is larger than ${FEED_SOURCE_BYTES_MAX} bytes`);
      text = buf.subarray(0, n).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  }
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return trimmed;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(trimmed) as Record<string, unknown>;
  } catch {
    fail('source_invalid', `${source} holds invalid JSON`);
  }
  const v = json.price ?? json.value;
  if (typeof v !== 'string' && typeof v !== 'number') fail('source_invalid', `${source}: JSON without a "price" (or "value") string or number`);
  return String(v);
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

/** Run the feed until `count` attestations are made or `signal` aborts; returns what it attested. */
export async function runFeed(
  cli: CliContext, op: Operator, feed: FeedOptions, opts: Record<string, unknown>, log: (line: string) => void, signal: AbortSignal,
): Promise<Array<{ eventId: string; value: string; outcome: string }>> {
  const done: Array<{ eventId: string; value: string; outcome: string }> = [];
  const pending = new Map<string, number>(); // event id -> maturity (unix s)
  while (!signal.aborted && (feed.count === undefined || done.length < feed.count)) {
    const nowMs = Date.now();
    try {
      for (const [eventId, maturity] of [...pending].sort((a, b) => a[1] - b[1])) {
        if (maturity * 1000 > nowMs) continue;
        const value = await readSource(feed.source);
        const r = await attestEvent(cli, op, eventId, value, opts, Date.now());
        pending.delete(eventId);
        done.push({ eventId, value, outcome: r.outcome });
        log(`attested ${eventId}: ${value} ${feed.shape.unit} (outcome ${r.outcome}${r.clamped ? ', at the bound' : ''})`);
        if (feed.count !== undefined && done.length >= feed.count) return done;
      }
      const nowSecs = Math.floor(Date.now() / 1000);
      let maturity = (Math.floor(nowSecs / feed.everySecs) + 1) * feed.everySecs;
      if (maturity - nowSecs < 1) maturity += feed.everySecs;
      if (![...pending.values()].some((m) => m >= maturity)) {
        const eventId = `${feed.prefix}-${maturity}`;
        if (!(await eventOnChain(cli, op.pubkey, eventId, opts))) {
          await announceEvent(cli, op, { ...feed.shape, eventId, maturity }, opts);
          log(`announced ${eventId} (matures ${new Date(maturity * 1000).toISOString()})`);
        }
        pending.set(eventId, maturity);
      }
    } catch (err) {
      // A source or a node that fails once is tried again at the next step; the reason is logged.
      if (!(err instanceof TallyError)) throw err;
      log(`feed step failed: ${err.code}: ${err.message}`);
    }
    const next = Math.min(...pending.values()) * 1000 - Date.now();
    await sleep(Math.max(FEED_TICK_MS, Math.min(next, feed.everySecs * 1000)), signal);
  }
  return done;
}
