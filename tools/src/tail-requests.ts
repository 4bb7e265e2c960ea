/**
 * Pairs requests seen by `pnpm tail` with their replies (pure): a request is remembered by its
 * reply subject until the reply arrives (then it is returned with the round trip) or until it
 * is `timeoutMs` old (then it is returned as unanswered). Bounded: past `max` waiting requests
 * the oldest is given up as unanswered, so a flood cannot grow it without end.
 */
import type { TailMessage } from './tail-format.js';

export interface Answered {
  request: TailMessage;
  rttMs: number;
}

export interface RequestTracker {
  /** Remembers a request (it has a reply subject); returns any request it pushed out. */
  request(msg: TailMessage, now: number): TailMessage[];
  /** The request this message answers, with its round trip; undefined when it answers none. */
  reply(subject: string, now: number): Answered | undefined;
  /** Requests older than the timeout, forgotten now. */
  expired(now: number): TailMessage[];
  /** Requests waiting for their reply. */
  readonly size: number;
}

export function createRequestTracker(timeoutMs: number, max = 10_000): RequestTracker {
  // Insertion order is arrival order: the oldest first.
  const waiting = new Map<string, { msg: TailMessage; at: number }>();
  return {
    request(msg, now) {
      if (!msg.reply) return [];
      waiting.set(msg.reply, { msg, at: now });
      const pushed: TailMessage[] = [];
      for (const [subject, w] of waiting) {
        if (waiting.size <= max) break;
        waiting.delete(subject);
        pushed.push(w.msg);
      }
      return pushed;
    },
    reply(subject, now) {
      const w = waiting.get(subject);
      if (!w) return undefined;
      waiting.delete(subject);
      return { request: w.msg, rttMs: now - w.at };
    },
    expired(now) {
      const out: TailMessage[] = [];
      for (const [subject, w] of waiting) {
        if (now - w.at < timeoutMs) break;
        waiting.delete(subject);
        out.push(w.msg);
      }
      return out;
    },
    get size() {
      return waiting.size;
    },
  };
}

/**
 * The subscription that receives a reply to `reply`: requesters that multiplex their replies
 * (nats.js, the controller) answer under `<inbox>.<token>`, so one `<inbox>.*` covers them all.
 */
export function replyPattern(reply: string): string {
  const parts = reply.split('.');
  return parts.length > 2 ? `${parts.slice(0, -1).join('.')}.*` : reply;
}
