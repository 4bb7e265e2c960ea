/**
 * A burst: `calls` callers within `withinMs` (placed at calls / withinMs), each held until well
 * after all of them are up. The figure is the time from the first caller's StasisStart to the
 * last one bridged (simulator clock); the first tenth's setup p50 shows whether the first
 * callers are slowed down by the last. Ours and the direct reference, one after the other.
 */
import type { AriSimulator } from '@avb/ari-simulator';
import { APP } from '@avb/test/harness/stack';
import { DIRECT_APP } from './bench-stack.js';
import { runCalls, type RunResult } from './call-runs.js';
import { round2, summarize, type Summary } from './percentiles.js';

export interface BurstSide {
  /** First StasisStart -> last caller bridged, ms. */
  allBridgedMs: number;
  setup: Summary;
  /** Setup p50 of the first tenth of the callers. */
  firstTenthP50: number;
  failures: number;
  leftovers: number;
}

export interface BurstResult {
  calls: number;
  withinMs: number;
  ours: BurstSide;
  direct: BurstSide;
}

export async function measureBurst(sim: AriSimulator, calls: number, withinMs: number, holdMs: number): Promise<BurstResult> {
  const rate = Math.ceil((calls * 1000) / withinMs);
  const side = async (app: string): Promise<BurstSide> => summarizeBurst(await runCalls(sim, { app, rate, count: calls, holdMs }));
  return { calls, withinMs, ours: await side(APP), direct: await side(DIRECT_APP) };
}

function summarizeBurst(run: RunResult): BurstSide {
  const bridged = run.records.filter((r) => r.bridgedAt !== undefined);
  const first = Math.min(...run.records.map((r) => r.startedAt));
  const last = Math.max(...bridged.map((r) => r.bridgedAt!));
  const tenth = run.records.slice(0, Math.max(1, Math.floor(run.records.length / 10)))
    .filter((r) => r.bridgedAt !== undefined).map((r) => r.bridgedAt! - r.startedAt);
  return {
    allBridgedMs: bridged.length === 0 ? Infinity : round2(last - first),
    setup: summarize(run.setupMs),
    firstTenthP50: summarize(tenth).p50,
    failures: run.failures,
    leftovers: run.leftovers,
  };
}
