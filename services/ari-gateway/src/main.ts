/**
 * ari-gateway composition root: config, logger, NATS, then the features: command endpoint
 * (ARI REST), event relay (ARI WebSocket -> NATS) and connection status. Stops cleanly on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { GatewayConfig, subjects } from '@avb/contracts';
import { connectNats, createLogger, loadConfigOrExit, onShutdown, redactUrl } from '@avb/runtime';
import { ariEndpoint } from './ari-endpoint.js';
import { createAriHttp } from './ari-http.js';
import { startAriSocket } from './ari-socket.js';
import { SERVICE_NAME, startCommandService } from './command-service.js';
import { createEventRelay } from './event-relay.js';
import { createGatewayStats } from './stats.js';
import { createStatusTracker } from './status.js';

/** The backoff starts again from its first step only after a connection lasted this long. */
const STABLE_CONNECTION_MS = 10_000;
/** On SIGTERM, how long in-flight commands get to be answered. */
const COMMAND_DRAIN_MS = 5_000;

const config = loadConfigOrExit(SERVICE_NAME, GatewayConfig, process.env);
const log = createLogger(SERVICE_NAME, config.LOG_LEVEL);
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
const app = config.ARI_APP;
const node = config.ARI_NODE;
const instance = `${hostname()}-${process.pid}`;
const endpoint = ariEndpoint(config.ARI_BASE_URL, app, config.ARI_USER, config.ARI_PASSWORD);

// Registered first so a SIGTERM while NATS is still unreachable also ends with exit 0.
const shutdown = { stop: async (): Promise<void> => undefined };
onShutdown(log, () => shutdown.stop());

log.info({ app, node, instance, ari: redactUrl(endpoint.restBase), version }, 'starting');
const nc = await connectNats({ url: config.NATS_URL, name: `${SERVICE_NAME}-${node}`, log });
const publish = (subject: string, data: Uint8Array) => nc.publish(subject, data);

const stats = createGatewayStats();
const status = createStatusTracker({ app, node, instance, publish, log: log.child({ feature: 'status' }) });
const relay = createEventRelay({ app, node, publish, stats, log: log.child({ feature: 'relay' }) });

const commands = await startCommandService({
  nc, app, node, instance, version, stats,
  ari: createAriHttp({ baseUrl: endpoint.restBase, authorization: endpoint.authorization, timeoutMs: config.ARI_HTTP_TIMEOUT * 1000 }),
  statsData: () => {
    const { state, since, reason } = status.current();
    // Shape: GatewayStatsData in @avb/contracts (read by the health service).
    return { app, node, instance, ari: { state, since, reason }, ...stats.snapshot() };
  },
  log: log.child({ feature: 'commands' }),
});
log.info({ subject: subjects.ariCommands(app, node) }, 'ready');

const socket = startAriSocket({
  url: endpoint.eventsUrl,
  safeUrl: redactUrl(endpoint.eventsUrl),
  authorization: endpoint.authorization,
  pingIntervalMs: config.ARI_PING_INTERVAL_MS,
  handshakeTimeoutMs: config.ARI_HTTP_TIMEOUT * 1000,
  backoff: { minMs: config.ARI_RECONNECT_MIN_MS, maxMs: config.ARI_RECONNECT_MAX_MS },
  stableAfterMs: STABLE_CONNECTION_MS,
  onFrame: (data) => {
    const type = relay.relay(data);
    // Asterisk now sends this app's events to another socket and leaves ours open but silent.
    // Reconnecting would steal the app back and two gateways would take it from each other in
    // turns, so we only report it; if the socket closes later, the normal reconnect loop resumes.
    if (type === 'ApplicationReplaced') status.set('replaced', 'another WebSocket connection took over the ARI application');
  },
  onState: (state, reason) => status.set(state, reason),
  onReconnect: () => stats.reconnected(),
  log: log.child({ feature: 'ari-socket' }),
});

shutdown.stop = async () => {
  await commands.stop(COMMAND_DRAIN_MS);
  await socket.stop();
  await nc.drain();
};
