/**
 * Memory with many calls held at once: RSS (VmRSS) of the gateway and each controller before the
 * calls and while all of them are bridged, per call = delta / calls held. Calls hang up in the
 * order they came, at the same rate, once all are up.
 */
import type { AriSimulator } from '@avb/ari-simulator';
import { APP } from '@avb/test/harness/stack';
import { runCalls } from './call-runs.js';
import { round2 } from './percentiles.js';
import { rssKiB } from './process-stats.js';

export interface MemoryResult {
  calls: number;
  rate: number;
  /** The most calls bridged at the same time. */
  held: number;
  gateway: { beforeKiB: number; heldKiB: number; perCallKiB: number };
  controller: { beforeKiB: number; heldKiB: number; perCallKiB: number };
  failures: number;
  leftovers: number;
}

export async function measureMemory(sim: AriSimulator, pids: { gateway: number; controller: number }, calls: number, rate: number): Promise<MemoryResult> {
  const placeMs = (calls / rate) * 1000;
  const holdMs = placeMs + 5000;
  const before = { gateway: rssKiB(pids.gateway), controller: rssKiB(pids.controller) };
  const run = runCalls(sim, { app: APP, rate, count: calls, holdMs, settleMs: 20_000 });
  const started = performance.now();
  let held = 0;
  // Until all are bridged, or until just before the first caller hangs up.
  while (performance.now() - started < holdMs - 1000) {
    held = Math.max(held, sim.bridges().length);
    if (held >= calls) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500));
  held = Math.max(held, sim.bridges().length);
  const at = { gateway: rssKiB(pids.gateway), controller: rssKiB(pids.controller) };
  const result = await run;
  const per = (k: 'gateway' | 'controller') => ({
    beforeKiB: before[k],
    heldKiB: at[k],
    perCallKiB: round2((at[k] - before[k]) / Math.max(1, held)),
  });
  return { calls, rate, held, gateway: per('gateway'), controller: per('controller'), failures: result.failures, leftovers: result.leftovers };
}
