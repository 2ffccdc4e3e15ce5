// Whether the node is fit to make blocks, as /health reports it. Components (storage, the
// signed-height watermark) report failures and recoveries; the node is healthy when none
// is failing. Kept apart from the sequencer so any part of the node can report.
import { storageError } from '../store/integrity.js';
import type { SignedWatermark } from '../store/watermark.js';

export interface HealthReport {
  ok: boolean;
  failing: Array<{ component: string; reason: string; since: string }>;
  /** Things the operator should fix that do not stop the node (it stays ok). */
  warnings: Array<{ component: string; reason: string; since: string }>;
}

export class NodeHealth {
  private readonly failures = new Map<string, { reason: string; since: string }>();
  private readonly warnings = new Map<string, { reason: string; since: string }>();

  fail(component: string, reason: string): void {
    if (!this.failures.has(component)) this.failures.set(component, { reason, since: new Date().toISOString() });
  }

  ok(component: string): void {
    this.failures.delete(component);
  }

  /** A warning (a module misconfigured, say): shown by /health, the node stays healthy. */
  warn(component: string, reason: string): void {
    if (!this.warnings.has(component)) this.warnings.set(component, { reason, since: new Date().toISOString() });
  }

  clearWarning(component: string): void {
    this.warnings.delete(component);
  }

  get healthy(): boolean {
    return this.failures.size === 0;
  }

  report(): HealthReport {
    return {
      ok: this.healthy,
      failing: [...this.failures].map(([component, f]) => ({ component, ...f })),
      warnings: [...this.warnings].map(([component, w]) => ({ component, ...w })),
    };
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
