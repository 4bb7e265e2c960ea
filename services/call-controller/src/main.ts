/**
 * call-controller composition root: config, logger, NATS, the call registry, the event router
 * and the status service. Any number of instances share the calls of an app.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ControllerConfig, toSubjectToken } from '@avb/contracts';
import { connectNats, createLogger, loadConfigOrExit, onShutdown, settlesWithin } from '@avb/runtime';
import { createAriCommands } from './ari-commands.js';
import { CallActor } from './call-actor.js';
import { createCallEventPublisher } from './call-events.js';
import { mediaSettings, type CallContext } from './call-plan.js';
import { CallRegistry } from './call-registry.js';
import { CallStats } from './call-stats.js';
import { EventRouter } from './event-router.js';
import { SERVICE_NAME, registerStatusService } from './status-service.js';

const config = loadConfigOrExit(SERVICE_NAME, ControllerConfig, process.env);
// One subject token: it names this instance's status endpoint.
const instance = toSubjectToken(`${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`);
const log = createLogger(SERVICE_NAME, config.LOG_LEVEL).child({ instance, app: config.ARI_APP });
const startedAt = new Date();

const nc = await connectNats({ url: config.NATS_URL, name: `${SERVICE_NAME}:${instance}`, log });
const stats = new CallStats();
const registry = new CallRegistry();
const publish = createCallEventPublisher(nc);
const ctx: CallContext = {
  // ARI's own timeout plus a margin, so the gateway's `timeout` reply wins over the bus timeout.
  commands: createAriCommands(nc, config.ARI_APP, config.ARI_HTTP_TIMEOUT * 1000 + 2000),
  registry,
  media: mediaSettings(config),
  log,
};

const router = new EventRouter(nc, {
  app: config.ARI_APP,
  queue: config.CONTROLLER_QUEUE,
  registry,
  stats,
  log,
  startCall(node, event, receivedAt) {
    const actor = new CallActor(config.ARI_APP, node, event.channel, receivedAt, ctx, {
      publish,
      onStarted(setupMs) {
        stats.started += 1;
        stats.observeSetup(setupMs);
      },
      onFinished(done, kind) {
        registry.remove(done);
        stats.active -= 1;
        stats[kind] += 1;
      },
    });
    registry.add(actor);
    stats.active += 1;
    actor.start();
  },
});
router.start();
const service = await registerStatusService(nc, { app: config.ARI_APP, instance, stats, startedAt });
await nc.flush();
log.info({ media: ctx.media, queue: config.CONTROLLER_QUEUE }, 'ready');

onShutdown(log, async () => {
  // New calls go to the other instances from now on; calls being set up finish (or roll back).
  await router.stopNewCalls();
  const settingUp = [...registry.all()].filter((a) => a.phase === 'setup' || a.phase === 'teardown');
  const settled = await settlesWithin(Promise.all(settingUp.map((a) => a.finished)), config.SHUTDOWN_GRACE_MS);
  if (!settled) log.warn({ pending: settingUp.filter((a) => a.phase !== 'done').length }, 'calls still in setup at shutdown');
  const active = [...registry.all()].filter((a) => a.phase === 'active').length;
  if (active > 0) log.warn({ active }, 'leaving active calls behind; without shared call state no other instance can end them');
  await router.stop();
  await service.stop();
  await nc.drain();
}, config.SHUTDOWN_GRACE_MS + 5000);
