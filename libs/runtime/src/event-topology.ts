/**
 * The event stream and the controllers' consumers, kept in place by any service (see
 * self-healing.ts): the gateway owns the stream's settings (it updates limits and replicas), the
 * controllers own the consumers' (ack wait, replicas); each creates what is missing, so whichever
 * sees the stream or a consumer gone first makes it again.
 */
import type { NatsConnection } from 'nats';
import { ensureCallConsumers, ensureEventStream, logAssetOutcome } from './jetstream-topology.js';
import type { Logger } from './logger.js';
import { keepInPlace, type SelfHealing } from './self-healing.js';

/** The parts of a gateway's or controller's config that describe the stream. */
export interface EventStreamSettings {
  EVENTS_STREAM: string;
  EVENTS_MAX_AGE_S: number;
  EVENTS_MAX_BYTES: number;
  EVENTS_DUPLICATE_WINDOW_S: number;
  JETSTREAM_REPLICAS: number;
}

export interface EventTopologyOptions {
  app: string;
  settings: EventStreamSettings;
  /** The consumers' ack wait (a gateway creates them with the default until a controller sets its own). */
  ackWaitMs: number;
  owner: 'gateway' | 'controller';
  minIntervalMs: number;
  recheckMs?: number;
  log: Logger;
}

export function keepEventTopology(nc: NatsConnection, opts: EventTopologyOptions): SelfHealing {
  const { log, settings: s } = opts;
  const stream = s.EVENTS_STREAM;
  return keepInPlace(async () => {
    const jsm = await nc.jetstreamManager();
    logAssetOutcome(log, `stream ${stream}`, await ensureEventStream(jsm, {
      name: stream, maxAgeS: s.EVENTS_MAX_AGE_S, maxBytes: s.EVENTS_MAX_BYTES, duplicateWindowS: s.EVENTS_DUPLICATE_WINDOW_S,
      replicas: s.JETSTREAM_REPLICAS, update: opts.owner === 'gateway',
    }));
    // Created by the gateway too, so events stored before the first controller ever ran are not skipped.
    logAssetOutcome(log, `consumers of ${stream}`, await ensureCallConsumers(jsm, {
      stream, app: opts.app, ackWaitMs: opts.ackWaitMs, replicas: s.JETSTREAM_REPLICAS, update: opts.owner === 'controller',
    }));
  }, { what: `stream ${stream} and its consumers`, minIntervalMs: opts.minIntervalMs, ...(opts.recheckMs === undefined ? {} : { recheckMs: opts.recheckMs }), log });
}
