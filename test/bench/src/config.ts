/**
 * The bench's settings, from environment variables only (parsed once by zod). The defaults are
 * the published run; BENCH_QUICK=1 shrinks every duration for a smoke run of a few seconds.
 */
import { z } from 'zod';

const int = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);

export const BenchConfig = z.object({
  BENCH_QUICK: z.enum(['0', '1']).default('0'),
  /** Where the JSON result goes (relative to the repository root). */
  BENCH_OUT: z.string().default('test/bench/results/latest.json'),
  /** The services' LOG_LEVEL (the harness waits for info lines, so at least info). */
  BENCH_LOG_LEVEL: z.enum(['debug', 'info']).default('info'),
  /** Which phases run (comma-separated). */
  BENCH_PHASES: z.string().default('relay,roundtrips,latency,ops,burst,memory,throughput'),

  BENCH_WARMUP_CALLS: int(600),
  BENCH_LATENCY_ROUNDS: int(4),
  BENCH_LATENCY_ROUND_S: int(2),
  BENCH_LATENCY_HOLD_MS: int(500),

  BENCH_RELAY_RATE: int(5000),
  BENCH_RELAY_S: int(3),

  /** NATS operations per call: calls counted, at this rate, held this long. */
  BENCH_OPS_CALLS: int(300),
  BENCH_OPS_RATE: int(100),
  /** Long enough that every call is set up on a loaded machine too (a failed call counts fewer). */
  BENCH_OPS_HOLD_MS: int(2000),
  /**
   * Operations per call before issue 13's work (this bench's `ops` phase on e69de98, 2026-12-02,
   * with a consumer's deliveries counted as replies: 43.12 and 43.37 in two runs; counted as
   * operations, as before that fix, 42.3-47.1): the target is half of it.
   */
  BENCH_OPS_BASELINE: z.coerce.number().positive().default(43.2),

  /** The burst: this many callers within this many ms, each held this long. */
  BENCH_BURST_CALLS: int(500),
  BENCH_BURST_WITHIN_MS: int(100),
  BENCH_BURST_HOLD_MS: int(4000),

  BENCH_MEMORY_CALLS: int(10_000),
  BENCH_MEMORY_RATE: int(500),

  BENCH_HOLD_MS: int(1000),
  BENCH_PROBE_S: int(5),
  BENCH_SUSTAIN_S: int(30),
  BENCH_START_RATE: int(500),
  BENCH_RATE_STEP: int(100),
  BENCH_MAX_RATE: int(1500),
  BENCH_CONTROLLERS: int(3),
  /** Seconds the whole run may take: later throughput steps are skipped when it runs out. */
  BENCH_BUDGET_S: int(270),
  /** A throughput run passes only with setup p99 under this (ms). */
  BENCH_MAX_SETUP_P99_MS: int(250),
});
export type BenchConfig = z.infer<typeof BenchConfig>;

/** Durations for BENCH_QUICK=1, unless set explicitly. */
const QUICK: Partial<Record<keyof BenchConfig, string>> = {
  BENCH_WARMUP_CALLS: '50',
  BENCH_LATENCY_ROUNDS: '1',
  BENCH_LATENCY_ROUND_S: '1',
  BENCH_LATENCY_HOLD_MS: '200',
  BENCH_RELAY_S: '1',
  BENCH_MEMORY_CALLS: '200',
  BENCH_OPS_CALLS: '50',
  BENCH_BURST_CALLS: '100',
  BENCH_BURST_HOLD_MS: '1500',
  BENCH_HOLD_MS: '300',
  BENCH_PROBE_S: '1',
  BENCH_SUSTAIN_S: '1',
  BENCH_START_RATE: '100',
  BENCH_MAX_RATE: '100',
  BENCH_CONTROLLERS: '2',
  BENCH_BUDGET_S: '120',
};

export function benchEnv(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  return env.BENCH_QUICK === '1' ? { ...QUICK, ...env } : { ...env };
}
