/**
 * The JetStream objects the services share, declared in one place and made sure of idempotently
 * (at start, and again by whichever service finds one gone: see self-healing.ts): the event
 * stream (every `ari.event.>` message, bounded by age and size, with a duplicate window for
 * message ids), the two durable consumers the controllers share (one per Stasis event type they
 * act on: nats-server 2.9 allows one filter subject per consumer) and the KV buckets. Each has
 * JETSTREAM_REPLICAS replicas; an asset found with another count is changed where its owner
 * updates it, and the change (old -> new) is returned for the log.
 */
import { jetStreamNames, subjects, type ConsumedEventType } from '@avb/contracts';
import {
  AckPolicy, DeliverPolicy, DiscardPolicy, StorageType, nanos,
  type ConsumerConfig, type JetStreamClient, type JetStreamManager, type KV, type StreamConfig, type StreamInfo,
} from 'nats';
import type { Logger } from './logger.js';
import { isNotFound } from './self-healing.js';

export interface EventStreamOptions {
  name: string;
  maxAgeS: number;
  maxBytes: number;
  duplicateWindowS: number;
  replicas: number;
  /** Change an existing stream's limits and replicas (the gateway does; controllers only create it). */
  update?: boolean;
}

/** What ensuring an asset did; `changes` reads like `num_replicas 1 -> 3`. */
export interface AssetOutcome {
  outcome: 'created' | 'updated' | 'unchanged';
  changes: string[];
}

const STREAM_SUBJECTS = [subjects.allAriEvents()];
/** JetStream's "stream name already in use": another service created it a moment before us. */
const STREAM_NAME_IN_USE = 10058;

const unchanged: AssetOutcome = { outcome: 'unchanged', changes: [] };

/** Creates the event stream, or updates its limits and replicas when they differ. */
export async function ensureEventStream(jsm: JetStreamManager, opts: EventStreamOptions): Promise<AssetOutcome> {
  const wanted: Partial<StreamConfig> = {
    subjects: STREAM_SUBJECTS,
    max_age: nanos(opts.maxAgeS * 1000),
    max_bytes: opts.maxBytes,
    duplicate_window: nanos(opts.duplicateWindowS * 1000),
    discard: DiscardPolicy.Old,
    num_replicas: opts.replicas,
  };
  const info = await streamInfo(jsm, opts.name);
  if (!info) {
    return addStream(jsm, { name: opts.name, storage: StorageType.File, ...wanted });
  }
  const c = info.config;
  const changes = differences(c, wanted, ['max_age', 'max_bytes', 'duplicate_window', 'num_replicas']);
  if (c.subjects?.length !== 1 || c.subjects[0] !== STREAM_SUBJECTS[0]) changes.push(`subjects ${(c.subjects ?? []).join(',')} -> ${STREAM_SUBJECTS.join(',')}`);
  if (changes.length === 0 || opts.update === false) return unchanged;
  await jsm.streams.update(opts.name, { ...c, ...wanted });
  return { outcome: 'updated', changes };
}

export interface KvBucketOptions {
  bucket: string;
  ttlMs: number;
  replicas: number;
  /** Change an existing bucket's replicas (its owner does: controllers the calls, gateways the leases). */
  update: boolean;
  /**
   * Read entries from the stream's leader only (default: any replica, faster). A lease must not
   * be judged from a follower that has not seen the latest write yet.
   */
  leaderReads?: boolean;
}

/**
 * Opens a KV bucket, creating it when missing (nats.js builds a KV stream), and sets its
 * replicas when they differ. The returned KV keeps working after the bucket is made again.
 */
export async function ensureKvBucket(js: JetStreamClient, jsm: JetStreamManager, opts: KvBucketOptions): Promise<{ kv: KV } & AssetOutcome> {
  const name = jetStreamNames.kvStream(opts.bucket);
  const before = await streamInfo(jsm, name);
  const open = () => js.views.kv(opts.bucket, { history: 1, ttl: opts.ttlMs, replicas: opts.replicas, ...(opts.leaderReads ? { allow_direct: false } : {}) });
  // Another service made it between our look and our add: open the one it made.
  const kv = await open().catch((err: unknown) => {
    if (!isNameInUse(err)) throw err;
    return open();
  });
  if (!before) return { kv, outcome: 'created', changes: [`num_replicas ${opts.replicas}`] };
  const changes = differences(before.config, { num_replicas: opts.replicas }, ['num_replicas']);
  if (changes.length === 0 || !opts.update) return { kv, ...unchanged };
  await jsm.streams.update(name, { ...before.config, num_replicas: opts.replicas });
  return { kv, outcome: 'updated', changes };
}

/** A stream younger than this was just made (again): new consumers read it from the start. */
const NEW_STREAM_MS = 60_000;

/** The Stasis event types the controllers consume durably. */
export const CONSUMED_EVENT_TYPES: readonly ConsumedEventType[] = ['StasisStart', 'StasisEnd'];

export interface CallConsumerOptions {
  stream: string;
  app: string;
  ackWaitMs: number;
  replicas: number;
  /** Update an existing consumer's settings (controllers do; a gateway only creates missing ones). */
  update: boolean;
}

/**
 * The durable consumers of one app. A new consumer starts with the events stored from now on
 * (from the first one when the stream itself is new); an existing one keeps its position, so
 * events stored while no controller ran are delivered.
 */
export async function ensureCallConsumers(jsm: JetStreamManager, opts: CallConsumerOptions): Promise<AssetOutcome> {
  const result: AssetOutcome = { outcome: 'unchanged', changes: [] };
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
      num_replicas: opts.replicas,
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
      result.outcome = 'created';
      result.changes.push(`${name} created`);
      continue;
    }
    const changes = differences(info.config, settings, ['ack_wait', 'num_replicas']);
    if (opts.update && changes.length > 0) {
      try {
        await jsm.consumers.update(opts.stream, name, settings);
        result.outcome = 'updated';
        result.changes.push(...changes.map((c) => `${name} ${c}`));
      } catch (err) {
        // E.g. more replicas than the stream has yet (its owner, the gateway, raises those).
        result.changes.push(...changes.map((c) => `${name} ${c} refused: ${(err as Error).message}`));
      }
    }
  }
  return result;
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  return jsm.streams.info(name).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
}

/** Adds a stream; one that another service added a moment before counts as created. */
async function addStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<AssetOutcome> {
  try {
    await jsm.streams.add(config);
  } catch (err) {
    if (!isNameInUse(err)) throw err;
    return unchanged;
  }
  return { outcome: 'created', changes: [`num_replicas ${config.num_replicas ?? 1}`] };
}

const isNameInUse = (err: unknown) => (err as { api_error?: { err_code?: number } } | undefined)?.api_error?.err_code === STREAM_NAME_IN_USE;

/** Logs what ensuring an asset changed; nothing when it was in place. */
export function logAssetOutcome(log: Logger, asset: string, result: AssetOutcome): void {
  if (result.changes.length === 0) return;
  log.info({ asset, outcome: result.outcome, changes: result.changes }, `JetStream ${asset}: ${result.outcome} (${result.changes.join('; ')})`);
}

/** `key old -> new` for each key whose wanted value differs from what the server has. */
function differences<T extends object>(have: T, wanted: Partial<T>, keys: Array<keyof T & string>): string[] {
  return keys.filter((k) => wanted[k] !== undefined && have[k] !== wanted[k]).map((k) => `${k} ${String(have[k])} -> ${String(wanted[k])}`);
}
