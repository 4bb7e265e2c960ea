/**
 * Reads a Prometheus text exposition (0.0.4) for tests with parse-prometheus-text-format (a port
 * of Prometheus' own parsers, strict about the syntax of every line): the whole text for its
 * families (name, `# HELP`, `# TYPE`), and each sample line on its own for its name, labels and
 * value (the library keeps only the last of repeated lines and folds labelled histogram series
 * together, so the series are taken line by line). Then it checks what a parser lets through:
 * each family has HELP and TYPE and is declared once, every sample belongs to a family declared
 * before it, no series repeats, and each histogram series has non-decreasing buckets ending in
 * `+Inf` equal to its `_count`. Throws on anything else.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** Family name -> type (`counter`, `gauge`, `histogram`, ...). */
  types: Map<string, string>;
  help: Map<string, string>;
  /** Every series as written, histograms as their `_bucket{le}`, `_sum` and `_count` series. */
  samples: Sample[];
  /** The value of one series (labels must match exactly); undefined when absent. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Sum over every series of `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
}

const num = (raw: string | undefined, what: string): number => {
  if (raw === undefined) throw new Error(`${what}: no value`);
  const v = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
  if (Number.isNaN(v) && raw !== 'NaN') throw new Error(`${what}: bad value ${raw}`);
  return v;
};
const SUFFIXES = ['_bucket', '_sum', '_count'];
const seriesKey = (name: string, labels: Record<string, string>) => `${name}${JSON.stringify(Object.entries(labels).sort())}`;

export function parsePrometheusText(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const f of parsePrometheusTextFormat(text)) {
    if (types.has(f.name)) throw new Error(`family ${f.name} appears twice`);
    if (!f.type || f.type === 'UNTYPED') throw new Error(`family ${f.name} has no # TYPE`);
    if (!f.help) throw new Error(`family ${f.name} has no # HELP`);
    types.set(f.name, f.type.toLowerCase());
    help.set(f.name, f.help);
  }

  const declared = new Set<string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+)/.exec(line);
    if (type) {
      if (declared.has(type[1]!)) throw new Error(`family declared twice: ${line}`);
      declared.add(type[1]!);
    }
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [alone] = parsePrometheusTextFormat(`${line}\n`);
    const sample = alone?.metrics[0];
    if (!alone || !sample) throw new Error(`not a sample: ${line}`);
    const family = declared.has(alone.name) ? alone.name : SUFFIXES.map((s) => (alone.name.endsWith(s) ? alone.name.slice(0, -s.length) : '')).find((f) => f && types.get(f) === 'histogram' && declared.has(f));
    if (!family) throw new Error(`sample before its # TYPE: ${line}`);
    const labels = sample.labels ?? {};
    const key = seriesKey(alone.name, labels);
    if (seen.has(key)) throw new Error(`series repeated: ${line}`);
    seen.add(key);
    samples.push({ name: alone.name, labels, value: num(sample.value, line) });
  }
  checkHistograms(types, samples);

  const matches = (s: Sample, labels: Record<string, string>) => Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  return {
    types,
    help,
    samples,
    value: (name, labels = {}) =>
      samples.find((s) => s.name === name && Object.keys(s.labels).length === Object.keys(labels).length && matches(s, labels))?.value,
    sum: (name, labels = {}) => samples.filter((s) => s.name === name && matches(s, labels)).reduce((n, s) => n + s.value, 0),
  };
}

function checkHistograms(types: Map<string, string>, samples: Sample[]): void {
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, Array<{ le: number; value: number }>>();
    const counts = new Map<string, number>();
    for (const s of samples) {
      const { le, ...rest } = s.labels;
      const key = seriesKey('', rest);
      if (s.name === `${family}_bucket`) {
        if (le === undefined) throw new Error(`${family}_bucket without le`);
        series.set(key, [...(series.get(key) ?? []), { le: num(le, `${family} le`), value: s.value }]);
      } else if (s.name === `${family}_count`) counts.set(key, s.value);
    }
    for (const [key, buckets] of series) {
      const sorted = [...buckets].sort((a, b) => a.le - b.le);
      for (let i = 1; i < sorted.length; i++) if (sorted[i]!.value < sorted[i - 1]!.value) throw new Error(`${family}${key}: buckets decrease`);
      const inf = sorted.at(-1);
      if (!inf || inf.le !== Infinity) throw new Error(`${family}${key}: no +Inf bucket`);
      if (counts.get(key) !== inf.value) throw new Error(`${family}${key}: +Inf bucket ${inf.value} != _count ${counts.get(key)}`);
    }
  }
}
