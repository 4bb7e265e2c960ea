/**
 * `pnpm bench` composition root: starts the stack and the direct-ARI reference, runs the phases
 * (relay, round trips, setup latency, memory, throughput), prints the table and writes the JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadavg } from 'node:os';
import { loadConfigOrExit } from '@avb/runtime';
import { APP, ARI_PASSWORD, ARI_USER } from '@avb/test/harness/stack';
import { repoRoot } from '@avb/test/harness/services';
import { startBenchStack, DIRECT_APP } from './bench-stack.js';
import { BenchConfig, benchEnv } from './config.js';
import { measureBurst, type BurstResult } from './burst.js';
import { measureMemory, type MemoryResult } from './memory.js';
import { measureNatsOps, type OpsResult } from './nats-ops.js';
import { round2 } from './percentiles.js';
import { measureRelay, type RelayResult } from './relay-latency.js';
import { formatTable, machineInfo, type Row } from './report.js';
import { measureRoundTrips, type RoundTripResult } from './round-trips.js';
import { measureSetupLatency, warmUp, type LatencyResult } from './setup-latency.js';
import { findThroughput, type ThroughputResult } from './throughput.js';

const config = loadConfigOrExit('bench', BenchConfig, benchEnv(process.env));
const phases = new Set(config.BENCH_PHASES.split(',').map((p) => p.trim()));
const machine = machineInfo();
const startedAt = new Date();
const t0 = performance.now();
const deadline = t0 + config.BENCH_BUDGET_S * 1000;
const note = (msg: string) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(0)}s] ${msg}\n`);

const results: {
  relay?: RelayResult;
  roundTrips?: { ours: RoundTripResult; direct: RoundTripResult };
  latency?: LatencyResult[];
  memory?: MemoryResult;
  ops?: OpsResult;
  burst?: BurstResult;
  throughput?: ThroughputResult[];
  errors?: string[];
} = {};

/** A phase that fails is reported and the others still run. */
async function phase(name: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    note(`${name} failed: ${(err as Error).message}`);
    (results.errors ??= []).push(`${name}: ${(err as Error).message}`);
  }
}

note('starting nats-server (JetStream), simulator, echo, gateway, controller, direct reference');
const bench = await startBenchStack(config.BENCH_LOG_LEVEL);
const { stack } = bench;
try {
  if (['latency', 'roundtrips', 'relay', 'ops', 'burst'].some((p) => phases.has(p))) await phase('warm-up', async () => {
    note(`warm-up: ${config.BENCH_WARMUP_CALLS} calls each`);
    await warmUp(stack.sim, config.BENCH_WARMUP_CALLS);
  });
  if (phases.has('relay')) await phase('relay', async () => {
    note(`event relay at ${config.BENCH_RELAY_RATE}/s for ${config.BENCH_RELAY_S}s`);
    await measureRelay(stack.sim, stack.nc, APP, config.BENCH_RELAY_RATE, 1); // warm-up
    results.relay = await measureRelay(stack.sim, stack.nc, APP, config.BENCH_RELAY_RATE, config.BENCH_RELAY_S);
  });
  if (phases.has('roundtrips')) await phase('roundtrips', async () => {
    note('ARI requests and round trips per call (sim at 2 ms)');
    stack.sim.setLatency(2);
    results.roundTrips = {
      ours: await measureRoundTrips(stack.sim, APP, 10),
      direct: await measureRoundTrips(stack.sim, DIRECT_APP, 10),
    };
    stack.sim.setLatency(0);
  });
  if (phases.has('latency')) await phase('latency', async () => {
    results.latency = [];
    for (const setting of [{ simLatencyMs: 2, rate: 100 }, { simLatencyMs: 0, rate: 200 }]) {
      note(`setup latency: sim ${setting.simLatencyMs} ms, ${setting.rate} calls/s, ${config.BENCH_LATENCY_ROUNDS} interleaved rounds of ${config.BENCH_LATENCY_ROUND_S}s`);
      results.latency.push(await measureSetupLatency(stack.sim, setting, {
        rounds: config.BENCH_LATENCY_ROUNDS, roundS: config.BENCH_LATENCY_ROUND_S, holdMs: config.BENCH_LATENCY_HOLD_MS,
      }));
    }
  });
  if (phases.has('ops')) await phase('ops', async () => {
    note(`NATS operations per call: ${config.BENCH_OPS_CALLS} calls at ${config.BENCH_OPS_RATE}/s, counted by a subscriber on '>'`);
    results.ops = await measureNatsOps(stack.sim, stack.nats.url, config.BENCH_OPS_CALLS, config.BENCH_OPS_RATE, config.BENCH_OPS_HOLD_MS);
  });
  if (phases.has('burst')) await phase('burst', async () => {
    note(`burst: ${config.BENCH_BURST_CALLS} callers within ${config.BENCH_BURST_WITHIN_MS} ms, ours then direct`);
    results.burst = await measureBurst(stack.sim, config.BENCH_BURST_CALLS, config.BENCH_BURST_WITHIN_MS, config.BENCH_BURST_HOLD_MS);
  });
  if (phases.has('memory')) await phase('memory', async () => {
    note(`memory: ${config.BENCH_MEMORY_CALLS} calls held at once (placed at ${config.BENCH_MEMORY_RATE}/s)`);
    results.memory = await measureMemory(
      stack.sim,
      { gateway: stack.gateway.child.pid!, controller: stack.controllers[0]!.child.pid! },
      config.BENCH_MEMORY_CALLS, config.BENCH_MEMORY_RATE,
    );
  });
  if (phases.has('throughput')) await phase('throughput', async () => {
    results.throughput = [];
    let start = config.BENCH_START_RATE;
    for (let n = 1; n <= Math.max(1, config.BENCH_CONTROLLERS); n++) {
      const left = deadline - performance.now();
      if (n > 1 && left < 40_000) {
        note(`skipping ${n} controllers: the ${config.BENCH_BUDGET_S}s budget is used up`);
        break;
      }
      if (n > stack.controllers.length) stack.controllers.push(await stack.startController());
      note(`throughput with ${n} controller(s)${n === 1 ? `, then ${config.BENCH_SUSTAIN_S}s sustained` : ''}`);
      const pids: Record<string, number | undefined> = { gateway: stack.gateway.child.pid, 'nats-server': stack.nats.pid, echo: bench.echo.pid };
      stack.controllers.forEach((c, i) => (pids[`controller ${i + 1}`] = c.child.pid));
      const result = await findThroughput(stack.sim, n, pids, {
        startRate: start, step: config.BENCH_RATE_STEP, maxRate: config.BENCH_MAX_RATE,
        probeS: config.BENCH_PROBE_S, holdMs: config.BENCH_HOLD_MS, sustainS: n === 1 ? config.BENCH_SUSTAIN_S : 0,
        maxP99Ms: config.BENCH_MAX_SETUP_P99_MS,
        deadline,
        authorization: `Basic ${Buffer.from(`${ARI_USER}:${ARI_PASSWORD}`).toString('base64')}`,
      });
      results.throughput.push(result);
      if (result.bestProbeRate > 0) start = Math.max(config.BENCH_RATE_STEP, result.bestProbeRate - config.BENCH_RATE_STEP);
    }
  });
} finally {
  await bench.stop();
}

