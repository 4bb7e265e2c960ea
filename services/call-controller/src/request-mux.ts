/**
 * Request/reply for the controller's hot path (every ARI command): one wildcard inbox
 * subscription, one publish and one timer per request. nats.js's request() also allocates an
 * error with a captured stack for every request it completes (RequestOne.cancel), which profiling
 * showed as about 8% of the controller's busy CPU under load.
 */
import { createInbox, type NatsConnection, type Subscription } from 'nats';

export type RequestOutcome =
  | { ok: true; data: Uint8Array }
  /** no_responders: nobody subscribes to the subject (the server says so at once). */
  | { ok: false; reason: 'timeout' | 'no_responders' | 'closed' };

export interface RequestMux {
  /** `tag`: what hurry() picks the request by (the node a command is for). */
  request(subject: string, data: Uint8Array, timeoutMs: number, tag?: string): Promise<RequestOutcome>;
  /**
   * Requests sent until now (those with `tag`, or all) that are still unanswered in `graceMs`
   * time out then, unless their own timeout comes first: their request or reply may have been
   * lost with a NATS connection.
   */
  hurry(graceMs: number, tag?: string): void;
  close(): void;
}

interface Pending {
  resolve(outcome: RequestOutcome): void;
  timer: NodeJS.Timeout;
  /** When it times out (performance.now()). */
  deadline: number;
  tag: string | undefined;
}

const NO_RESPONDERS = 503;

export function createRequestMux(nc: NatsConnection): RequestMux {
  const prefix = createInbox();
  const pending = new Map<number, Pending>();
  let nextId = 0;
  const settle = (id: number, outcome: RequestOutcome) => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(outcome);
  };
  const timeoutIn = (id: number, ms: number) => setTimeout(() => settle(id, { ok: false, reason: 'timeout' }), ms);
  const sub: Subscription = nc.subscribe(`${prefix}.*`, {
    callback: (err, msg) => {
      if (err) return;
      const id = Number(msg.subject.slice(prefix.length + 1));
      const noResponders = msg.data.length === 0 && msg.headers?.code === NO_RESPONDERS;
      settle(id, noResponders ? { ok: false, reason: 'no_responders' } : { ok: true, data: msg.data });
    },
  });
  return {
    request(subject, data, timeoutMs, tag) {
      return new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, { resolve, timer: timeoutIn(id, timeoutMs), deadline: performance.now() + timeoutMs, tag });
        try {
          nc.publish(subject, data, { reply: `${prefix}.${id}` });
        } catch {
          settle(id, { ok: false, reason: 'closed' });
        }
      });
    },
    hurry(graceMs, tag) {
      const deadline = performance.now() + graceMs;
      for (const [id, p] of pending) {
        if ((tag !== undefined && p.tag !== tag) || p.deadline <= deadline) continue;
        clearTimeout(p.timer);
        p.timer = timeoutIn(id, graceMs);
        p.deadline = deadline;
      }
    },
    close() {
      sub.unsubscribe();
      for (const id of [...pending.keys()]) settle(id, { ok: false, reason: 'closed' });
    },
  };
}
