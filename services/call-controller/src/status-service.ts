/**
 * Registers this instance with the NATS services API (`$SRV.PING/INFO/STATS.call-controller`),
 * so `nats micro` and the health service find it; its `status` endpoint and stats carry the
 * instance's call counters and reconciliation results, and the cluster-wide `activeCalls`.
 */
import { subjects } from '@avb/contracts';
import type { NatsConnection, Service } from 'nats';
import type { CallStats } from './call-stats.js';
import type { MediaPathSnapshot } from './media-path.js';

export const SERVICE_NAME = 'call-controller';
export const SERVICE_VERSION = '0.1.0';

export async function registerStatusService(
  nc: NatsConnection,
  opts: {
    app: string;
    instance: string;
    stats: CallStats;
    startedAt: Date;
    /** Calls in the shared state (all instances); the same figure from every instance. */
    activeCalls(): Promise<number>;
    /** The media path as this instance sees it (media-path.ts). */
    media?(): MediaPathSnapshot;
  },
): Promise<Service> {
  // Shape: ControllerStatsData in @avb/contracts (read by the health service). The counters are
  // read after the cluster count has come back, all in one turn: one moment's figures per answer.
  const body = async () => {
    const cluster = await opts.activeCalls().then((activeCalls) => ({ activeCalls }), () => ({}));
    return {
      instance: opts.instance,
      app: opts.app,
      startedAt: opts.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - opts.startedAt.getTime()) / 1000),
      ...cluster,
      calls: opts.stats.snapshot(),
      ...(opts.media ? { media: opts.media() } : {}),
      reconcile: opts.stats.reconcileSnapshot(),
    };
  };
  const service = await nc.services.add({
    name: SERVICE_NAME,
    version: SERVICE_VERSION,
    description: 'Drives every call of an ARI app: bridge, externalMedia, teardown',
    metadata: { app: opts.app, instance: opts.instance },
    statsHandler: body,
  });
  service.addEndpoint('status', {
    subject: subjects.controllerStatus(opts.app, opts.instance),
    handler: (err, msg) => {
      if (!err) void body().then((b) => msg.respond(JSON.stringify(b)));
    },
  });
  return service;
}
