/**
 * Call setup latency through NATS against the direct-ARI reference, on the same simulator and
 * load: warm both up, then alternate short rounds (ours first in even rounds, direct first in odd
 * ones, so drift on a shared machine hits both alike). Timed by the simulator: StasisStart sent
 * -> the caller shares a bridge with its media channel.
 */
import type { AriSimulator } from '@avb/ari-simulator';
import { APP } from '@avb/test/harness/stack';
import { DIRECT_APP } from './bench-stack.js';
import { runCalls } from './call-runs.js';
import { round2, summarize, type Summary } from './percentiles.js';

export interface LatencySetting {
  simLatencyMs: number;
  rate: number;
}

export interface LatencyResult extends LatencySetting {
  ours: Summary;
  direct: Summary;
  ratioP50: number;
  ratioP99: number;
  failures: { ours: number; direct: number };
  leftovers: { ours: number; direct: number };
}

export interface LatencyOptions {
  rounds: number;
  roundS: number;
  holdMs: number;
}

/** JIT and connection pools: the first few hundred calls of each side are slower. */
export async function warmUp(sim: AriSimulator, calls: number): Promise<void> {
  if (calls === 0) return;
  for (const app of [APP, DIRECT_APP]) await runCalls(sim, { app, rate: 200, count: calls, holdMs: 200 });
}

export async function measureSetupLatency(sim: AriSimulator, setting: LatencySetting, opts: LatencyOptions): Promise<LatencyResult> {
  sim.setLatency(setting.simLatencyMs);
  const count = Math.max(1, setting.rate * opts.roundS);
  const samples = { ours: [] as number[], direct: [] as number[] };
  const failures = { ours: 0, direct: 0 };
  const leftovers = { ours: 0, direct: 0 };
  // One short round each at this setting first: pools sized for its concurrency.
  const sides = [['ours', APP], ['direct', DIRECT_APP]] as const;
  for (const [, app] of sides) await runCalls(sim, { app, rate: setting.rate, count: setting.rate, holdMs: opts.holdMs });
  for (let round = 0; round < opts.rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const [side, app] of order) {
      const run = await runCalls(sim, { app, rate: setting.rate, count, holdMs: opts.holdMs });
      samples[side].push(...run.setupMs);
      failures[side] += run.failures;
      leftovers[side] += run.leftovers;
    }
  }
  sim.setLatency(0);
  const ours = summarize(samples.ours);
  const direct = summarize(samples.direct);
  return {
    ...setting, ours, direct, failures, leftovers,
    ratioP50: round2(ours.p50 / direct.p50),
    ratioP99: round2(ours.p99 / direct.p99),
  };
}
