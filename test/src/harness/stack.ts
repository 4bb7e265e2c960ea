/**
 * The whole system on loopback for a test: a private nats-server, the ARI simulator, the
 * AudioSocket echo server, one ari-gateway and N call-controllers as real processes.
 */
import { AriSimulator, AudioSocketEcho, type SimulatorOptions } from '@avb/ari-simulator';
import { connect, type NatsConnection } from 'nats';
import type { NatsCluster } from './nats-cluster.js';
import { startNatsServer, type NatsServer } from './nats-server.js';
import { logMsg, startService, type ServiceProcess } from './services.js';

export const APP = 'ai_app';
export const NODE = 'pbx1';
export const ARI_USER = 'avb';
/** A recognisable secret: tests assert it never appears in any log line. */
export const ARI_PASSWORD = 'S3cr3t-ari-pw-4711';

export interface StackOptions {
  /** Run on this NATS cluster (the caller starts and stops it) instead of a private server. */
  cluster?: NatsCluster;
  controllers?: number;
  controllerEnv?: Record<string, string>;
  gatewayEnv?: Record<string, string>;
  simLatencyMs?: number;
  /** Cap on the simulator's request and frame logs (default: the simulator's own, 200000). */
  simLogLimit?: number;
  /** Log lines kept per service process (default: all). */
  maxLogLines?: number;
  /** More simulator options (chan_websocket clients, caller audio, connect timeout). */
  simOptions?: SimulatorOptions;
  /** The AudioSocket echo server's own frames: one every this many ms per session (default 20; 0: echo only). */
  echoFrameMs?: number;
}

export interface Stack {
  /** The private server; on a cluster, its first server. */
  nats: NatsServer;
  /** What the services' NATS_URL is (every server of a cluster). */
  natsUrl: string;
  /** Replaced by restartSim(). */
  sim: AriSimulator;
  echo: AudioSocketEcho;
  /** The first gateway (it holds the node's lease unless it was stopped). */
  gateway: ServiceProcess;
  gateways: ServiceProcess[];
  controllers: ServiceProcess[];
  nc: NatsConnection;
  startController(env?: Record<string, string>): Promise<ServiceProcess>;
  /** Another gateway for the node: it waits as standby while one holds the lease. */
  startGateway(env?: Record<string, string>): Promise<ServiceProcess>;
  /** Stops the simulator (an Asterisk restart) and starts a fresh one on the same port. */
  restartSim(): Promise<AriSimulator>;
  /** Every log line of every service process started so far. */
  allLogLines(): string[];
  stop(): Promise<void>;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanUp = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  };
  try {
    return await launch(opts, cleanups, cleanUp);
  } catch (err) {
    // A half-started stack must not outlive the failed `before` that started it.
    await cleanUp();
    throw err;
  }
}

