/** What health tests do over HTTP: read /health and /metrics, time a request, fire a burst. */
import { parsePrometheusText, type Exposition } from './prom-text.js';
import { percentile, waitUntil } from './util.js';

export interface HealthBody {
  status: 'ok' | 'degraded' | 'down';
  problems: string[];
  nats: string;
  nodes: Record<string, { ariConnected: boolean }>;
  /** `active` is cluster-wide; the others are summed over the controllers that answer. */
  calls: { active: number; inSetupOrTeardown: number; started: number; ended: number; failed: number };
  instances: Array<{
    service: string; id: string; instance?: string; node?: string; version: string; startedAt: string;
    uptimeSeconds: number; answering: boolean; lastSeen: string; role?: string;
    /** A controller's own figures. */
    calls?: { inSetupOrTeardown: number; started: number; ended: number; failed: number };
    ari?: { state: string; since: string; reason?: string };
  }>;
}

export interface Timed<T> {
  status: number;
  /** The reason phrase of the status line (`OK`, `Service Unavailable`). */
  statusText: string;
  body: T;
  ms: number;
}

export async function getHealth(base: string): Promise<Timed<HealthBody>> {
  const started = performance.now();
  const res = await fetch(`${base}/health`);
  const body = (await res.json()) as HealthBody;
  return { status: res.status, statusText: res.statusText, body, ms: performance.now() - started };
}

export async function getMetrics(base: string): Promise<{ text: string; parsed: Exposition; contentType: string | null }> {
  const res = await fetch(`${base}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const text = await res.text();
  return { text, parsed: parsePrometheusText(text), contentType: res.headers.get('content-type') };
}

/** Polls /health until `accept` holds; returns the accepted answer and how long it took. */
export async function waitForHealth(
  base: string, accept: (h: Timed<HealthBody>) => boolean, timeoutMs: number, what: string,
): Promise<Timed<HealthBody> & { afterMs: number; slowestMs: number }> {
  const started = performance.now();
  let found: Timed<HealthBody> | undefined;
  let slowestMs = 0;
  await waitUntil(async () => {
    const h = await getHealth(base).catch(() => undefined);
    if (h) slowestMs = Math.max(slowestMs, h.ms);
    if (h && accept(h)) found = h;
    return found !== undefined;
  }, timeoutMs, what);
  return { ...found!, afterMs: performance.now() - started, slowestMs };
}

/** `total` GETs with `concurrency` in flight; statuses and latency figures. */
export async function burst(url: string, total: number, concurrency: number) {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      next += 1;
      const t = performance.now();
      const res = await fetch(url);
      await res.arrayBuffer();
      latencies.push(performance.now() - t);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  }));
  const elapsedMs = performance.now() - started;
  return {
    statuses, elapsedMs, perSecond: Math.round((total * 1000) / elapsedMs),
    p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies),
  };
}
