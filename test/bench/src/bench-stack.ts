/**
 * What every phase runs on: the test harness's stack (private nats-server with JetStream, the
 * ARI simulator, the echo server, one gateway and controllers as real processes) plus the
 * direct-ARI reference as its own process on the same simulator, under another ARI app.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { reapOnExit } from '@avb/test/harness/reaper';
import { ARI_PASSWORD, ARI_USER, startStack, type Stack } from '@avb/test/harness/stack';
import { waitUntil } from '@avb/test/harness/util';

export const DIRECT_APP = 'direct_app';

export interface BenchStack {
  stack: Stack;
  direct: ChildProcess;
  stop(): Promise<void>;
}

export async function startBenchStack(logLevel: string): Promise<BenchStack> {
  const quiet = { LOG_LEVEL: logLevel };
  // The simulator's request and frame logs are capped: a bench run sends millions of frames.
  const stack = await startStack({ controllers: 1, jetstream: true, gatewayEnv: quiet, controllerEnv: quiet, simLogLimit: 400_000 });
  let direct: ChildProcess;
  try {
    direct = await startDirect(stack);
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return {
    stack,
    direct,
    async stop() {
      const exited = new Promise((r) => direct.once('exit', r));
      if (direct.exitCode === null) direct.kill('SIGTERM');
      await exited;
      await stack.stop();
    },
  };
}

async function startDirect(stack: Stack): Promise<ChildProcess> {
  const nodeArgs = process.env.AVB_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, fileURLToPath(new URL('./direct-ari.js', import.meta.url))], {
    env: {
      PATH: process.env.PATH ?? '',
      ARI_BASE_URL: stack.sim.baseUrl,
      ARI_USER,
      ARI_PASSWORD,
      ARI_APP: DIRECT_APP,
      AUDIOSOCKET_HOST: '127.0.0.1',
      AUDIOSOCKET_PORT: String(stack.echo.port),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  reapOnExit(child);
  let ready = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.includes('"ready"')) ready = true;
  });
  await waitUntil(() => ready || child.exitCode !== null, 10_000, 'direct-ARI reference ready');
  if (!ready) throw new Error(`direct-ARI reference exited with ${child.exitCode}`);
  await stack.sim.waitFor(() => stack.sim.connections(DIRECT_APP) === 1, 5000, 'direct reference WebSocket');
  return child;
}