machine.loadavgAtEnd = loadavg().map((l) => Math.round(l * 100) / 100);
const durationS = Math.round((performance.now() - t0) / 100) / 10;
const rows = tableRows();
const out = resolve(repoRoot, config.BENCH_OUT);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ startedAt: startedAt.toISOString(), durationS, machine, config, rows, results }, null, 2)}\n`);
for (const e of results.errors ?? []) process.stdout.write(`phase failed: ${e}\n`);
process.stdout.write(`\n${formatTable(rows)}\n\nmachine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}; load ${machine.loadavgAtStart.join(' ')} -> ${machine.loadavgAtEnd.join(' ')}; ${durationS}s; JSON: ${out}\n`);

function tableRows(): Row[] {
  const rows: Row[] = [];
  const ms = (n: number) => `${n} ms`;
  for (const l of results.latency ?? []) {
    const at = `sim ${l.simLatencyMs} ms, ${l.rate}/s`;
    rows.push({ figure: `setup p50/p95/p99, ours (${at})`, measured: `${ms(l.ours.p50)} / ${ms(l.ours.p95)} / ${ms(l.ours.p99)}`, target: '', pass: undefined });
    rows.push({ figure: `setup p50/p95/p99, direct ARI (${at})`, measured: `${ms(l.direct.p50)} / ${ms(l.direct.p95)} / ${ms(l.direct.p99)}`, target: '', pass: undefined });
    const errs = l.failures.ours + l.failures.direct + l.leftovers.ours + l.leftovers.direct;
    // Issue 13's targets: ratios to the direct reference measured in the same run.
    const [p50Target, p99Target] = l.simLatencyMs === 2 ? [1.15, 1.5] : [1.5, 2];
    rows.push({ figure: `ours/direct p50 (${at})`, measured: `${l.ratioP50}x`, target: `<= ${p50Target}x`, pass: l.ratioP50 <= p50Target && errs === 0 });
    rows.push({ figure: `ours/direct p99 (${at})`, measured: `${l.ratioP99}x`, target: `<= ${p99Target}x`, pass: l.ratioP99 <= p99Target && errs === 0 });
  }
  for (const t of results.throughput ?? []) {
    const probeS = t.probes[0]?.seconds ?? 0;
    const measured = t.sustained
      ? `${t.rate} calls/s for ${t.sustained.seconds}s (setup p50 ${t.sustained.setup.p50} / p99 ${t.sustained.setup.p99} ms; ${probeS}s probes passed up to ${t.bestProbeRate})`
      : t.controllers === 1 ? `no rate held for ${config.BENCH_SUSTAIN_S}s (${probeS}s probes passed up to ${t.bestProbeRate}/s)` : `${t.rate} calls/s (${probeS}s probes)`;
    rows.push({
      figure: `throughput, 1 gateway + ${t.controllers} controller(s)`,
      measured,
      target: t.controllers === 1 ? '>= 1000 calls/s, 30 s' : '',
      pass: t.controllers === 1 ? t.rate >= 1000 && (t.sustained?.seconds ?? 0) >= 30 : undefined,
    });
    if (t.cpuMsPerCall) {
      rows.push({ figure: 'CPU per call (sustained run)', measured: Object.entries(t.cpuMsPerCall).map(([k, v]) => `${k} ${v} ms`).join(', '), target: '', pass: undefined });
    }
  }
  if (results.burst) {
    const b = results.burst;
    const side = (x: BurstResult['ours']) => `${ms(x.allBridgedMs)} (setup p50 ${ms(x.setup.p50)}, p99 ${ms(x.setup.p99)}, first tenth p50 ${ms(x.firstTenthP50)}; failures ${x.failures + x.leftovers})`;
    rows.push({ figure: `${b.calls} callers within ${b.withinMs / 1000} s: all bridged after`, measured: side(b.ours), target: '<= 1 s', pass: b.ours.allBridgedMs <= 1000 && b.ours.failures + b.ours.leftovers === 0 });
    rows.push({ figure: `${b.calls} callers within ${b.withinMs / 1000} s, direct ARI`, measured: side(b.direct), target: '', pass: undefined });
  }
  if (results.ops) {
    const o = results.ops;
    const half = round2(config.BENCH_OPS_BASELINE / 2);
    rows.push({ figure: `NATS operations per call (${o.calls} calls at ${o.rate}/s)`, measured: `${o.perCall} (before: ${config.BENCH_OPS_BASELINE}; + ${o.repliesPerCall} replies and deliveries)`, target: `<= ${half}`, pass: o.perCall <= half && o.failures === 0 });
    const sum = (re: RegExp) => round2(Object.entries(o.byKind).filter(([k]) => re.test(k)).reduce((total, [, v]) => total + v, 0));
    // The relay republishes every ARI event (the mission's `nats sub 'ari.>'`): what is left is the call's own.
    rows.push({ figure: 'of which the relay of the other ARI events', measured: `${sum(/^event publish \(other/)}`, target: '', pass: undefined });
    // The part durability adds (the relay, ARI commands and call events exist without it).
    rows.push({ figure: 'of which call state and consumers (KV, purges, acks, pulls)', measured: `${sum(/^(KV|stream purge|ack|nak|term|pull|JetStream)/)}`, target: '', pass: undefined });
    rows.push({ figure: 'NATS operations per call, by kind', measured: Object.entries(o.byKind).map(([k, v]) => `${k} ${v}`).join(', '), target: '', pass: undefined });
  }
  if (results.roundTrips) {
    const { ours, direct } = results.roundTrips;
    rows.push({ figure: 'ARI requests per call (setup + teardown)', measured: `${ours.requestsPerCall} (${ours.setupRequestsPerCall} setup; direct ${direct.requestsPerCall})`, target: '', pass: undefined });
    rows.push({ figure: 'sequential ARI round trips per setup', measured: `${ours.setupRoundTrips} (+ media StasisStart; direct ${direct.setupRoundTrips})`, target: '<= 2', pass: ours.setupRoundTrips <= 2 });
  }
  if (results.relay) {
    const r = results.relay;
    rows.push({ figure: `event relay p50/p99 at ${r.rate}/s`, measured: `${ms(r.latency.p50)} / ${ms(r.latency.p99)} (${r.received}/${r.sent} received)`, target: 'p99 < 2 ms', pass: r.latency.p99 < 2 && r.received === r.sent });
  }
  if (results.memory) {
    const m = results.memory;
    const kib = (x: { beforeKiB: number; heldKiB: number; perCallKiB: number }) => `${x.perCallKiB} KiB/call (RSS ${Math.round(x.beforeKiB / 1024)} -> ${Math.round(x.heldKiB / 1024)} MiB)`;
    rows.push({ figure: `controller memory, ${m.held} calls held`, measured: kib(m.controller), target: '<= 2 KiB/call', pass: m.controller.perCallKiB <= 2 && m.held === m.calls && m.failures === 0 });
    rows.push({ figure: `gateway memory, ${m.held} calls held`, measured: kib(m.gateway), target: '', pass: undefined });
  }
  return rows;
}
