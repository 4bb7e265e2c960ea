/**
 * call-controller composition root: config, logger, NATS and JetStream, the shared call state,
 * the durable event consumers, the fast-path router, reconciliation, session lookup and the
 * status service. Any number of instances share the calls of an app.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ControllerConfig, toSubjectToken } from '@avb/contracts';
import {
  connectNats, createLogger, ensureCallConsumers, loadConfigOrExit, onShutdown, settlesWithin, untilDone,
} from '@avb/runtime';
import { createAriCommands } from './ari-commands.js';
import type { CallHooks } from './call-actor.js';
import { CallCoordinator } from './call-coordinator.js';
import { createCallEventPublisher } from './call-events.js';
import { mediaSettings, type CallContext } from './call-plan.js';
import { CallRegistry } from './call-registry.js';
import { CallStats } from './call-stats.js';
import { CallStore } from './call-store.js';
import { consumeCallEvents } from './durable-events.js';
import { createEventDecoder } from './event-decoder.js';
import { EventRouter } from './event-router.js';
import { startReconcileScheduler } from './reconcile-scheduler.js';
import { startSessionService } from './session-service.js';
import { SERVICE_NAME, registerStatusService } from './status-service.js';

/** Retry interval while JetStream (or the gateway's stream) is not there yet. */
const JETSTREAM_RETRY_MS = 1000;
/** After a gateway (re)connects, events already in flight get this long before reconciling. */
const RECONCILE_AFTER_CONNECT_MS = 1000;

const config = loadConfigOrExit(SERVICE_NAME, ControllerConfig, process.env);
// One subject token: it names this instance's status endpoint.
const instance = toSubjectToken(`${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`);
const log = createLogger(SERVICE_NAME, config.LOG_LEVEL).child({ instance, app: config.ARI_APP });
const startedAt = new Date();
const app = config.ARI_APP;

const nc = await connectNats({ nats: config.nats, name: `${SERVICE_NAME}:${instance}`, log });
const js = nc.jetstream();
const jsLog = log.child({ feature: 'jetstream' });
const onJsError = (err: unknown) => jsLog.warn({ err }, 'JetStream or the event stream not available yet; retrying');
const store = await untilDone(async () => CallStore.open(js, await nc.jetstreamManager(), config.CALLS_BUCKET, config.CALL_STATE_TTL_S), JETSTREAM_RETRY_MS, onJsError);
if (!store) throw new Error('unreachable: no call store');

const registry = new CallRegistry();
const stats = new CallStats(() => registry.size);
const publish = createCallEventPublisher(nc);
const ctx: CallContext = {
  commands: createAriCommands(nc, app, {
    timeoutMs: config.ARI_HTTP_TIMEOUT * 1000 + 2000,
    noRespondersRetryMs: config.GATEWAY_WAIT_MS,
  }),
  registry,
  store,
  media: mediaSettings(config),
  mediaFailureAction: config.EXTERNAL_MEDIA_FAILURE_ACTION,
  instance,
  ackWaitMs: config.CONSUMER_ACK_WAIT_MS,
  log,
};
const hooks: CallHooks = {
  publish,
  onStarted(setupMs) {
    stats.started += 1;
    stats.observeSetup(setupMs);
  },
  onFinished(done, kind) {
    registry.remove(done);
    if (kind === 'ended' || kind === 'failed') stats[kind] += 1;
  },
};
const coordinator = new CallCoordinator(app, ctx, hooks);
const decode = createEventDecoder(stats, log);

const router = new EventRouter(nc, { app, registry, decode, log });
router.start();
const reconciler = startReconcileScheduler(nc, {
  app,
  ctx,
  coordinator,
  store,
  queue: config.CONTROLLER_QUEUE,
  graceMs: config.RECONCILE_GRACE_MS,
  refreshAfterMs: (config.CALL_STATE_TTL_S * 1000) / 3,
  intervalMs: config.RECONCILE_INTERVAL_S * 1000,
  afterConnectMs: RECONCILE_AFTER_CONNECT_MS,
  onReport: (report) => stats.reconciled(report),
  log: log.child({ feature: 'reconcile' }),
});
const sessions = startSessionService(nc, { app, queue: config.CONTROLLER_QUEUE, store, log });

const ensureConsumers = async () => ensureCallConsumers(await nc.jetstreamManager(), {
  stream: config.EVENTS_STREAM, app, ackWaitMs: config.CONSUMER_ACK_WAIT_MS, update: true,
});
const events = await untilDone(async () => {
  await ensureConsumers();
  return consumeCallEvents(js, {
    recreate: ensureConsumers,
    stream: config.EVENTS_STREAM,
    app,
    decode,
    handlers: {
      onStasisStart(node, event, delivery, receivedAt) {
        reconciler.seen(node);
        coordinator.onStasisStart(node, event, delivery, receivedAt);
          },
      onStasisEnd(node, event, delivery) {
        coordinator.onStasisEnd(node, event, delivery);
      },
    },
    log,
  });
}, JETSTREAM_RETRY_MS, onJsError);
if (!events) throw new Error('unreachable: no event consumers');

const service = await registerStatusService(nc, { app, instance, stats, startedAt, activeCalls: () => store.activeCalls() });
await nc.flush();
log.info({ media: ctx.media, stream: config.EVENTS_STREAM, bucket: config.CALLS_BUCKET }, 'ready');

onShutdown(log, async () => {
  // New callers are handed back to the other instances; calls being set up or torn down here
  // finish (or roll back). Established calls are in the shared state: any instance ends them.
  coordinator.stopNewCalls();
  await events.stopStarts();
  const working = [...registry.all()];
  const settled = await settlesWithin(Promise.all(working.map((a) => a.finished)), config.SHUTDOWN_GRACE_MS);
  if (!settled) log.warn({ pending: registry.size }, 'calls still in setup at shutdown; their events go to another instance');
  await events.stop();
  await reconciler.stop();
  await router.stop();
  await sessions.drain();
  await service.stop();
  await nc.drain();
}, config.SHUTDOWN_GRACE_MS + 5000);
