/**
 * call-controller composition root: config, logger, NATS and JetStream, the shared call state,
 * the call actors and what feeds them (durable consumers, the media fast path, reconciliation),
 * session lookup and the status service. Any number of instances share the calls of an app.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ControllerConfig, toSubjectToken } from '@avb/contracts';
import { isKvConflict, keepEventTopology, openKeptKvBucket, runService, settlesWithin } from '@avb/runtime';
import { createAriCommands } from './ari-commands.js';
import { CallActors } from './call-actors.js';
import { createCallEventPublisher } from './call-events.js';
import { createCallIntake } from './call-intake.js';
import { CallStats } from './call-stats.js';
import { CallStore } from './call-store.js';
import { withRecentWrites } from './recent-writes.js';
import { isCommandError } from './command-error.js';
import { consumeCallEvents } from './durable-events.js';
import { createEventDecoder } from './event-decoder.js';
import { watchMediaStarts } from './media-fast-path.js';
import { MediaPath } from './media-path.js';
import { mediaSettings } from './media-settings.js';
import { startReconcileScheduler } from './reconcile-scheduler.js';
import { startSessionService } from './session-service.js';
import { SERVICE_NAME, registerStatusService } from './status-service.js';

/** Retry interval while JetStream (or the gateway's event stream) is not there yet. */
const JETSTREAM_RETRY_MS = 1000;
/** A missing stream, consumer or bucket is made again at most this often (the first hint at once). */
const HEAL_MIN_INTERVAL_MS = 1000;
/** After a gateway (re)connects, events already in flight get this long before reconciling. */
const RECONCILE_AFTER_CONNECT_MS = 1000;
/** Without the media channel's StasisStart after this long, setup asks ARI about the channel. */
const MEDIA_CHECK_MS = 1000;

runService({
  name: SERVICE_NAME,
  schema: ControllerConfig,
  nats: (config) => config.nats,
  stopTimeoutMs: (config) => config.SHUTDOWN_GRACE_MS + 5000,
  async start({ config, log: rootLog, connect, retry }) {
    // One subject token: it names this instance's status endpoint.
    const instance = toSubjectToken(`${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`);
    const log = rootLog.child({ instance, app: config.ARI_APP });
    const startedAt = new Date();
    const app = config.ARI_APP;

    const nc = await connect(`${SERVICE_NAME}:${instance}`);
    const js = nc.jetstream({ timeout: config.JETSTREAM_TIMEOUT_MS });
    const jsLog = log.child({ feature: 'jetstream' });
    const bucket = await retry('JetStream (the call-state bucket)', () => openKeptKvBucket(nc, js, {
      bucket: config.CALLS_BUCKET, ttlMs: config.CALL_STATE_TTL_S * 1000, replicas: config.JETSTREAM_REPLICAS, update: true,
      minIntervalMs: HEAL_MIN_INTERVAL_MS, log: jsLog,
      onRecreated: () => reconciler.stateLost(),
    }), JETSTREAM_RETRY_MS);
    const store = new CallStore(bucket.kv, js, await nc.jetstreamManager({ timeout: config.JETSTREAM_TIMEOUT_MS }), config.CALLS_BUCKET, bucket.healing);

    const stats = new CallStats(() => actors.size);
    const media = mediaSettings(config);
    const mediaLog = log.child({ feature: 'media-path' });
    const mediaPath = new MediaPath(
      { transport: media.transport, ...('connection' in media ? { connection: media.connection } : {}), slowMs: config.MEDIA_DEGRADED_AFTER_MS },
      (state) => (state.state === 'ok' ? mediaLog.info({ media: state }, 'media path ok again') : mediaLog.warn({ media: state }, 'media path degraded')),
    );
    const publishEvent = createCallEventPublisher(nc);
    const ari = createAriCommands(nc, app, { timeoutMs: config.ARI_HTTP_TIMEOUT * 1000 + 2000, noRespondersRetryMs: config.GATEWAY_WAIT_MS });
    const actors = new CallActors({
      env: {
        settings: { app, instance, media, mediaFailureAction: config.EXTERNAL_MEDIA_FAILURE_ACTION, mediaCheckMs: MEDIA_CHECK_MS },
        now: Date.now,
        mono: () => performance.now(),
        uuid: randomUUID,
      },
      ari,
      store: withRecentWrites(store, isKvConflict),
      isConflict: isKvConflict,
      codeOf: (err) => (isCommandError(err) ? err.code : 'internal'),
      publish: (event) => {
        stats.count(event);
        publishEvent(event);
      },
      observeMedia: (event) => mediaPath.observe(event),
      clock: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout) },
      log,
    }, config.CONSUMER_ACK_WAIT_MS, config.SETUP_CONCURRENCY);
    const intake = createCallIntake(app, actors);
    const decode = createEventDecoder(stats, log);

    const mediaStarts = watchMediaStarts(nc, { app, actors, intake, decode, log });
    const reconciler = startReconcileScheduler(nc, {
      app, ari, store, actors, intake,
      queue: config.CONTROLLER_QUEUE,
      graceMs: config.RECONCILE_GRACE_MS,
      refreshAfterMs: (config.CALL_STATE_TTL_S * 1000) / 3,
      intervalMs: config.RECONCILE_INTERVAL_S * 1000,
      afterConnectMs: RECONCILE_AFTER_CONNECT_MS,
      onReport: (report) => stats.reconciled(report),
      onFailed: () => stats.reconcileFailed(),
      log: log.child({ feature: 'reconcile' }),
    });
    const sessions = startSessionService(nc, { app, queue: config.CONTROLLER_QUEUE, store, log });

    // The stream's settings are the gateway's; a controller that finds it gone makes it again.
    const topology = keepEventTopology(nc, {
      app,
      settings: config,
      ackWaitMs: config.CONSUMER_ACK_WAIT_MS,
      owner: 'controller',
      minIntervalMs: HEAL_MIN_INTERVAL_MS,
      log: jsLog,
    });
    const events = await retry(`the event stream ${config.EVENTS_STREAM}`, async () => {
      await topology.ensure();
      return consumeCallEvents(js, {
        recreate: topology.ensure,
        stream: config.EVENTS_STREAM,
        app,
        decode,
        handlers: {
          onStasisStart(node, event, delivery, seq, receivedAt, storedAgoMs) {
            reconciler.seen(node);
            intake.onStasisStart(node, event, delivery, seq, receivedAt, storedAgoMs);
          },
          onStasisEnd: (node, event, delivery, seq) => intake.onStasisEnd(node, event, delivery, seq),
        },
        log,
      });
    }, JETSTREAM_RETRY_MS);

    const service = await registerStatusService(nc, { app, instance, stats, startedAt, activeCalls: () => store.activeCalls(), media: () => mediaPath.snapshot() });
    await nc.flush();
    log.info({ media, stream: config.EVENTS_STREAM, bucket: config.CALLS_BUCKET }, 'ready');

    return async () => {
      // New callers are handed back to the other instances; calls being set up or ended here
      // finish (or roll back). Established calls are in the shared state: any instance ends them.
      intake.stopNewCalls();
      await events.stopStarts();
      const settled = await settlesWithin(actors.shutdown(), config.SHUTDOWN_GRACE_MS);
      if (!settled) log.warn({ pending: actors.size }, 'calls still in progress at shutdown; their events go to another instance');
      await events.stop();
      await reconciler.stop();
      await mediaStarts.drain();
      await sessions.drain();
      await service.stop();
      actors.stop();
      topology.stop();
      bucket.healing.stop();
    };
  },
});
