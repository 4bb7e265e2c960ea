/**
 * `pnpm demo`: the whole system on this machine, no Docker. NATS (a reachable NATS_URL, or a
 * nats-server with JetStream on a free port), the ARI simulator placing calls, the AudioSocket
 * echo server (or the WebSocket one: DEMO_MEDIA, see demo-media.ts), one ari-gateway,
 * DEMO_CONTROLLERS call-controllers and health on HEALTH_PORT.
 * Ctrl-C, or SIGTERM to it or its process group, stops every one of them and leaves nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '@avb/contracts';
import { startChild, pinoMsg, statusLine, type Child } from './children.js';
import { DemoConfig } from './demo-config.js';
import { demoMedia } from './demo-media.js';
import { createDemoOutput } from './demo-output.js';
import { defaultDemoDir, readDemoState, removeDemoState, repoRoot, writeDemoState } from './demo-state.js';
import { watchHealth } from './health-watch.js';
import { ensureNats, findNatsServer } from './nats-server.js';
import { freePort, portIsFree } from './ports.js';
import type { ChildProcess } from 'node:child_process';

const READY_MS = 20_000;
/** Stand-ins for Asterisk and the media server: stopped after the services. */
const MEDIA_SIDE = ['ari-simulator', 'audiosocket-echo', 'websocket-echo'];
const SERVICE_GRACE_MS = 12_000;
const NATS_GRACE_MS = 5_000;

const fail = (line: string): never => {
  process.stderr.write(`demo: ${line}\n`);
  process.exit(1);
};
const parsed = parseConfig(DemoConfig, process.env);
if (!parsed.ok) fail(`invalid configuration:\n  ${parsed.problems.join('\n  ')}`);
const config = (parsed as { ok: true; config: DemoConfig }).config;
const out = createDemoOutput((text) => process.stdout.write(text), Boolean(process.stdout.isTTY) && config.NO_COLOR === undefined);
const say = out.say;
/** How this demo was started decides how the hints say to run `tail`. */
const pnpm = config.PNPMW ? './pnpmw' : 'pnpm';
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
  if (!stopping) say(`${child.name} (pid ${child.proc.pid}) exited (${result}); see ${child.logFile}`);
};
// Last resort if the demo itself dies: nothing it started may outlive it.
process.on('exit', () => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  if (natsProc && natsProc.exitCode === null && natsProc.signalCode === null) natsProc.kill('SIGKILL');
});

