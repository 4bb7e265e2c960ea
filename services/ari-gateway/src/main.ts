/**
 * ari-gateway composition root: config, logger, NATS, then the features: command endpoint
 * (ARI REST, served by every gateway of a node), the JetStream topology, the node's lease and,
 * while this gateway holds it, the event relay (ARI WebSocket -> NATS and the event stream).
 * Stops cleanly on SIGTERM, releasing the lease so a standby takes over at once.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { GatewayConfig, subjects } from '@avb/contracts';
import {
  connectNats, createLogger, ensureCallConsumers, ensureEventStream, loadConfigOrExit, onShutdown, redactUrl, untilDone,
} from '@avb/runtime';
import { ariEndpoint } from './ari-endpoint.js';
import { createAriHttp } from './ari-http.js';
import { startAriSocket, type AriSocket } from './ari-socket.js';
import { SERVICE_NAME, startCommandService } from './command-service.js';
import { createEventRelay } from './event-relay.js';
import { startLease, type Lease } from './gateway-lease.js';
import { createGatewayStats } from './stats.js';
import { createStatusTracker } from './status.js';
import { createStreamPublisher } from './stream-publisher.js';

/** The backoff starts again from its first step only after a connection lasted this long. */
const STABLE_CONNECTION_MS = 10_000;
/** On SIGTERM, how long in-flight commands get to be answered. */
const COMMAND_DRAIN_MS = 5_000;
/** Retry interval while JetStream is not reachable yet. */
const JETSTREAM_RETRY_MS = 2_000;
/** The stream is checked this often even when nothing hints that it is gone. */
const TOPOLOGY_RECHECK_MS = 30_000;

const config = loadConfigOrExit(SERVICE_NAME, GatewayConfig, process.env);
const log = createLogger(SERVICE_NAME, config.LOG_LEVEL);
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
const app = config.ARI_APP;
const node = config.ARI_NODE;
const instance = `${hostname()}-${process.pid}-${Date.now().toString(36)}`;
const endpoint = ariEndpoint(config.ARI_BASE_URL, app, config.ARI_USER, config.ARI_PASSWORD);

// Registered first so a SIGTERM while NATS is still unreachable also ends with exit 0.
const shutdown = { stop: async (): Promise<void> => undefined };
onShutdown(log, () => shutdown.stop());

log.info({ app, node, instance, ari: redactUrl(endpoint.restBase), version }, 'starting');
const nc = await connectNats({ url: config.NATS_URL, name: `${SERVICE_NAME}-${node}`, log });
const publish = (subject: string, data: Uint8Array) => nc.publish(subject, data);
// The stream and consumers are made sure of at start, and again when the stream stops storing
// what we publish (someone deleted it, or NATS came back without its data).
const jsLog = log.child({ feature: 'jetstream' });
const ensureTopology = async () => {
  const jsm = await nc.jetstreamManager();
  const outcome = await ensureEventStream(jsm, {
    name: config.EVENTS_STREAM,
    maxAgeS: config.EVENTS_MAX_AGE_S,
    maxBytes: config.EVENTS_MAX_BYTES,
    duplicateWindowS: config.EVENTS_DUPLICATE_WINDOW_S,
  });
  // Created here too, so events stored before the first controller ever ran are not skipped.
  await ensureCallConsumers(jsm, { stream: config.EVENTS_STREAM, app, ackWaitMs: 10_000, update: false });
  if (outcome !== 'unchanged') jsLog.info({ stream: config.EVENTS_STREAM, outcome }, 'event stream ready');
};
// At most one check per JETSTREAM_RETRY_MS; a failure inside that window is checked at its end.
let lastEnsure = 0;
let ensureTimer: NodeJS.Timeout | undefined;
const recheckSoon = () => {
  if (ensureTimer) return;
  ensureTimer = setTimeout(() => {
    ensureTimer = undefined;
    lastEnsure = Date.now();
    ensureTopology().catch((err: unknown) => jsLog.warn({ err }, 'event stream not storing events; cannot recreate it yet'));
  }, Math.max(0, lastEnsure + JETSTREAM_RETRY_MS - Date.now()));
};
const stream = createStreamPublisher(nc, node, recheckSoon);

const stats = createGatewayStats();
const status = createStatusTracker({ app, node, instance, publish, log: log.child({ feature: 'status' }) });
const relay = createEventRelay({ app, node, publish: stream.publish, stats, log: log.child({ feature: 'relay' }) });
status.set('standby', 'waiting for the node lease');

const commands = await startCommandService({
  nc, app, node, instance, version, stats,
  ari: createAriHttp({ baseUrl: endpoint.restBase, authorization: endpoint.authorization, timeoutMs: config.ARI_HTTP_TIMEOUT * 1000 }),
  statsData: () => {
    const { state, since, reason } = status.current();
    return { ari: { state, since, reason }, role: lease?.held() ? 'active' : 'standby', stream: stream.counters(), ...stats.snapshot() };
  },
  log: log.child({ feature: 'commands' }),
});
log.info({ subject: subjects.ariCommands(app, node) }, 'ready');

const startSocket = (): AriSocket => startAriSocket({
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

// JetStream may come up after us: the topology and the lease are retried until they work.
const setup = new AbortController();
let socket: AriSocket | undefined;
let lease: Lease | undefined;
const recheck = setInterval(() => void ensureTopology().catch(() => undefined), TOPOLOGY_RECHECK_MS);
void untilDone(async () => {
  await ensureTopology();
  lastEnsure = Date.now();
  // Lease requests time out well within the TTL, so a request lost in a NATS outage does not
  // hold the lease loop up past the moment the lease could be taken again.
  const leaseJs = nc.jetstream({ timeout: Math.max(250, Math.floor(config.GATEWAY_LEASE_TTL_MS / 2)) });
  const kv = await leaseJs.views.kv(config.LEASES_BUCKET, { history: 1, ttl: config.GATEWAY_LEASE_TTL_MS });
  if (setup.signal.aborted) return;
  lease = startLease({
    kv,
    key: `${app}.${node}`,
    holder: instance,
    ttlMs: config.GATEWAY_LEASE_TTL_MS,
    onAcquired: () => {
      socket ??= startSocket();
    },
    onLost: (reason) => {
      const lost = socket;
      socket = undefined;
      void lost?.stop().then(() => status.set('standby', reason));
    },
    log: log.child({ feature: 'lease' }),
  });
}, JETSTREAM_RETRY_MS, (err) => jsLog.error({ err }, 'JetStream not available (is nats-server running with -js?); retrying'), setup.signal);

shutdown.stop = async () => {
  setup.abort();
  clearInterval(recheck);
  clearTimeout(ensureTimer);
  await commands.stop(COMMAND_DRAIN_MS);
  await socket?.stop();
  await lease?.stop();
  stream.stop();
  await nc.drain();
};
