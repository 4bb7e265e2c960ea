/** This instance's call counters and setup-latency histogram (low-cardinality: no ids). */

/** Upper bounds of the setup-latency buckets, in ms. */
export const SETUP_BUCKETS_MS = [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] as const;

export class CallStats {
  active = 0;
  started = 0;
  ended = 0;
  failed = 0;
  eventsDropped = 0;
  /** Cumulative counts per bucket, Prometheus style; the last entry is +Inf. */
  readonly setupBuckets = new Array<number>(SETUP_BUCKETS_MS.length + 1).fill(0);
  setupSumMs = 0;
  setupCount = 0;

  observeSetup(ms: number): void {
    this.setupSumMs += ms;
    this.setupCount += 1;
    for (let i = 0; i < SETUP_BUCKETS_MS.length; i++) if (ms <= SETUP_BUCKETS_MS[i]!) this.setupBuckets[i]! += 1;
    this.setupBuckets[SETUP_BUCKETS_MS.length]! += 1;
  }

  snapshot() {
    return {
      active: this.active,
      started: this.started,
      ended: this.ended,
      failed: this.failed,
      eventsDropped: this.eventsDropped,
      setupMs: {
        count: this.setupCount,
        sum: Math.round(this.setupSumMs * 1000) / 1000,
        buckets: Object.fromEntries(
          [...SETUP_BUCKETS_MS.map(String), '+Inf'].map((le, i) => [le, this.setupBuckets[i] ?? 0]),
        ),
      },
    };
  }
}
