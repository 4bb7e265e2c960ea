/**
 * What every phase runs on: the test harness's stack (private nats-server with JetStream, the
 * ARI simulator, one gateway and controllers as real processes) plus, as processes of their
 * own, the AudioSocket echo server the media channels connect to (10,000 held calls are 20,000
 * sockets: too many for one process) and the direct-ARI reference, on the same simulator under
 * another ARI app.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { reapOnExit } from '@avb/test/harness/reaper';
import { repoRoot } from '@avb/test/harness/services';
import { ARI_PASSWORD, ARI_USER, startStack, type Stack } from '@avb/test/harness/stack';
import { freePort, waitUntil } from '@avb/test/harness/util';

export const DIRECT_APP = 'direct_app';

export interface BenchStack {
  stack: Stack;
  echo: ChildProcess;
  direct: ChildProcess;
  stop(): Promise<void>;
}

export async function startBenchStack(logLevel: string): Promise<BenchStack> {
  const children: ChildProcess[] = [];
  const stopChildren = () => Promise.all(children.map(stopChild));
  const echoPort = await freePort();
  // No 20 ms frames: media goes from Asterisk to the media server, never through our services.
  const echo = await startChild(
    `${repoRoot}test/ari-simulator/dist/echo-main.js`,
    { AUDIOSOCKET_HOST: '127.0.0.1', AUDIOSOCKET_PORT: String(echoPort), AUDIOSOCKET_FRAME_MS: '0' },
    'listening',
  );
  children.push(echo);
  const serviceEnv = { LOG_LEVEL: logLevel };
  let stack: Stack;
  try {
    stack = await startStack({
      controllers: 1,
      gatewayEnv: serviceEnv,
      // SETUP_CONCURRENCY passes through, for A/B runs of the controller's admission.
      controllerEnv: { ...serviceEnv, AUDIOSOCKET_PORT: String(echoPort), ...(process.env.SETUP_CONCURRENCY ? { SETUP_CONCURRENCY: process.env.SETUP_CONCURRENCY } : {}) },
      // A bench run sends millions of frames and logs a line or two per call.
      simLogLimit: 20_000,
      maxLogLines: 2_000,
    });
  } catch (err) {
    await stopChildren();
    throw err;
  }
  try {
    const direct = await startChild(fileURLToPath(new URL('./direct-ari.js', import.meta.url)), {
      ARI_BASE_URL: stack.sim.baseUrl,
      ARI_USER,
      ARI_PASSWORD,
      ARI_APP: DIRECT_APP,
      AUDIOSOCKET_HOST: '127.0.0.1',
      AUDIOSOCKET_PORT: String(echoPort),
    }, 'ready');
    children.push(direct);
    await stack.sim.waitFor(() => stack.sim.connections(DIRECT_APP) === 1, 5000, 'direct reference WebSocket');
    return {
      stack, echo, direct,
      async stop() {
        await stopChild(direct);
        await stack.stop();
        await stopChild(echo);
      },
    };
  } catch (err) {
    await stopChildren();
    await stack.stop();
    throw err;
  }
}

/** Runs `node <script>` (with AVB_NODE_ARGS) and resolves once it prints a line containing `ready`. */
async function startChild(script: string, env: Record<string, string>, readyWord: string): Promise<ChildProcess> {
  const nodeArgs = process.env.AVB_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  reapOnExit(child);
  let ready = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.includes(`"${readyWord}"`)) ready = true;
  });
  await waitUntil(() => ready || child.exitCode !== null, 10_000, `${script} ${readyWord}`);
  if (!ready) throw new Error(`${script} exited with ${child.exitCode}`);
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
