/**
 * `pnpm demo` with DEMO_MEDIA=websocket-server (issue 14): the WebSocket echo server and the
 * media connector instead of the AudioSocket echo, every call set up through media_ready and the
 * echo server's connection, none failed; SIGTERM to the group leaves nothing running.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { getMetrics, waitForHealth } from './harness/health-client.js';
import { natsServerBinary } from './harness/nats-server.js';
import { reapOnExit } from './harness/reaper.js';
import { repoRoot } from './harness/services.js';
import { freePort, isAlive, waitUntil } from './harness/util.js';

describe('pnpm demo with chan_websocket server mode', () => {
  let demo: ChildProcess | undefined;
  let dir: string | undefined;
  let processes: Record<string, number> = {};
  after(async () => {
    if (demo && demo.exitCode === null && demo.signalCode === null) {
      try {
        process.kill(-demo.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const pid of Object.values(processes)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sets calls up through media_ready and the echo server, and stops cleanly', async () => {
    dir = await mkdtemp(join(tmpdir(), 'avb-demo-ws-'));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const output: string[] = [];
    demo = spawn(process.execPath, [`${repoRoot}tools/start.mjs`, 'demo'], {
      detached: true,
      env: { PATH: process.env.PATH ?? '', HEALTH_PORT: String(port), DEMO_DIR: dir, NATS_SERVER_BIN: natsServerBinary(), SIM_CALL_RATE: '5', SIM_HOLD_MS: '4000', DEMO_MEDIA: 'websocket-server' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    reapOnExit(demo);
    const exited = new Promise((resolve) => demo!.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    for (const stream of [demo.stdout, demo.stderr]) createInterface({ input: stream! }).on('line', (l) => output.push(l));

    await waitForHealth(base, (r) => r.status === 200, 20_000, `demo /health 200; output:\n${output.join('\n')}`);
    await waitUntil(() => output.some((l) => /^ {2}media +WebSocket echo on 127\.0\.0\.1:\d+, connecting to ws:\/\/127\.0\.0\.1:\d+\/media\/<connection id>/.test(l)), 5000, `the summary; output:\n${output.join('\n')}`);
    processes = (JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { processes: Record<string, number> }).processes;
    assert.deepEqual(Object.keys(processes).sort(), [
      'ari-gateway', 'ari-simulator', 'call-controller-1', 'call-controller-2', 'health', 'media-connector', 'nats-server', 'websocket-echo',
    ]);
    await waitUntil(async () => ((await getMetrics(base)).parsed.value('avb_calls_started_total') ?? 0) >= 5, 15_000, 'calls started');
    const { parsed } = await getMetrics(base);
    // Callers stay 4 s: long enough that none hangs up while a just-started stack sets it up.
    assert.equal(parsed.value('avb_calls_failed_total'), 0, output.join('\n'));
    assert.equal(parsed.value('avb_controller_media_path_degraded', { transport: 'websocket_server' }), 0);

    process.kill(-demo.pid!, 'SIGTERM');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
    assert.equal(code, 0, output.slice(-10).join('\n'));
    for (const [name, pid] of Object.entries(processes)) assert.ok(!isAlive(pid), `${name} (pid ${pid}) still running`);
  });
});
