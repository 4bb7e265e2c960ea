/**
 * The JetStream objects the services share, declared in one place and made sure of idempotently
 * at start: the event stream (every `ari.event.>` message, bounded by age and size, with a
 * duplicate window for message ids) and the two durable consumers the controllers share (one per
 * Stasis event type they act on: nats-server 2.9 allows one filter subject per consumer).
 */
import { jetStreamNames, subjects, type ConsumedEventType } from '@avb/contracts';
import {
  AckPolicy, DeliverPolicy, DiscardPolicy, StorageType, nanos,
  type ConsumerConfig, type JetStreamManager, type StreamConfig,
} from 'nats';

export interface EventStreamOptions {
  name: string;
  maxAgeS: number;
  maxBytes: number;
  duplicateWindowS: number;
}

const STREAM_SUBJECTS = [subjects.allAriEvents()];
const API_NOT_FOUND = 404;

/** Creates the event stream, or updates its limits when they differ. */
export async function ensureEventStream(jsm: JetStreamManager, opts: EventStreamOptions): Promise<'created' | 'updated' | 'unchanged'> {
  const wanted: Partial<StreamConfig> = {
    subjects: STREAM_SUBJECTS,
    max_age: nanos(opts.maxAgeS * 1000),
    max_bytes: opts.maxBytes,
    duplicate_window: nanos(opts.duplicateWindowS * 1000),
    discard: DiscardPolicy.Old,
  };
  const info = await jsm.streams.info(opts.name).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
  if (!info) {
    await jsm.streams.add({ name: opts.name, storage: StorageType.File, num_replicas: 1, ...wanted });
    return 'created';
  }
  const c = info.config;
  if (c.max_age === wanted.max_age && c.max_bytes === wanted.max_bytes && c.duplicate_window === wanted.duplicate_window
    && c.subjects?.length === 1 && c.subjects[0] === STREAM_SUBJECTS[0]) return 'unchanged';
  await jsm.streams.update(opts.name, { ...c, ...wanted });
  return 'updated';
}

/** A stream younger than this was just made (again): new consumers read it from the start. */
const NEW_STREAM_MS = 60_000;

/** The Stasis event types the controllers consume durably. */
export const CONSUMED_EVENT_TYPES: readonly ConsumedEventType[] = ['StasisStart', 'StasisEnd'];

export interface CallConsumerOptions {
  stream: string;
  app: string;
  ackWaitMs: number;
  /** Update an existing consumer's settings (controllers do; a gateway only creates missing ones). */
  update: boolean;
}

/**
 * The durable consumers of one app. A new consumer starts with the events stored from now on
 * (from the first one when the stream itself is new); an existing one keeps its position, so
 * events stored while no controller ran are delivered.
 */
export async function ensureCallConsumers(jsm: JetStreamManager, opts: CallConsumerOptions): Promise<void> {
  let created: number | undefined;
  const streamIsNew = async () => {
    created ??= Date.parse((await jsm.streams.info(opts.stream)).created);
    return Date.now() - created < NEW_STREAM_MS;
  };
  for (const type of CONSUMED_EVENT_TYPES) {
    const name = jetStreamNames.callConsumer(opts.app, type);
    const settings: Partial<ConsumerConfig> = {
      ack_wait: nanos(opts.ackWaitMs),
      // A poisoned event is given up after this many deliveries; reconciliation covers it.
      max_deliver: 20,
      max_ack_pending: 20_000,
    };
    const info = await jsm.consumers.info(opts.stream, name).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (!info) {
      await jsm.consumers.add(opts.stream, {
        ...settings,
        durable_name: name,
        filter_subject: subjects.ariEvent(opts.app, '*', type),
        ack_policy: AckPolicy.Explicit,
        // On a stream made a moment ago (it was lost) from its first event: what was stored, or
        // published again by the gateway, before the consumer existed is not skipped. Otherwise
        // from now on: an old stream's history is not replayed.
        deliver_policy: (await streamIsNew()) ? DeliverPolicy.All : DeliverPolicy.New,
      });
    } else if (opts.update && info.config.ack_wait !== settings.ack_wait) {
      await jsm.consumers.update(opts.stream, name, settings);
    }
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: string | number; api_error?: { code?: number } } | undefined;
  return e?.api_error?.code === API_NOT_FOUND || e?.code === '404' || e?.code === API_NOT_FOUND;
}
