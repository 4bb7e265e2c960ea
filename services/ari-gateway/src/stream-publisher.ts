/**
 * Publishes relayed events so the JetStream event stream stores each exactly once: every
 * message carries a `Nats-Msg-Id` derived from the frame's bytes (a re-published frame, after a
 * retry or a replay, is the same bytes and is dropped by the stream's duplicate window). The
 * publish itself is a plain one (core subscribers, `nats sub 'ari.>'`, see it at once). For the
 * events calls are driven by (StasisStart, StasisEnd) the stream's acknowledgement comes back on
 * one inbox and is counted, so nothing on the hot path waits for storage and a stream that stops
 * storing is noticed; the other events (most of the traffic) are published without asking for
 * one. While NATS is reconnecting, publishing is bounded by the safe publisher.
 */
import { createHash } from 'node:crypto';
import { createInbox, headers, type NatsConnection, type Subscription } from 'nats';
import type { Publish } from './safe-publish.js';

export interface StreamCounters {
  published: number;
  /** Acknowledged as stored (only StasisStart and StasisEnd ask). */
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
const STASIS_START = '.StasisStart';
const STASIS_END = '.StasisEnd';
const ACK_TIMEOUT_MS = 2000;

/** Same bytes from the same node, same id: what the duplicate window needs. */
export function eventMessageId(node: string, data: Uint8Array): string {
  return `${node}:${createHash('sha1').update(data).digest('base64url')}`;
}

/** `onFailed` hears of every event the stream did not store (it may be gone: recreate it). */
export function createStreamPublisher(nc: NatsConnection, node: string, send: Publish, onFailed: () => void): StreamPublisher {
  const counters: StreamCounters = { published: 0, stored: 0, duplicates: 0, failed: 0 };
  const failed = (count = 1) => {
    counters.failed += count;
    onFailed();
  };
  // With the stream gone and subscribers on the subject, nobody answers at all: acks that stay
  // missing for ACK_TIMEOUT_MS count as failures.
  let pending = 0;
  let waitingSince = 0;
  const watchdog = setInterval(() => {
    if (pending > 0 && Date.now() - waitingSince > ACK_TIMEOUT_MS) {
      const missing = pending;
      pending = 0;
      failed(missing);
    }
  }, ACK_TIMEOUT_MS / 2);
  watchdog.unref();
  const ackSubject = createInbox();
  const acks: Subscription = nc.subscribe(ackSubject, {
    callback: (err, msg) => {
      if (err) return;
      pending = Math.max(0, pending - 1);
      waitingSince = Date.now();
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
      const acked = subject.endsWith(STASIS_START) || subject.endsWith(STASIS_END);
      if (acked) {
        if (pending === 0) waitingSince = Date.now();
        pending += 1;
        send(subject, data, { headers: h, reply: ackSubject });
      } else {
        send(subject, data, { headers: h });
      }
      counters.published += 1;
    },
    counters: () => ({ ...counters }),
    stop: () => {
      clearInterval(watchdog);
      acks.unsubscribe();
    },
  };
}
