/**
 * Keeps the JetStream objects the gateway relies on in place: the event stream (with its limits)
 * and the controllers' durable consumers. They are made sure of at start, again soon after the
 * stream stops storing what we publish (someone deleted it, or NATS came back without its data),
 * and every TOPOLOGY_RECHECK_MS in any case.
 */
import { ensureCallConsumers, ensureEventStream, type Logger } from '@avb/runtime';
import type { NatsConnection } from 'nats';

export interface StreamTopologyOptions {
  app: string;
  stream: string;
  maxAgeS: number;
  maxBytes: number;
  duplicateWindowS: number;
  /** At most one check per this interval (a hint inside it is checked at its end). */
  minIntervalMs: number;
  recheckMs: number;
  log: Logger;
}

export interface StreamTopology {
  /** Makes sure of everything now; rejects when JetStream is not reachable. */
  ensure(): Promise<void>;
  /** A hint that the stream may be gone: checks again soon. */
  recheckSoon(): void;
  stop(): void;
}

/** Consumers are created with this ack wait when missing; the controllers set their own. */
const DEFAULT_ACK_WAIT_MS = 10_000;

export function keepStreamTopology(nc: NatsConnection, opts: StreamTopologyOptions): StreamTopology {
  const { log } = opts;
  let last = 0;
  let soon: NodeJS.Timeout | undefined;

  const ensure = async () => {
    last = Date.now();
    const jsm = await nc.jetstreamManager();
    const outcome = await ensureEventStream(jsm, {
      name: opts.stream, maxAgeS: opts.maxAgeS, maxBytes: opts.maxBytes, duplicateWindowS: opts.duplicateWindowS,
    });
    // Created here too, so events stored before the first controller ever ran are not skipped.
    await ensureCallConsumers(jsm, { stream: opts.stream, app: opts.app, ackWaitMs: DEFAULT_ACK_WAIT_MS, update: false });
    if (outcome !== 'unchanged') log.info({ stream: opts.stream, outcome }, 'event stream ready');
  };
  const ensureQuietly = () => void ensure().catch((err: unknown) => log.warn({ err }, 'cannot make sure of the event stream yet'));
  const periodic = setInterval(ensureQuietly, opts.recheckMs);

  return {
    ensure,
    recheckSoon() {
      soon ??= setTimeout(() => {
        soon = undefined;
        ensureQuietly();
      }, Math.max(0, last + opts.minIntervalMs - Date.now()));
    },
    stop() {
      clearInterval(periodic);
      clearTimeout(soon);
    },
  };
}
