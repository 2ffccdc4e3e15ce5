// The notary in /health: two probes read from its tables at each report (one indexed read
// each, bounded by the batches waiting), so they see every signer on the database, the
// node's threads and `tally notary worker` processes alike.
//   notary.anchoring: signed batches wait unanchored longer than anchorLagMaxMs (the
//     anchorer is stuck: the node cannot commit its anchors, say).
//   notary.signing: records are queued but no key of the pool is active (nothing can sign them).
// Both are module services: failing, they make /health 503 but leave the node ready.
import type Database from 'better-sqlite3-multiple-ciphers';
import type { HealthProbes } from '../../chain/health.js';
import type { NotaryConfig } from './config.js';

export { ANCHOR_LAG_MAX_SECS_DEFAULT, validateNotaryConfig } from './config.js';

// Statements stay reachable for the process (see src/store/sqlite.ts).
const keepAlive: unknown[] = [];

export function registerNotaryHealth(health: HealthProbes, db: Database.Database, config: NotaryConfig, nowMs: () => number = Date.now): void {
  const unanchored = db.prepare<[], { n: number; oldest: number | null }>(
    'SELECT count(*) AS n, min(signed_at) AS oldest FROM notary_batches WHERE signed_at IS NOT NULL AND anchor_tx IS NULL');
  const signing = db.prepare<[], { queued: number; active: number }>(
    `SELECT EXISTS (SELECT 1 FROM notary_batches WHERE signed_at IS NULL) AS queued,
            EXISTS (SELECT 1 FROM notary_keys WHERE retired_at IS NULL) AS active`);
  keepAlive.push(unanchored, signing);
  const lagMaxMs = config.anchorLagMaxSecs * 1000;
  health.probe('notary.anchoring', () => {
    const { n, oldest } = unanchored.get()!;
    if (oldest === null || nowMs() - oldest <= lagMaxMs) return { ok: true };
    return {
      ok: false,
      reason: `${n} signed batch${n === 1 ? '' : 'es'} not anchored, the oldest signed ${Math.round((nowMs() - oldest) / 1000)} s ago (notary.anchorLagMaxSecs ${config.anchorLagMaxSecs}); see the node's log for "notary: anchoring failed"`,
      since: new Date(oldest + lagMaxMs).toISOString(),
    };
  });
  health.probe('notary.signing', () => {
    const { queued, active } = signing.get()!;
    if (!queued || active) return { ok: true };
    return { ok: false, reason: 'records are queued but the key pool has no active key: add one with `tally notary keys add`' };
  });
}
