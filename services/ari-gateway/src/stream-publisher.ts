/**
 * Publishes relayed events so the JetStream event stream stores each exactly once: every
 * message carries a `Nats-Msg-Id` derived from the frame's bytes (a re-published frame, after a
 * retry or a replay, is the same bytes and is dropped by the stream's duplicate window). The
 * publish itself is a plain one (core subscribers, `nats sub 'ari.>'`, see it at once).
 *
 * The events calls are driven by (StasisStart, StasisEnd) must reach the stream: each asks for
 * the stream's acknowledgement on its own reply subject and is published again, with the same
 * id, until it is stored (an error, "no responders" or no answer within the ack timeout counts
 * as a failed attempt), for at most `retryForMs` (well inside the duplicate window). Nothing on
 * the relay path waits for storage. The other events (most of the traffic) ask for no ack.
 * While NATS is reconnecting, publishing is bounded by the safe publisher.
 */
import { createHash } from 'node:crypto';
import { createInbox, headers, type MsgHdrs, type NatsConnection, type Subscription } from 'nats';
import type { Publish } from './safe-publish.js';

export interface StreamCounters {
  published: number;
  /** Acknowledged as stored (only StasisStart and StasisEnd ask). */
  stored: number;
  duplicates: number;
  /** Attempts the stream did not store: refused, "no responders", or no ack in time. */
  failed: number;
  /** Attempts after the first. */
  retried: number;
  /** Given up after `retryForMs` (or dropped at stop): never stored. */
  lost: number;
}

export interface StreamPublisher {
  publish(subject: string, data: Uint8Array): void;
  counters(): StreamCounters;
  stop(): void;
}

export interface StreamPublisherOptions {
  ackTimeoutMs?: number;
  /** How long an unstored event is published again; below EVENTS_DUPLICATE_WINDOW_S. */
  retryForMs?: number;
  /** Events waiting for storage at most; beyond, the oldest is given up (counted lost). */
  maxPending?: number;
}

interface Waiting {
  id: number;
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs;
  firstAt: number;
  attempts: number;
  timer: NodeJS.Timeout | undefined;
}

const decoder = new TextDecoder();
const ACKED_SUFFIXES = ['.StasisStart', '.StasisEnd'];
const RETRY_MIN_MS = 250;
/**
 * Attempts come at most the ack timeout plus this apart: a stream whose leader is being elected
 * stores nothing for 5-8 s (nats-server 2.9), and a caller's StasisStart should be stored soon
 * after the new leader is there. With 2 s it could wait up to 4 s more (cluster.test.ts, the
 * lease bucket's and the stream's leader on the killed server); a retry costs one publish.
 */
const RETRY_MAX_MS = 500;

/** Same bytes from the same node, same id: what the duplicate window needs. */
export function eventMessageId(node: string, data: Uint8Array): string {
  return `${node}:${createHash('sha1').update(data).digest('base64url')}`;
}

/** `onFailed` hears of every failed attempt (the stream may be gone: recreate it). */
export function createStreamPublisher(
  nc: NatsConnection, node: string, send: Publish, onFailed: () => void, opts: StreamPublisherOptions = {},
): StreamPublisher {
  const ackTimeoutMs = opts.ackTimeoutMs ?? 2000;
  const retryForMs = opts.retryForMs ?? 60_000;
  const maxPending = opts.maxPending ?? 20_000;
  const counters: StreamCounters = { published: 0, stored: 0, duplicates: 0, failed: 0, retried: 0, lost: 0 };
  const waiting = new Map<number, Waiting>();
  const inbox = createInbox();
  let nextId = 0;

  const settle = (w: Waiting) => {
    clearTimeout(w.timer);
    waiting.delete(w.id);
  };
  const attempt = (w: Waiting) => {
    w.attempts += 1;
    if (w.attempts > 1) counters.retried += 1;
    send(w.subject, w.data, { headers: w.headers, reply: `${inbox}.${w.id}` });
    w.timer = setTimeout(() => failedAttempt(w), ackTimeoutMs);
  };
  const failedAttempt = (w: Waiting) => {
    clearTimeout(w.timer);
    counters.failed += 1;
    onFailed();
    if (Date.now() - w.firstAt > retryForMs) {
      counters.lost += 1;
      return settle(w);
    }
    const backoff = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (w.attempts - 1));
    w.timer = setTimeout(() => attempt(w), backoff);
  };

  // One subscription for every ack; the token after the inbox says which event it is for. An ack
  // for an event already settled (a late one, after a retry was stored) changes nothing.
  const acks: Subscription = nc.subscribe(`${inbox}.*`, {
    callback: (err, msg) => {
      if (err) return;
      const w = waiting.get(Number(msg.subject.slice(inbox.length + 1)));
      if (!w) return;
      const text = msg.data.length === 0 ? '' : decoder.decode(msg.data);
      if (msg.headers?.hasError || text === '' || text.includes('"error"')) return failedAttempt(w);
      if (text.includes('"duplicate":true')) counters.duplicates += 1;
      else counters.stored += 1;
      settle(w);
    },
  });

  return {
    publish(subject, data) {
      const h = headers();
      h.set('Nats-Msg-Id', eventMessageId(node, data));
      counters.published += 1;
      if (!ACKED_SUFFIXES.some((s) => subject.endsWith(s))) return send(subject, data, { headers: h });
      if (waiting.size >= maxPending) {
        const oldest = waiting.values().next().value as Waiting;
        counters.lost += 1;
        settle(oldest);
      }
      const w: Waiting = { id: nextId++, subject, data, headers: h, firstAt: Date.now(), attempts: 0, timer: undefined };
      waiting.set(w.id, w);
      attempt(w);
    },
    counters: () => ({ ...counters }),
    stop: () => {
      for (const w of waiting.values()) clearTimeout(w.timer);
      counters.lost += waiting.size;
      waiting.clear();
      acks.unsubscribe();
    },
  };
}
