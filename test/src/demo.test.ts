/**
 * `pnpm demo` as a user runs it (its own process group, a free HEALTH_PORT, through the same
 * launcher the script uses): /health ok within 20 s, human lines only, `pnpm tail` shows the
 * calls and the commands with their replies, stopping the gateway turns /health 503 naming it,
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
import { freePort, isAlive, waitUntil } from './harness/util.js';

interface DemoState {
  pid: number;
  natsUrl: string;
  healthUrl: string;
  processes: Record<string, number>;
}

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
    demo = spawn(process.execPath, [`${repoRoot}tools/start.mjs`, 'demo'], {
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

  it('brings /health to 200 within 20 s and prints what to try, in human lines only', async (t) => {
    const started = performance.now();
    await waitForHealth(base, (r) => r.status === 200, 20_000, `demo /health 200; output:\n${output.join('\n')}`);
    t.diagnostic(`/health 200 after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    // The summary comes once the demo saw /health ok itself.
    await waitUntil(() => output.some((l) => l.includes(`curl -s ${base}/health`)), 5000, `the summary; output:\n${output.join('\n')}`);
    state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as DemoState;
    assert.equal(state.pid, demo.pid);
    assert.ok(output.some((l) => l.includes("pnpm tail 'ari.>'")));
    assert.ok(output.some((l) => l.includes("pnpm tail 'call.>'")));
    assert.ok(output.some((l) => l.includes(`nats sub -s ${state.natsUrl} 'ari.>'`)));
    assert.ok(output.some((l) => / ari-gateway +INFO +ARI connected/.test(l)), output.join('\n'));
    t.diagnostic(`first lines:\n${output.slice(0, 40).join('\n')}`);
    for (const line of output) {
      assert.ok(!line.trimStart().startsWith('{'), `raw JSON: ${line}`);
      assert.ok(!/\bservice=|\bname=|^\s+at /.test(line), `a field every line carries, or a stack: ${line}`);
    }
    assert.deepEqual(Object.keys(state.processes).sort(), [
      'ari-gateway', 'ari-simulator', 'audiosocket-echo', 'call-controller-1', 'call-controller-2', 'health', 'nats-server',
    ]);
  });

  /** `pnpm tail` as the script runs it; its first line (stderr) is timed. */
  const startTail = (...args: string[]) => {
    const started = performance.now();
    // No NATS_URL: tail finds the demo's NATS through its state file.
    const tail = spawn(process.execPath, [`${repoRoot}tools/start.mjs`, 'tail', ...args], { env: { PATH: process.env.PATH ?? '', DEMO_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    reapOnExit(tail);
    const lines: string[] = [];
    const firstLine = new Promise<{ line: string; ms: number }>((resolve) => {
      createInterface({ input: tail.stderr }).once('line', (line) => resolve({ line, ms: performance.now() - started }));
    });
    createInterface({ input: tail.stdout }).on('line', (l) => lines.push(l));
    const exited = new Promise<number | string>((r) => tail.once('exit', (code, signal) => r(code ?? signal ?? 'unknown')));
    return { tail, lines, firstLine, exited };
  };

  it("pnpm tail 'ari.>' shows events and each command with its reply, and stops cleanly on Ctrl-C", async (t) => {
    const { tail, lines, firstLine, exited } = startTail('ari.>');
    const first = await firstLine;
    t.diagnostic(`first line after ${first.ms.toFixed(0)} ms: ${first.line}`);
    assert.match(first.line, /^tail: ari\.> on nats:\/\/127\.0\.0\.1:\d+ /);
    assert.ok(first.ms < 1000, `first line after ${first.ms} ms`);
    try {
      await waitUntil(() => lines.some((l) => / pbx1 StasisStart +channel=\S+ Local\//.test(l))
        && lines.some((l) => / pbx1 bridges\.create +bridgeId=\S+ type=mixing .*-> ok id=\S+ \(\d+(\.\d)? ms\)$/.test(l))
        && lines.some((l) => / pbx1 channels\.answer +channelId=\S+ -> ok \(/.test(l)), 10_000, `tail lines; got:\n${lines.slice(0, 30).join('\n')}`);
    } finally {
      tail.kill('SIGINT');
    }
    assert.equal(await exited, 0, 'Ctrl-C is a clean exit');
    t.diagnostic(lines.slice(0, 12).join('\n'));
    for (const line of lines) assert.match(line, /^\d\d:\d\d:\d\d\.\d{3} \S+ \S+ +\S/, 'every line says something');
  });

  it("pnpm tail 'call.>' shows each call on one line; --json gives the raw messages", async (t) => {
    const human = startTail('call.>');
    const json = startTail('call.>', '--json');
    try {
      await waitUntil(() => human.lines.some((l) => / pbx1 call ended +session=[0-9a-f-]{36} caller=\S+.* setup=[\d.]+ ms cause=caller_hangup channel=\S+$/.test(l))
        && json.lines.length > 0, 10_000, `call lines; got:\n${human.lines.join('\n')}`);
    } finally {
      human.tail.kill('SIGINT');
      json.tail.kill('SIGINT');
    }
    t.diagnostic(human.lines.slice(0, 6).join('\n'));
    const raw = JSON.parse(json.lines[0]!) as { subject: string; data: { kind: string; sessionId: string } };
    assert.match(raw.subject, /^call\.event\.ai_app\.pbx1\.(started|ended|failed)$/);
    assert.equal(raw.subject.split('.').at(-1), raw.data.kind);
    assert.deepEqual([await human.exited, await json.exited], [0, 0]);
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
