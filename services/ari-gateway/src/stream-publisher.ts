/**
 * Publishes relayed events so the JetStream event stream stores each exactly once: every
 * message carries a `Nats-Msg-Id` derived from the frame's bytes (a re-published frame, after a
 * retry or a replay, is the same bytes and is dropped by the stream's duplicate window). The
 * publish itself is a plain one (core subscribers, `nats sub 'ari.>'`, see it at once); the
 * stream's acknowledgements come back on one inbox and are only counted, so nothing on the hot
 * path waits for storage. While NATS is reconnecting the client buffers what is published
 * (bounded by its reconnect buffer); what the stream refuses or never acknowledges is counted.
 */
import { createHash } from 'node:crypto';
import { createInbox, headers, type NatsConnection, type Subscription } from 'nats';
import type { Publish } from './safe-publish.js';

export interface StreamCounters {
  published: number;
  stored: number;
  duplicates: number;
  /** Refused by JetStream (e.g. no stream, limits) or answered "no responders". */
  failed: number;
}

export interface StreamPublisher {
  publish(subject: string, data: Uint8Array): void;
  counters(): StreamCounters;
  stop(): void;
}

const decoder = new TextDecoder();

/** Same bytes from the same node, same id: what the duplicate window needs. */
export function eventMessageId(node: string, data: Uint8Array): string {
  return `${node}:${createHash('sha1').update(data).digest('base64url')}`;
}

/** `onFailed` hears of every event the stream did not store (it may be gone: recreate it). */
export function createStreamPublisher(nc: NatsConnection, node: string, send: Publish, onFailed: () => void): StreamPublisher {
  const counters: StreamCounters = { published: 0, stored: 0, duplicates: 0, failed: 0 };
  const failed = () => {
    counters.failed += 1;
    onFailed();
  };
  const ackSubject = createInbox();
  const acks: Subscription = nc.subscribe(ackSubject, {
    callback: (err, msg) => {
      if (err) return;
      if (msg.headers?.hasError || msg.data.length === 0) return failed();
      const text = decoder.decode(msg.data);
      if (text.includes('"error"')) failed();
      else if (text.includes('"duplicate":true')) counters.duplicates += 1;
      else counters.stored += 1;
    },
  });
  return {
    publish(subject, data) {
      const h = headers();
      h.set('Nats-Msg-Id', eventMessageId(node, data));
      send(subject, data, { headers: h, reply: ackSubject });
      counters.published += 1;
    },
    counters: () => ({ ...counters }),
    stop: () => acks.unsubscribe(),
  };
}
