// Whether the node is fit to make blocks, as /health reports it. Core components (storage,
// the signed-height watermark, the node itself) report failures and recoveries; module
// services add probes asked at each report. The node is ready (can take transactions)
// while no core component fails, and ok while nothing fails. Kept apart from the sequencer
// so any part of the node can report.
import { redactUrlCredentials } from '../core/text.js';
import { storageError } from '../store/integrity.js';
import type { SignedWatermark } from '../store/watermark.js';

export interface ComponentStatus {
  ok: boolean;
  /** why it fails (absent while ok) */
  reason?: string;
  /** ISO time the failure began */
  since?: string;
}

/** A module service's view of itself, asked at each /health (cheap: no I/O). */
export type HealthProbe = () => ComponentStatus;

/** What a module's internal routes may add to /health (see AppModule.internalRoutes). */
export interface HealthProbes {
  /** Report `component` (e.g. "tickets.monero") by asking `probe` at each /health. */
  probe(component: string, probe: HealthProbe): void;
}

export interface HealthReport {
  /** every component is ok */
  ok: boolean;
  /** the components that making blocks needs (storage, watermark, the node itself) are ok: the node can take transactions */
  ready: boolean;
  components: Record<string, ComponentStatus>;
  failing: Array<{ component: string; reason: string; since?: string; core: boolean }>;
  /** Things the operator should fix that do not stop the node (it stays ok and ready). */
  warnings: Array<{ component: string; reason: string; since: string }>;
}

/** Components whose failure means the node cannot take transactions; module services are not among them. */
export const CORE_COMPONENTS: readonly string[] = ['node', 'storage', 'watermark'];

export class NodeHealth implements HealthProbes {
  private readonly failures = new Map<string, { reason: string; since: string }>();
  private readonly probes = new Map<string, HealthProbe>();
  private readonly warnings = new Map<string, { reason: string; since: string }>();

  fail(component: string, reason: string): void {
    if (!this.failures.has(component)) this.failures.set(component, { reason, since: new Date().toISOString() });
  }

  ok(component: string): void {
    this.failures.delete(component);
  }

  probe(component: string, probe: HealthProbe): void {
    this.probes.set(component, probe);
  }

  /** A warning (a module misconfigured, say): shown by /health, the node stays healthy. */
  warn(component: string, reason: string): void {
    if (!this.warnings.has(component)) this.warnings.set(component, { reason, since: new Date().toISOString() });
  }

  clearWarning(component: string): void {
    this.warnings.delete(component);
  }

  report(): HealthReport {
    const components: Record<string, ComponentStatus> = {};
    for (const c of CORE_COMPONENTS) components[c] = { ok: true };
    for (const [component, probe] of this.probes) {
      try {
        components[component] = probe();
      } catch (err) {
        components[component] = { ok: false, reason: `the health probe failed: ${(err as Error).message}` };
      }
    }
    for (const [component, f] of this.failures) components[component] = { ok: false, ...f };
    // Reasons come from error messages, which may name a URL with its credentials.
    for (const c of Object.values(components)) if (c.reason) c.reason = redactUrlCredentials(c.reason);
    const failing = Object.entries(components).filter(([, c]) => !c.ok)
      .map(([component, c]) => ({ component, reason: c.reason ?? 'failing', ...(c.since ? { since: c.since } : {}), core: CORE_COMPONENTS.includes(component) }));
    const warnings = [...this.warnings].map(([component, w]) => ({ component, ...w, reason: redactUrlCredentials(w.reason) }));
    return { ok: failing.length === 0, ready: !failing.some((f) => f.core), components, failing, warnings };
  }
}

/**
 * What the sequencer (Core v2: the proposer/executor) calls around each block:
 * committed() after the storage commit and before acknowledging anyone, failed() when a
 * block could not be built or stored (nothing committed, submitters told to retry).
 */
export class BlockHooks {
  watermark: SignedWatermark | undefined;

  constructor(readonly health: NodeHealth) {}

  /** Records the signed height; throws if it cannot, and then the block must not be published (stop the node). */
  committed(height: number, hash: string): void {
    try {
      this.watermark?.record(height, hash);
    } catch (err) {
      this.health.fail('watermark', (err as Error).message);
      throw new Error(`tally: block ${height} is committed but its signed height could not be recorded; stopping without publishing it`, { cause: err });
    }
    this.health.ok('storage');
  }

  /** Marks the node unhealthy; returns the error to give the block's submitters (503, retry). */
  failed(err: unknown): unknown {
    this.health.fail('storage', err instanceof Error ? err.message : String(err));
    return storageError(err);
  }
}
