/**
 * `pnpm demo` as a user runs it (its own process group, a free HEALTH_PORT): /health ok within
 * 20 s, `pnpm tail 'ari.>'` shows the calls, stopping the gateway turns /health 503 naming it,
 * and SIGTERM to the process group leaves no process and no port behind.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { getMetrics, waitForHealth } from './harness/health-client.js';
import { natsServerBinary } from './harness/nats-server.js';
import { reapOnExit } from './harness/reaper.js';
import { repoRoot } from './harness/services.js';
import { freePort, waitUntil } from './harness/util.js';

interface DemoState {
  pid: number;
  natsUrl: string;
  healthUrl: string;
  processes: Record<string, number>;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('pnpm demo', () => {
  let demo: ChildProcess;
  let dir: string;
  let base: string;
  let state: DemoState;
  const output: string[] = [];
  let exited: Promise<number | string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'avb-demo-test-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    demo = spawn(process.execPath, [`${repoRoot}tools/dist/demo.js`], {
      // Its own process group, as `pnpm demo` in a terminal has; the nats-server the harness uses.
      detached: true,
      env: { PATH: process.env.PATH ?? '', HEALTH_PORT: String(port), DEMO_DIR: dir, NATS_SERVER_BIN: natsServerBinary(), SIM_CALL_RATE: '5', SIM_HOLD_MS: '1000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    reapOnExit(demo);
    exited = new Promise((resolve) => demo.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    for (const stream of [demo.stdout, demo.stderr]) createInterface({ input: stream! }).on('line', (l) => output.push(l));
  });
  after(async () => {
    // Whatever a failed test left: the whole group goes.
    if (demo.exitCode === null && demo.signalCode === null) {
      try {
        process.kill(-demo.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const pid of Object.values(state?.processes ?? {})) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('brings /health to 200 within 20 s and prints what to try', async (t) => {
    const started = performance.now();
    await waitForHealth(base, (r) => r.status === 200, 20_000, `demo /health 200; output:\n${output.join('\n')}`);
    t.diagnostic(`/health 200 after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as DemoState;
    assert.equal(state.pid, demo.pid);
    assert.ok(output.some((l) => l.includes(`curl -s ${base}/health`)), output.join('\n'));
    assert.ok(output.some((l) => l.includes("pnpm tail 'ari.>'")));
    assert.ok(output.some((l) => l.includes(`nats sub -s ${state.natsUrl} 'ari.>'`)));
    assert.deepEqual(Object.keys(state.processes).sort(), [
      'ari-gateway', 'ari-simulator', 'audiosocket-echo', 'call-controller-1', 'call-controller-2', 'health', 'nats-server',
    ]);
  });

  it('pnpm tail shows the calls, one readable line per message', async () => {
    // No NATS_URL: tail finds the demo's NATS through its state file.
    const tail = spawn(process.execPath, [`${repoRoot}tools/dist/tail.js`, 'ari.>'], { env: { PATH: process.env.PATH ?? '', DEMO_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    reapOnExit(tail);
    const lines: string[] = [];
    createInterface({ input: tail.stdout }).on('line', (l) => lines.push(l));
    try {
      await waitUntil(() => lines.some((l) => / ari\.event\.ai_app\.pbx1\.StasisStart {2}StasisStart channel=/.test(l))
        && lines.some((l) => / ari\.command\.ai_app\.pbx1\.bridges\.create \(request\) {2}\{"bridgeId":/.test(l)), 10_000, `tail lines; got:\n${lines.slice(0, 20).join('\n')}`);
    } finally {
      tail.kill('SIGTERM');
    }
    assert.equal(await new Promise((r) => tail.once('exit', (code) => r(code))), 0);
  });

  it('counts the calls in /metrics', async () => {
    // /metrics is served from a discovery at most a second or two old.
    await waitUntil(async () => ((await getMetrics(base)).parsed.value('avb_calls_started_total') ?? 0) > 0, 10_000, 'calls counted');
    const { parsed } = await getMetrics(base);
    assert.equal(parsed.value('avb_calls_failed_total'), 0);
    assert.equal(parsed.value('avb_instances', { service: 'call-controller' }), 2);
  });

  it('turns /health 503 naming the gateway within 5 s when it is stopped', async () => {
    process.kill(state.processes['ari-gateway']!, 'SIGTERM');
    const down = await waitForHealth(base, (r) => r.status === 503, 5000, '/health 503');
    assert.ok(down.body.problems.includes('no ari-gateway instance answers'), down.body.problems.join('|'));
  });

  it('stops everything on SIGTERM to its process group, leaving no process and no port', async () => {
    process.kill(-demo.pid!, 'SIGTERM');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
    assert.equal(code, 0, output.slice(-10).join('\n'));
    for (const [name, pid] of Object.entries(state.processes)) assert.ok(!isAlive(pid), `${name} (pid ${pid}) still running`);
    await assert.rejects(fetch(`${base}/health/live`), 'health port closed');
    await assert.rejects(readFile(join(dir, 'state.json')), 'state file removed');
  });
});
