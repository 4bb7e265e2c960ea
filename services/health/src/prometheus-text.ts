/**
 * Writes the Prometheus text exposition format (version 0.0.4): one HELP and TYPE per family,
 * escaped label values, histograms as cumulative `_bucket{le}` plus `_sum` and `_count`.
 */
import type { MsHistogram } from '@avb/contracts';

export type Labels = Record<string, string>;

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

const num = (n: number) => (Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN');

export class PromText {
  private readonly lines: string[] = [];

  private header(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
  }

  /** A counter or gauge family; an empty `samples` still declares it (a known zero is useful). */
  family(name: string, type: 'counter' | 'gauge', help: string, samples: Array<[Labels, number]>): this {
    this.header(name, type, help);
    for (const [labels, value] of samples) this.lines.push(`${name}${labelText(labels)} ${num(value)}`);
    return this;
  }

  /** A histogram family from ms histograms; bounds and sums are written in seconds. */
  histogramSeconds(name: string, help: string, series: Array<[Labels, MsHistogram]>): this {
    this.header(name, 'histogram', help);
    for (const [labels, h] of series) {
      const bounds = Object.keys(h.buckets).filter((le) => le !== '+Inf').sort((a, b) => Number(a) - Number(b));
      for (const le of bounds) this.lines.push(`${name}_bucket${labelText({ ...labels, le: String(Number(le) / 1000) })} ${h.buckets[le] ?? 0}`);
      this.lines.push(`${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${h.buckets['+Inf'] ?? h.count}`);
      this.lines.push(`${name}_sum${labelText(labels)} ${num(h.sum / 1000)}`);
      this.lines.push(`${name}_count${labelText(labels)} ${h.count}`);
    }
    return this;
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** Adds `h` into `into` (same bucket bounds expected; unknown bounds are added as they come). */
export function addHistogram(into: MsHistogram | undefined, h: MsHistogram): MsHistogram {
  const out: MsHistogram = into ?? { count: 0, sum: 0, buckets: {} };
  out.count += h.count;
  out.sum += h.sum;
  for (const [le, n] of Object.entries(h.buckets)) out.buckets[le] = (out.buckets[le] ?? 0) + n;
  return out;
}
