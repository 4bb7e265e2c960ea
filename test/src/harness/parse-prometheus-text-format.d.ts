/** Types for parse-prometheus-text-format (it ships none): the prom2json shape it returns. */
declare module 'parse-prometheus-text-format' {
  interface Sample {
    labels?: Record<string, string>;
    value?: string;
    /** Histograms: cumulative count per upper bound (`le`), as written. */
    buckets?: Record<string, string>;
    /** Summaries. */
    quantiles?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  interface Family {
    name: string;
    help?: string;
    /** Upper case: COUNTER, GAUGE, HISTOGRAM, SUMMARY, UNTYPED. */
    type?: string;
    metrics: Sample[];
  }
  /** Throws on a line the text format does not allow. */
  export default function parsePrometheusTextFormat(text: string): Family[];
}