async function stopAll(): Promise<void> {
  stopping = true;
  out.quiet();
  // Services first, so none of them sees its ARI or media go away and warns about it.
  const others = new Set(MEDIA_SIDE);
  await Promise.all(children.filter((c) => !others.has(c.name)).map((c) => c.stop(SERVICE_GRACE_MS)));
  await Promise.all(children.filter((c) => others.has(c.name)).map((c) => c.stop(SERVICE_GRACE_MS)));
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

/** A package manager passes the terminal's Ctrl-C on to us as well: a second signal this soon is the same one. */
const SAME_SIGNAL_MS = 1000;
let firstSignalAt: number | undefined;
const onSignal = (signal: NodeJS.Signals) => {
  if (firstSignalAt !== undefined) {
    if (Date.now() - firstSignalAt < SAME_SIGNAL_MS) return;
    say(`${signal} again, killing everything`);
    process.exit(1); // the 'exit' handler SIGKILLs what is left
  }
  firstSignalAt = Date.now();
  say(`${signal}, stopping everything...`);
  watch?.stop();
  stopAll().then(() => {
    say('stopped, nothing left running');
    process.exit(0);
  }, (err: unknown) => {
    say(`stop failed: ${(err as Error).message}`);
    process.exit(1);
  });
};
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
let watch: ReturnType<typeof watchHealth> | undefined;

const node = process.execPath;
const env = (extra: Record<string, string>) => ({ PATH: process.env.PATH ?? '', LOG_LEVEL: config.LOG_LEVEL, ...extra });
const start = (name: string, script: string, extra: Record<string, string>) => {
  const child = startChild({
    name, command: node, args: [join(repoRoot, script)], env: env(extra), logDir, onExit,
    onLine: (line) => out.processLine(name, line),
  });
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
  const media = demoMedia(config.DEMO_MEDIA, { media: mediaPort, sim: simPort }, config.ARI_APP);

  const sim = start('ari-simulator', 'test/ari-simulator/dist/main.js', {
    SIM_HOST: '127.0.0.1', SIM_PORT: String(simPort), SIM_APP: config.ARI_APP, ARI_USER: ariUser, ARI_PASSWORD: ariPassword,
    SIM_CALL_RATE: String(config.SIM_CALL_RATE), SIM_HOLD_MS: String(config.SIM_HOLD_MS), ...media.simEnv,
  });
  const echo = start(media.echo.name, media.echo.script, media.echo.env);
  await Promise.all([sim.waitForLine(statusLine('listening'), READY_MS), echo.waitForLine(statusLine('listening'), READY_MS)]);

  const gateway = start('ari-gateway', 'services/ari-gateway/dist/main.js', {
    NATS_URL: natsUrl, ARI_BASE_URL: ariUrl, ARI_USER: ariUser, ARI_PASSWORD: ariPassword, ARI_APP: config.ARI_APP, ARI_NODE: config.ARI_NODE,
  });
  // The gateway makes the event stream the controllers read: starting them once it holds the
  // node's lease (which comes after the stream) spares them a start-up race.
  await gateway.waitForLine(pinoMsg('gateway lease acquired'), READY_MS);
  const controllers = Array.from({ length: config.DEMO_CONTROLLERS }, (_, i) =>
    start(`call-controller-${i + 1}`, 'services/call-controller/dist/main.js', {
      NATS_URL: natsUrl, ARI_APP: config.ARI_APP, ...media.controllerEnv,
    }));
  const connector = media.connector && start(media.connector.name, media.connector.script, { NATS_URL: natsUrl, ...media.connector.env });
  const health = start('health', 'services/health/dist/main.js', {
    NATS_URL: natsUrl, HEALTH_PORT: String(config.HEALTH_PORT), HEALTH_HOST: config.HEALTH_HOST,
  });
  await Promise.all([
    ...controllers.map((c) => c.waitForLine(pinoMsg('ready'), READY_MS)),
    health.waitForLine(pinoMsg('ready'), READY_MS),
    ...(connector ? [connector.waitForLine(statusLine('ready'), READY_MS)] : []),
  ]);

  const healthHost = config.HEALTH_HOST === '0.0.0.0' ? 'localhost' : config.HEALTH_HOST;
  const healthUrl = `http://${healthHost}:${config.HEALTH_PORT}`;
  const processes: Record<string, number> = Object.fromEntries(children.map((c) => [c.name, c.proc.pid ?? -1]));
  if (natsProc?.pid) processes['nats-server'] = natsProc.pid;
  writeDemoState(dir, { pid: process.pid, natsUrl, healthUrl, ariUrl, processes });

  // The summary comes once /health is ok (or has had its time), below the start-up lines.
  watch = watchHealth({ url: `${healthUrl}/health`, intervalMs: 1000, timeoutMs: READY_MS, summaryMs: 10_000, print: say });
  const ok = await watch.firstOk;
  if (stopping) throw new Error('stopped');
  const after = `${((performance.now() - startedAt) / 1000).toFixed(1)} s after start`;
  const services = children.filter((c) => !MEDIA_SIDE.includes(c.name));
  const lines = [
    '',
    'ari-voice-backend demo is running. Ctrl-C stops all of it.',
    `  health       ${healthUrl}/health ${ok ? `ok, ${after}` : `not ok after ${READY_MS / 1000} s (the lines above say why)`}`,
    `  nats         ${natsUrl}${natsProc ? ' (nats-server started for the demo, JetStream on)' : ' (already running)'}`,
    `  asterisk     ${ariUrl} (ARI simulator: ${config.SIM_CALL_RATE} calls/s, each held ${config.SIM_HOLD_MS / 1000} s)`,
    `  media        ${media.describe}`,
    `  services     ${services.map((c) => `${c.name} (pid ${c.proc.pid})`).join(', ')}`,
    `  logs         ${logDir}/<service>.log (JSON, as the services write it; warnings and start-up show here)`,
    '',
    'Try:',
    ...alignComments([
      [`curl -s ${healthUrl}/health`, 'the verdict, every instance, the calls'],
      [`curl -s ${healthUrl}/metrics`, 'Prometheus text'],
      [`${pnpm} tail 'call.>'`, 'each call: started, ended or failed, with caller, setup time and cause'],
      [`${pnpm} tail 'ari.>'`, `ARI events, and each command with its reply (or: nats sub -s ${natsUrl} 'ari.>')`],
      [`kill ${gateway.proc.pid}`, 'stop the gateway: /health turns 503 and names it'],
    ]),
    '',
  ];
  for (const line of lines) out.raw(line);
} catch (err) {
  if (!stopping) {
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    await stopAll();
    process.exit(1);
  }
}

/** `  command   # comment` lines with the comments in one column. */
function alignComments(rows: Array<[string, string]>): string[] {
  const width = Math.max(...rows.map(([cmd]) => cmd.length)) + 2;
  return rows.map(([cmd, comment]) => `  ${cmd.padEnd(width)}# ${comment}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
