/**
 * A KV bucket kept in place (see self-healing.ts): opened (created when missing) with the
 * configured replicas, and made again soon after any of its users sees it gone. The KV handle
 * returned keeps working across a re-creation: it only names the bucket's subjects and stream.
 */
import type { JetStreamClient, KV, NatsConnection } from 'nats';
import { ensureKvBucket, logAssetOutcome, type KvBucketOptions } from './jetstream-topology.js';
import type { Logger } from './logger.js';
import { keepInPlace, type SelfHealing } from './self-healing.js';

export interface KeptKvBucket {
  kv: KV;
  healing: SelfHealing;
}

/** Rejects when JetStream is not reachable (callers retry). */
export async function openKeptKvBucket(
  nc: NatsConnection,
  js: JetStreamClient,
  opts: KvBucketOptions & {
    minIntervalMs: number;
    log: Logger;
    /** The bucket was found gone and made again: what it held is lost. */
    onRecreated?(): void;
  },
): Promise<KeptKvBucket> {
  let opened = false;
  const ensure = async () => {
    const { kv, ...outcome } = await ensureKvBucket(js, await nc.jetstreamManager(), opts);
    logAssetOutcome(opts.log, `bucket ${opts.bucket}`, outcome);
    if (opened && outcome.outcome === 'created') opts.onRecreated?.();
    opened = true;
    return kv;
  };
  const kv = await ensure();
  const healing = keepInPlace(async () => void (await ensure()), { what: `bucket ${opts.bucket}`, minIntervalMs: opts.minIntervalMs, log: opts.log });
  return { kv, healing };
}