async function launch(
  opts: StackOptions,
  cleanups: Array<() => Promise<unknown>>,
  cleanUp: () => Promise<void>,
): Promise<Stack> {
  let nats: NatsServer;
  if (opts.cluster) nats = opts.cluster.nodes[0]!.server;
  else {
    const own = await startNatsServer();
    cleanups.push(() => own.stop());
    nats = own;
  }
  const natsUrl = opts.cluster?.url ?? nats.url;
  const sim = await AriSimulator.start({
    ...opts.simOptions,
    username: ARI_USER,
    password: ARI_PASSWORD,
    latencyMs: opts.simLatencyMs ?? 0,
    ...(opts.simLogLimit === undefined ? {} : { logLimit: opts.simLogLimit }),
  });
  cleanups.push(() => sim.stop());
  const echo = await AudioSocketEcho.start({ host: '127.0.0.1', port: 0, ...(opts.echoFrameMs === undefined ? {} : { frameMs: opts.echoFrameMs }) });
  cleanups.push(() => echo.stop());
  const processes: ServiceProcess[] = [];
  const logOpts = opts.maxLogLines === undefined ? {} : { maxLines: opts.maxLogLines };
  cleanups.push(() => Promise.all(processes.map((p) => p.stop('SIGTERM', 5000))));

  const gateways: ServiceProcess[] = [];
  const startGateway = async (env: Record<string, string> = {}) => {
    const gateway = startService('ari-gateway', {
      NATS_URL: natsUrl,
      ARI_BASE_URL: sim.baseUrl,
      ARI_USER,
      ARI_PASSWORD,
      ARI_APP: APP,
      ARI_NODE: NODE,
      ARI_HTTP_TIMEOUT: '2',
      ARI_RECONNECT_MIN_MS: '50',
      ARI_RECONNECT_MAX_MS: '1000',
      LOG_LEVEL: 'debug',
      ...opts.gatewayEnv,
      ...env,
    }, logOpts);
    processes.push(gateway);
    gateways.push(gateway);
    await gateway.waitForLog(logMsg('ready'), 15_000, 'gateway ready');
    return gateway;
  };
  const gateway = await startGateway();
  await gateway.waitForLog(logMsg('ARI connected'), 15_000, 'ARI connected');

  const startController = async (env: Record<string, string> = {}) => {
    const controller = startService('call-controller', {
      NATS_URL: natsUrl,
      ARI_APP: APP,
      AUDIOSOCKET_HOST: '127.0.0.1',
      AUDIOSOCKET_PORT: String(echo.port),
      ARI_HTTP_TIMEOUT: '2',
      LOG_LEVEL: 'debug',
      ...opts.controllerEnv,
      ...env,
    }, logOpts);
    processes.push(controller);
    await controller.waitForLog(logMsg('ready'), 15_000, 'controller ready');
    return controller;
  };
  const controllers: ServiceProcess[] = [];
  for (let i = 0; i < (opts.controllers ?? 1); i++) controllers.push(await startController());

  const nc = await connect({ servers: natsUrl.split(','), name: 'test', ...(opts.cluster ? { maxReconnectAttempts: -1, reconnectTimeWait: 200 } : {}) });
  cleanups.push(() => nc.close());
  const stack: Stack = {
    nats, natsUrl, sim, echo, gateway, gateways, controllers, nc, startController, startGateway,
    async restartSim() {
      const port = stack.sim.port;
      await stack.sim.stop();
      stack.sim = await AriSimulator.start({ ...opts.simOptions, port, username: ARI_USER, password: ARI_PASSWORD, latencyMs: opts.simLatencyMs ?? 0 });
      cleanups.push(() => stack.sim.stop());
      return stack.sim;
    },
    allLogLines: () => processes.flatMap((p) => p.lines.map((l) => l.raw)),
    async stop() {
      reportTrouble(processes);
      await cleanUp();
    },
  };
  return stack;
}

/** Resolves once the simulator holds no channel and no bridge: the call flow leaked nothing. */
export async function nothingLeft(sim: AriSimulator, what: string, timeoutMs = 10_000): Promise<void> {
  try {
    await sim.waitFor(() => sim.channels().length === 0 && sim.bridges().length === 0, timeoutMs, `nothing left after ${what}`);
  } catch (err) {
    const channels = sim.channels().map((c) => `${c.id} ${c.name} ${c.state}`);
    const bridges = sim.bridges().map((b) => `${b.id} ${b.name} [${b.channels.join(',')}]`);
    throw new Error(`${(err as Error).message}; left: channels ${JSON.stringify(channels.slice(0, 10))} (${channels.length}), bridges ${JSON.stringify(bridges.slice(0, 10))} (${bridges.length})`);
  }
}

/** Lines worth seeing when a test failed: errors, and a gateway giving up its lease. */
const TROUBLE = (line: { json: Record<string, unknown> | undefined }) =>
  typeof line.json?.level === 'number' && (line.json.level >= 50 || line.json.msg === 'gateway lease lost');

/** Writes the services' troubling log lines (at most 20) to stderr, which test runs keep. */
function reportTrouble(processes: ServiceProcess[]): void {
  const lines = processes.flatMap((p) => p.lines.filter(TROUBLE).map((l) => `[${p.name}] ${l.raw}`));
  if (lines.length === 0) return;
  process.stderr.write(`stack: ${lines.length} error or lease-lost log lines, the first 20:\n${lines.slice(0, 20).join('\n')}\n`);
}
