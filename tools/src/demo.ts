/**
 * `pnpm demo`: the whole system on this machine, no Docker. NATS (a reachable NATS_URL, or a
 * nats-server with JetStream on a free port), the ARI simulator placing calls, the AudioSocket
 * echo server, one ari-gateway, DEMO_CONTROLLERS call-controllers and health on HEALTH_PORT.
 * Ctrl-C, or SIGTERM to it or its process group, stops every one of them and leaves nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '@avb/contracts';
import { startChild, pinoMsg, statusLine, type Child } from './children.js';
import { DemoConfig } from './demo-config.js';
import { defaultDemoDir, readDemoState, removeDemoState, repoRoot, writeDemoState } from './demo-state.js';
import { watchHealth } from './health-watch.js';
import { ensureNats, findNatsServer } from './nats-server.js';
import { freePort, portIsFree } from './ports.js';
import type { ChildProcess } from 'node:child_process';

const READY_MS = 20_000;
const SERVICE_GRACE_MS = 12_000;
const NATS_GRACE_MS = 5_000;

const say = (line: string) => process.stdout.write(`${line}\n`);
const fail = (line: string): never => {
  process.stderr.write(`demo: ${line}\n`);
  process.exit(1);
};

const parsed = parseConfig(DemoConfig, process.env);
if (!parsed.ok) fail(`invalid configuration:\n  ${parsed.problems.join('\n  ')}`);
const config = (parsed as { ok: true; config: DemoConfig }).config;
const dir = config.DEMO_DIR ?? defaultDemoDir();
const logDir = join(dir, 'logs');
mkdirSync(logDir, { recursive: true });

const previous = readDemoState(dir);
if (previous && isAlive(previous.pid)) fail(`a demo is already running (pid ${previous.pid}, health ${previous.healthUrl}); stop it first`);
if (!(await portIsFree(config.HEALTH_HOST, config.HEALTH_PORT))) {
  fail(`port ${config.HEALTH_PORT} on ${config.HEALTH_HOST} is in use; choose another with HEALTH_PORT=...`);
}

const children: Child[] = [];
let natsProc: ChildProcess | undefined;
let stopping = false;
const onExit = (child: Child, result: number | string) => {
  if (!stopping) say(`demo: ${child.name} (pid ${child.proc.pid}) exited (${result}); see ${child.logFile}`);
};
// Last resort if the demo itself dies: nothing it started may outlive it.
process.on('exit', () => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  if (natsProc && natsProc.exitCode === null && natsProc.signalCode === null) natsProc.kill('SIGKILL');
});

async function stopAll(): Promise<void> {
  stopping = true;
  await Promise.all(children.map((c) => c.stop(SERVICE_GRACE_MS)));
  const nats = natsProc;
  if (nats && nats.exitCode === null && nats.signalCode === null) {
    const exited = new Promise((r) => nats.once('exit', r));
    nats.kill('SIGTERM');
    const timer = setTimeout(() => nats.kill('SIGKILL'), NATS_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
  removeDemoState(dir);
}

let signals = 0;
const onSignal = (signal: NodeJS.Signals) => {
  signals += 1;
  if (signals > 1) {
    say(`demo: ${signal} again, killing everything`);
    process.exit(1); // the 'exit' handler SIGKILLs what is left
  }
  say(`demo: ${signal}, stopping everything...`);
  watch?.stop();
  stopAll().then(() => {
    say('demo: stopped, nothing left running');
    process.exit(0);
  }, (err: unknown) => {
    say(`demo: stop failed: ${(err as Error).message}`);
    process.exit(1);
  });
};
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
let watch: ReturnType<typeof watchHealth> | undefined;

const node = process.execPath;
const env = (extra: Record<string, string>) => ({ PATH: process.env.PATH ?? '', LOG_LEVEL: config.LOG_LEVEL, ...extra });
const start = (name: string, script: string, extra: Record<string, string>) => {
  const child = startChild({ name, command: node, args: [join(repoRoot, script)], env: env(extra), logDir, onExit });
  children.push(child);
  return child;
};

try {
  const startedAt = performance.now();
  const nats = await ensureNats({
    natsUrl: config.NATS_URL,
    bin: findNatsServer(process.env.PATH ?? '', config.NATS_SERVER_BIN),
    freePort,
    logFile: join(logDir, 'nats-server.log'),
  });
  natsProc = nats.proc;
  const natsUrl = nats.url;
  const simPort = config.SIM_PORT || (await freePort());
  const mediaPort = config.AUDIOSOCKET_PORT || (await freePort());
  const ariUser = 'demo';
  // A fresh secret per run; it is never printed.
  const ariPassword = randomBytes(12).toString('base64url');
  const ariUrl = `http://127.0.0.1:${simPort}/ari`;

  const sim = start('ari-simulator', 'test/ari-simulator/dist/main.js', {
    SIM_HOST: '127.0.0.1', SIM_PORT: String(simPort), SIM_APP: config.ARI_APP, ARI_USER: ariUser, ARI_PASSWORD: ariPassword,
    SIM_CALL_RATE: String(config.SIM_CALL_RATE), SIM_HOLD_MS: String(config.SIM_HOLD_MS),
  });
  const echo = start('audiosocket-echo', 'test/ari-simulator/dist/echo-main.js', { AUDIOSOCKET_HOST: '127.0.0.1', AUDIOSOCKET_PORT: String(mediaPort) });
  await Promise.all([sim.waitForLine(statusLine('listening'), READY_MS), echo.waitForLine(statusLine('listening'), READY_MS)]);

  const gateway = start('ari-gateway', 'services/ari-gateway/dist/main.js', {
    NATS_URL: natsUrl, ARI_BASE_URL: ariUrl, ARI_USER: ariUser, ARI_PASSWORD: ariPassword, ARI_APP: config.ARI_APP, ARI_NODE: config.ARI_NODE,
  });
  const controllers = Array.from({ length: config.DEMO_CONTROLLERS }, (_, i) =>
    start(`call-controller-${i + 1}`, 'services/call-controller/dist/main.js', {
      NATS_URL: natsUrl, ARI_APP: config.ARI_APP, AUDIOSOCKET_HOST: '127.0.0.1', AUDIOSOCKET_PORT: String(mediaPort),
    }));
  const health = start('health', 'services/health/dist/main.js', {
    NATS_URL: natsUrl, HEALTH_PORT: String(config.HEALTH_PORT), HEALTH_HOST: config.HEALTH_HOST,
  });
  await Promise.all([
    gateway.waitForLine(pinoMsg('ready'), READY_MS),
    ...controllers.map((c) => c.waitForLine(pinoMsg('ready'), READY_MS)),
    health.waitForLine(pinoMsg('listening'), READY_MS),
  ]);

  const healthHost = config.HEALTH_HOST === '0.0.0.0' ? 'localhost' : config.HEALTH_HOST;
  const healthUrl = `http://${healthHost}:${config.HEALTH_PORT}`;
  const processes: Record<string, number> = Object.fromEntries(children.map((c) => [c.name, c.proc.pid ?? -1]));
  if (natsProc?.pid) processes['nats-server'] = natsProc.pid;
  writeDemoState(dir, { pid: process.pid, natsUrl, healthUrl, ariUrl, processes });

  say('');
  say('ari-voice-backend demo is running. Ctrl-C stops all of it.');
  say(`  nats         ${natsUrl}${natsProc ? ' (nats-server started for the demo, JetStream on)' : ' (already running)'}`);
  say(`  asterisk     ${ariUrl} (ARI simulator: ${config.SIM_CALL_RATE} calls/s, each held ${config.SIM_HOLD_MS} ms)`);
  say(`  media        127.0.0.1:${mediaPort} (AudioSocket echo)`);
  say(`  services     ${children.filter((c) => !['ari-simulator', 'audiosocket-echo'].includes(c.name)).map((c) => `${c.name} (pid ${c.proc.pid})`).join(', ')}`);
  say(`  logs         ${logDir}/<service>.log`);
  say('');
  say('Try:');
  say(`  curl -s ${healthUrl}/health`);
  say(`  curl -s ${healthUrl}/metrics`);
  say(`  pnpm tail 'ari.>'              # or: nats sub -s ${natsUrl} 'ari.>'`);
  say(`  pnpm tail 'call.>'`);
  say(`  kill ${gateway.proc.pid}                  # stop the gateway: /health turns 503 and names it`);
  say('');

  watch = watchHealth(`${healthUrl}/health`, 1000, READY_MS, say);
  const ok = await watch.firstOk;
  if (ok) say(`demo: /health is ok, ${((performance.now() - startedAt) / 1000).toFixed(1)} s after start`);
  else if (!stopping) say(`demo: /health is not ok after ${READY_MS / 1000} s; see ${logDir}`);
} catch (err) {
  if (!stopping) {
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    await stopAll();
    process.exit(1);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
