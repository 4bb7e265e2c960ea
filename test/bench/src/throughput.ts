/**
 * Sustained throughput: the highest call rate (setup, hold, teardown) the stack holds with zero
 * failures and zero leftovers. Short probes step the rate up until one fails; the best rate is
 * then held for the full sustain time (a step lower if that fails). A run passes
 * with zero failures, zero leftovers and setup p99 under a bound (a backlog shows there first). With more
 * controllers the search starts from the previous best. CPU time per call of each process is
 * read from /proc over the sustained run.
 */
import type { AriSimulator } from '@avb/ari-simulator';
import { APP } from '@avb/test/harness/stack';
import { recover, runCalls, type RunResult } from './call-runs.js';
import { round2, summarize, type Summary } from './percentiles.js';
import { cpuMs } from './process-stats.js';

export interface Probe {
  rate: number;
  seconds: number;
  pass: boolean;
  failures: number;
  leftovers: number;
  setup: Summary;
}

export interface SearchOptions {
  startRate: number;
  step: number;
  maxRate: number;
  probeS: number;
  holdMs: number;
  /** 0: no sustained run, the best probe is the result. */
  sustainS: number;
  /** Basic ARI authorization, to clean up after a failed run. */
  authorization: string;
  /** A rate that holds keeps setup p99 under this. */
  maxP99Ms: number;
  /** performance.now() after which no new probe or sustained attempt starts. */
  deadline: number;
}

export interface ThroughputResult {
  controllers: number;
  /** The best rate that passed (sustained when sustainS > 0, else the best probe). */
  rate: number;
  /** The best rate a short probe passed. */
  bestProbeRate: number;
  sustained: Probe | undefined;
  probes: Probe[];
  /** CPU ms per call over the sustained run, by process. */
  cpuMsPerCall?: Record<string, number>;
}

export async function findThroughput(
  sim: AriSimulator,
  controllers: number,
  pids: Record<string, number | undefined>,
  opts: SearchOptions,
): Promise<ThroughputResult> {
  const probes: Probe[] = [];
  const probe = async (rate: number, seconds: number) => {
    const run = await runCalls(sim, { app: APP, rate, count: Math.round(rate * seconds), holdMs: opts.holdMs });
    const p = toProbe(rate, seconds, run, opts.maxP99Ms);
    if (!p.pass) await recover(sim, APP, opts.authorization);
    process.stderr.write(`  ${controllers} controller(s) ${rate}/s for ${seconds}s: ${p.pass ? 'ok' : 'FAIL'} (failures ${p.failures}, leftovers ${p.leftovers}, setup p50 ${p.setup.p50} p99 ${p.setup.p99} ms)\n`);
    return p;
  };

  let best = 0;
  let rate = opts.startRate;
  const first = await probe(rate, opts.probeS);
  probes.push(first);
  if (first.pass) {
    best = rate;
    while (rate + opts.step <= opts.maxRate && performance.now() + opts.probeS * 1000 < opts.deadline) {
      rate += opts.step;
      const p = await probe(rate, opts.probeS);
      probes.push(p);
      if (!p.pass) break;
      best = rate;
    }
  } else {
    while (rate - opts.step > 0 && performance.now() + opts.probeS * 1000 < opts.deadline) {
      rate -= opts.step;
      const p = await probe(rate, opts.probeS);
      probes.push(p);
      if (p.pass) {
        best = rate;
        break;
      }
    }
  }
  if (opts.sustainS === 0 || best === 0) return { controllers, rate: best, bestProbeRate: best, sustained: undefined, probes };

  let candidate = best;
  for (let attempt = 0; attempt < 2 && candidate > 0; attempt++) {
    if (attempt > 0 && performance.now() + opts.sustainS * 1000 > opts.deadline) break;
    const cpuBefore = readCpu(pids);
    const sustained = await probe(candidate, opts.sustainS);
    const cpuAfter = readCpu(pids);
    if (sustained.pass) {
      const calls = candidate * opts.sustainS;
      const cpuMsPerCall = Object.fromEntries(
        Object.entries(cpuAfter).map(([k, v]) => [k, round2((v - (cpuBefore[k] ?? 0)) / calls)]),
      );
      return { controllers, rate: candidate, bestProbeRate: best, sustained, probes, cpuMsPerCall };
    }
    probes.push(sustained);
    candidate -= opts.step;
  }
  return { controllers, rate: 0, bestProbeRate: best, sustained: undefined, probes };
}

/**
 * A short probe can pass while a backlog builds that a 30 s run would not survive: setup latency
 * that keeps growing (median of the last fifth of the calls above 20 ms and 3x the first fifth's)
 * fails the probe too.
 */
function growing(run: RunResult): boolean {
  const setup = run.records.filter((r) => r.bridgedAt !== undefined).map((r) => r.bridgedAt! - r.startedAt);
  const fifth = Math.floor(setup.length / 5);
  if (fifth < 10) return false;
  const first = summarize(setup.slice(0, fifth)).p50;
  const last = summarize(setup.slice(-fifth)).p50;
  return last > 20 && last > 3 * first;
}

function toProbe(rate: number, seconds: number, run: RunResult, maxP99Ms: number): Probe {
  const setup = summarize(run.setupMs);
  return {
    rate, seconds,
    pass: run.failures === 0 && run.leftovers === 0 && setup.p99 <= maxP99Ms && !growing(run),
    failures: run.failures,
    leftovers: run.leftovers,
    setup,
  };
}

function readCpu(pids: Record<string, number | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) if (pid !== undefined) out[name] = cpuMs(pid);
  const self = process.cpuUsage();
  out['simulator'] = (self.user + self.system) / 1000;
  return out;
}
