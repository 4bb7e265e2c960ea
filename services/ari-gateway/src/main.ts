/**
 * ari-gateway composition root: config, logger, NATS, then the features: command endpoint
 * (ARI REST, served by every gateway of a node), the JetStream topology, the node's lease and,
 * while this gateway holds it, the event relay (ARI WebSocket -> NATS and the event stream).
 * Stops cleanly on SIGTERM, releasing the lease so a standby takes over at once.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { DEFAULT_CONSUMER_ACK_WAIT_MS, GatewayConfig, gatewayLeaseKey, subjects } from '@avb/contracts';
import { keepEventTopology, openKeptKvBucket, redactUrl, runService, StartAborted, type SelfHealing } from '@avb/runtime';
import { ariEndpoint } from './ari-endpoint.js';
import { createAriHttp } from './ari-http.js';
import { startAriSocket, type AriSocket } from './ari-socket.js';
import { SERVICE_NAME, startCommandService } from './command-service.js';
import { createEventRelay } from './event-relay.js';
import { startLease, type Lease } from './gateway-lease.js';
import { announceReconnects } from './reconnect-notice.js';
import { createSafePublish } from './safe-publish.js';
import { createGatewayStats } from './stats.js';
import { createStatusTracker } from './status.js';
import { createStreamPublisher } from './stream-publisher.js';

/** Retry interval while JetStream is not reachable yet. */
const JETSTREAM_RETRY_MS = 2_000;
/** A missing stream, consumer or bucket is made again at most this often (the first hint at once). */
const HEAL_MIN_INTERVAL_MS = 1_000;
/** The stream is checked this often even when nothing hints that it is gone. */
const TOPOLOGY_RECHECK_MS = 30_000;

runService({
  name: SERVICE_NAME,
  schema: GatewayConfig,
  nats: (config) => config.nats,
  stopTimeoutMs: (config) => 2 * config.SHUTDOWN_GRACE_MS + 10_000,
  async start({ config, log, signal, connect, retry, fatal }) {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const app = config.ARI_APP;
    const node = config.ARI_NODE;
    const instance = `${hostname()}-${process.pid}-${Date.now().toString(36)}`;
    const endpoint = ariEndpoint(config.ARI_BASE_URL, app, config.ARI_USER, config.ARI_PASSWORD);
    log.info({ app, node, instance, ari: redactUrl(endpoint.restBase), version }, 'starting');
    const nc = await connect(`${SERVICE_NAME}-${node}`);
    const stats = createGatewayStats();
    const publish = createSafePublish({
      nc, maxBufferedBytes: config.NATS_PUBLISH_BUFFER_BYTES, onFailed: (reason) => stats.publishFailed(reason), log: log.child({ feature: 'publish' }),
    });
    const jsLog = log.child({ feature: 'jetstream' });
    const topology = keepEventTopology(nc, {
      app,
      settings: config,
      // Consumers it creates when missing get the controllers' default; a controller sets its own.
      ackWaitMs: DEFAULT_CONSUMER_ACK_WAIT_MS,
      owner: 'gateway',
      minIntervalMs: HEAL_MIN_INTERVAL_MS,
      recheckMs: TOPOLOGY_RECHECK_MS,
      log: jsLog,
    });
    const stream = createStreamPublisher(nc, node, publish, () => topology.recheckSoon());
    const status = createStatusTracker({ app, node, instance, publish, log: log.child({ feature: 'status' }) });
    const relay = createEventRelay({ app, node, publish: stream.publish, stats, log: log.child({ feature: 'relay' }) });
    status.set('standby', 'waiting for the node lease');

    const commands = await startCommandService({
      nc, app, node, instance, version, stats,
      ari: createAriHttp({ baseUrl: endpoint.restBase, authorization: endpoint.authorization, timeoutMs: config.ARI_HTTP_TIMEOUT * 1000 }),
      statsData: () => {
        const { state, since, reason } = status.current();
        // Shape: GatewayStatsData in @avb/contracts (read by the health service).
        return { app, node, instance, ari: { state, since, reason }, role: lease?.held() ? 'active' : 'standby', stream: stream.counters(), ...stats.snapshot() };
      },
      log: log.child({ feature: 'commands' }),
    });
    announceReconnects(nc, { app, node, instance }, publish, log.child({ feature: 'commands' }));
    log.info({ subject: subjects.ariCommands(app, node) }, 'ready');

    const startSocket = (): AriSocket => startAriSocket({
      url: endpoint.eventsUrl,
      safeUrl: redactUrl(endpoint.eventsUrl),
      authorization: endpoint.authorization,
      pingIntervalMs: config.ARI_PING_INTERVAL_MS,
      handshakeTimeoutMs: config.ARI_HTTP_TIMEOUT * 1000,
      backoff: { minMs: config.ARI_RECONNECT_MIN_MS, maxMs: config.ARI_RECONNECT_MAX_MS },
      stableAfterMs: config.ARI_RECONNECT_STABLE_MS,
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
    let socket: AriSocket | undefined;
    let lease: Lease | undefined;
    let leaseBucket: SelfHealing | undefined;
    retry('JetStream (nats-server must run with -js)', async () => {
      await topology.ensure();
      // Lease requests time out well within the TTL, so a request lost in a NATS outage does not
      // hold the lease loop up past the moment the lease could be taken again.
      const leaseJs = nc.jetstream({ timeout: Math.max(250, Math.floor(config.GATEWAY_LEASE_TTL_MS / 2)) });
      const { kv, healing } = await openKeptKvBucket(nc, leaseJs, {
        bucket: config.LEASES_BUCKET, ttlMs: config.GATEWAY_LEASE_TTL_MS, replicas: config.JETSTREAM_REPLICAS, update: true, leaderReads: true,
        minIntervalMs: HEAL_MIN_INTERVAL_MS, log: jsLog,
      });
      leaseBucket = healing;
      if (signal.aborted) return healing.stop();
      lease = startLease({
        kv,
        key: gatewayLeaseKey(app, node),
        holder: instance,
        ttlMs: config.GATEWAY_LEASE_TTL_MS,
        graceMs: config.GATEWAY_LEASE_GRACE_MS,
        onFailed: (err) => healing.noticeError(err),
        onAcquired: () => {
          socket ??= startSocket();
        },
        onLost: (reason) => {
          const lost = socket;
          socket = undefined;
          // Unless the lease came back (and a new socket started) while the old one was closing.
          void lost?.stop().then(() => {
            if (!socket) status.set('standby', reason);
          });
        },
        log: log.child({ feature: 'lease' }),
      });
    }, JETSTREAM_RETRY_MS).catch((err: unknown) => {
      if (!(err instanceof StartAborted)) fatal(err, 'cannot set up the event stream and the lease');
    });


    return async () => {
      topology.stop();
      leaseBucket?.stop();
      await commands.stop(config.SHUTDOWN_GRACE_MS);
      await socket?.stop();
      await lease?.stop();
      stream.stop();
    };
  },
});
