/**
 * This instance's call counters, setup-latency histogram and reconciliation results
 * (low-cardinality: no ids). Reported as `calls` and `reconcile` of ControllerStatsData.
 */
import type { CallEvent } from '@avb/contracts';
import { MsHistogram } from '@avb/runtime';
import type { ReconcileReport } from './reconciler.js';

/** Upper bounds of the setup-latency buckets, in ms. */
export const SETUP_BUCKETS_MS = [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] as const;

export class CallStats {
  /** `inSetupOrTeardown`: the calls this instance is setting up or tearing down right now. */
  constructor(private readonly inSetupOrTeardown: () => number = () => 0) {}

  /** Totals over every reconciliation this instance ran. */
  readonly reconcile = { runs: 0, failed: 0, callsEnded: 0, bridgesRemoved: 0, mediaChannelsRemoved: 0, callersAdopted: 0, callsRefreshed: 0 };
  started = 0;
  ended = 0;
  failed = 0;
  eventsDropped = 0;
  private readonly setup = new MsHistogram(SETUP_BUCKETS_MS);

  observeSetup(ms: number): void {
    this.setup.observe(ms);
  }

  /** Counts a call event this instance publishes. */
  count(event: CallEvent): void {
    if (event.kind === 'started') {
      this.started += 1;
      if (event.setupMs !== undefined) this.observeSetup(event.setupMs);
    } else if (event.kind !== 'media_ready') {
      this[event.kind] += 1;
    }
  }

  reconciled(report: ReconcileReport): void {
    this.reconcile.runs += 1;
    this.reconcile.callsEnded += report.callsEnded;
    this.reconcile.bridgesRemoved += report.bridgesRemoved;
    this.reconcile.mediaChannelsRemoved += report.mediaChannelsRemoved;
    this.reconcile.callersAdopted += report.callersAdopted;
    this.reconcile.callsRefreshed += report.refreshed;
  }

  reconcileFailed(): void {
    this.reconcile.failed += 1;
  }

  reconcileSnapshot() {
    return { ...this.reconcile };
  }

  snapshot() {
    return {
      inSetupOrTeardown: this.inSetupOrTeardown(),
      started: this.started,
      ended: this.ended,
      failed: this.failed,
      eventsDropped: this.eventsDropped,
      setupMs: this.setup.snapshot(),
    };
  }
}
