// The oracle module's read-only queries (socket, HTTP and CLI alike). Lists page by key:
// pass the previous page's `next` as `after`.
import { decode, int, object, optional, string, type Decoder } from '../../core/decode.js';
import type { Query } from '../../chain/module.js';
import { oracleFail } from './errors.js';
import { EVENT_ID, eventPrefix, getEvent, getOracle, HEX32, type EventRecord, type OracleRecord } from './state.js';

export const ORACLE_PAGE_MAX = 200;

const params = <T>(schema: Decoder<T>) => (raw: Record<string, unknown>): T => decode(schema, raw, 'bad_query', 'params');
const limit = optional(int({ min: 1, max: ORACLE_PAGE_MAX, text: true }));
const oracleId = string({ pattern: HEX32, maxLength: 64, what: "the oracle's x-only public key (64 hex)" });
const eventId = string({ pattern: EVENT_ID, maxLength: 64, what: 'an event id' });

function page<T>(rows: Array<[string, T]>, size: number, keyOf: (k: string) => string): { items: T[]; next: string | null } {
  const items = rows.slice(0, size).map(([, v]) => v);
  return { items, next: rows.length > size ? keyOf(rows[size - 1]![0]) : null };
}

export const listQuery: Query = {
  name: 'oracle.list',
  summary: 'registered oracles in key order; page with after= (the previous page\'s next)',
  run(ctx, raw) {
    const p = params(object({ after: optional(oracleId), limit }))(raw);
    const size = p.limit ?? 50;
    const rows = ctx.state.entries<OracleRecord>('oracle/o/', { ...(p.after ? { after: `oracle/o/${p.after}` } : {}), limit: size + 1 });
    return page(rows, size, (k) => k.slice('oracle/o/'.length));
  },
};

export const getQuery: Query = {
  name: 'oracle.get',
  summary: 'one oracle: key, owner, name, profile, status (active or frozen), events announced',
  run(ctx, raw) {
    const p = params(object({ oracle: oracleId }))(raw);
    const o = getOracle(ctx.state, p.oracle);
    if (!o) oracleFail('unknown_oracle', `no oracle ${p.oracle}`);
    return o;
  },
};

export const eventsQuery: Query = {
  name: 'oracle.events',
  summary: "an oracle's events in event-id order, with their attestations; page with after=",
  run(ctx, raw) {
    const p = params(object({ oracle: oracleId, after: optional(eventId), limit }))(raw);
    if (!getOracle(ctx.state, p.oracle)) oracleFail('unknown_oracle', `no oracle ${p.oracle}`);
    const size = p.limit ?? 50;
    const prefix = eventPrefix(p.oracle);
    const rows = ctx.state.entries<EventRecord>(prefix, { ...(p.after ? { after: prefix + p.after } : {}), limit: size + 1 });
    return page(rows, size, (k) => k.slice(prefix.length));
  },
};

export const eventQuery: Query = {
  name: 'oracle.event',
  summary: 'one announced event: its descriptor, nonces, announcement signature and attestation if any',
  run(ctx, raw) {
    const p = params(object({ oracle: oracleId, eventId }))(raw);
    if (!getOracle(ctx.state, p.oracle)) oracleFail('unknown_oracle', `no oracle ${p.oracle}`);
    const e = getEvent(ctx.state, p.oracle, p.eventId);
    if (!e) oracleFail('unknown_event', `oracle ${p.oracle} announced no event "${p.eventId}"`);
    return e;
  },
};

export const oracleQueries: Query[] = [listQuery, getQuery, eventsQuery, eventQuery];
