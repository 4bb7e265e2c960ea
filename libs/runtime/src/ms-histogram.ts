/**
 * A latency histogram in milliseconds, Prometheus style (cumulative counts per upper bound, plus
 * `+Inf`, a sum and a count), as every service reports them (MsHistogram in contracts'
 * service-stats.ts; the health service turns them into `_seconds` histograms).
 */
import type { MsHistogram as MsHistogramData } from '@avb/contracts';

export class MsHistogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  /** `bounds`: upper bounds in ms, ascending. */
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(ms: number): void {
    this.sum += ms;
    this.count += 1;
    for (let i = 0; i < this.bounds.length; i++) if (ms <= this.bounds[i]!) this.counts[i]! += 1;
    this.counts[this.bounds.length]! += 1;
  }

  snapshot(): MsHistogramData {
    return {
      count: this.count,
      sum: Math.round(this.sum * 1000) / 1000,
      buckets: Object.fromEntries([...this.bounds.map(String), '+Inf'].map((le, i) => [le, this.counts[i] ?? 0])),
    };
  }
}
