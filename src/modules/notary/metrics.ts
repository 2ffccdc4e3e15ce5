// The notary's Prometheus metrics, read from its tables at scrape time: they count the
// work of every signer on the database (the node's threads and `tally notary worker`
// processes alike), and survive restarts as the tables do. Each query is bounded by the
// number of batches or leases (a batch holds up to notaryLimits.batchRecordsMax records),
// never a scan of every record or signature.
import type Database from 'better-sqlite3-multiple-ciphers';
import client from 'prom-client';
import { NOW_MS } from './schema.js';
import type { NotaryRuntime } from './service.js';

// Statements stay reachable for the process (Node 24.19+ aborts when one is garbage-collected
// at the wrong moment; see src/store/sqlite.ts).
const keepAlive: unknown[] = [];

export function registerNotaryMetrics(registry: client.Registry, db: Database.Database, runtime: NotaryRuntime = { pgConfigured: false }): void {
  const q = {
    batches: db.prepare<[], { records: number; pending_records: number; batches: number; signed: number; anchored: number }>(
      `SELECT coalesce(sum(record_count), 0) AS records,
              coalesce(sum(CASE WHEN signed_at IS NULL THEN record_count END), 0) AS pending_records,
              count(*) AS batches, count(signed_at) AS signed, count(anchor_tx) AS anchored FROM notary_batches`),
    // Signatures already written in batches not yet complete (the partial index finds them).
    signedInPending: db.prepare<[], { n: number }>(
      `SELECT count(*) AS n FROM notary_batches b JOIN notary_signatures s
       ON s.record_id BETWEEN b.first_record AND b.first_record + b.record_count - 1 WHERE b.signed_at IS NULL`),
    leases: db.prepare<[], { live: number; acquired: number; expired: number }>(
      `SELECT (SELECT count(*) FROM notary_leases WHERE expires_at > ${NOW_MS}) AS live,
              (SELECT count(*) FROM notary_lease_log) AS acquired,
              (SELECT count(*) FROM notary_lease_log WHERE end_reason = 'expired') AS expired`),
    keys: db.prepare<[], { active: number; retired: number }>(
      'SELECT count(*) - count(retired_at) AS active, count(retired_at) AS retired FROM notary_keys'),
  };
  keepAlive.push(...Object.values(q));
  // One read per scrape, shared by the collectors below (each runs collect() in turn).
  // With store "postgres" the same figures come from PostgreSQL (every worker's work there).
  let snapshot: { at: number; b: ReturnType<typeof q.batches.get>; pendingSigned: number; l: ReturnType<typeof q.leases.get>; k: ReturnType<typeof q.keys.get> } | undefined;
  const read = async () => {
    const now = Date.now();
    if (!snapshot || now - snapshot.at > 1000) {
      if (runtime.pgConfigured) {
        // PostgreSQL not answering: the last figures (or zeros), never a failed /metrics for the whole node.
        const fresh = await runtime.pg?.metricsSnapshot().catch(() => undefined);
        snapshot = fresh ? { at: now, ...fresh } : (snapshot ?? { at: now, b: { records: 0, pending_records: 0, batches: 0, signed: 0, anchored: 0 }, pendingSigned: 0, l: { live: 0, acquired: 0, expired: 0 }, k: { active: 0, retired: 0 } });
      } else {
        snapshot = { at: now, b: q.batches.get(), pendingSigned: q.signedInPending.get()!.n, l: q.leases.get(), k: q.keys.get() };
      }
    }
    return snapshot;
  };
  const registers = [registry];
  const counter = (name: string, help: string, value: () => Promise<number>) => new client.Counter({
    name, help, registers,
    async collect() {
      const v = await value();
      this.reset();
      this.inc(v);
    },
  });
  counter('tally_notary_records_total', 'records accepted into batches', async () => (await read()).b!.records);
  counter('tally_notary_records_signed_total', 'records signed (rate() of it: signatures per second)', async () => {
    const s = await read();
    return s.b!.records - s.b!.pending_records + s.pendingSigned;
  });
  new client.Gauge({
    name: 'tally_notary_records_queued', help: 'records waiting to be signed', registers,
    async collect() {
      const s = await read();
      this.set(s.b!.pending_records - s.pendingSigned);
    },
  });
  new client.Gauge({
    name: 'tally_notary_batches', help: 'batches by state: pending (not all signed), signed (not yet anchored), anchored', labelNames: ['state'], registers,
    async collect() {
      const b = (await read()).b!;
      this.set({ state: 'pending' }, b.batches - b.signed);
      this.set({ state: 'signed' }, b.signed - b.anchored);
      this.set({ state: 'anchored' }, b.anchored);
    },
  });
  counter('tally_notary_anchors_total', 'batch roots anchored on chain', async () => (await read()).b!.anchored);
  new client.Gauge({ name: 'tally_notary_leases_held', help: 'key leases held now (a signer working a batch with a key)', registers, async collect() { this.set((await read()).l!.live); } });
  counter('tally_notary_leases_total', 'key leases granted (each with a new fencing token)', async () => (await read()).l!.acquired);
  counter('tally_notary_leases_expired_total', 'leases that ran out before their holder gave them back (a stalled or dead signer)', async () => (await read()).l!.expired);
  new client.Gauge({
    name: 'tally_notary_keys', help: 'keys in the pool by status', labelNames: ['status'], registers,
    async collect() {
      const k = (await read()).k!;
      this.set({ status: 'active' }, k.active);
      this.set({ status: 'retired' }, k.retired);
    },
  });
}
