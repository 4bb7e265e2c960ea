/**
 * What gateway tests do over NATS: collect what is published on a subject, and send a command
 * (any payload, including garbage) and parse the reply envelope strictly.
 */
import { Reply } from '@avb/contracts';
import type { NatsConnection, Subscription } from 'nats';

export interface Collected {
  subject: string;
  /** The payload exactly as received, decoded as UTF-8. */
  data: string;
  at: number;
}

export interface Collector {
  msgs: Collected[];
  /** Parsed payloads of the messages collected so far. */
  json<T = Record<string, unknown>>(): T[];
  stop(): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Subscribes and keeps every message; call `nc.flush()` before relying on it. */
export function collect(nc: NatsConnection, subject: string): Collector {
  const msgs: Collected[] = [];
  const sub: Subscription = nc.subscribe(subject, {
    callback: (_err, msg) => msgs.push({ subject: msg.subject, data: decoder.decode(msg.data), at: Date.now() }),
  });
  return {
    msgs,
    json: <T>() => msgs.map((m) => JSON.parse(m.data) as T),
    stop: () => sub.unsubscribe(),
  };
}

/**
 * Sends a request with `payload` (an object is JSON-encoded; a string or bytes are sent as they
 * are) and returns the reply, which must be a well-formed envelope.
 */
export async function sendCommand(nc: NatsConnection, subject: string, payload: unknown, timeoutMs = 5000): Promise<Reply> {
  const data = payload instanceof Uint8Array ? payload
    : typeof payload === 'string' ? encoder.encode(payload)
    : encoder.encode(JSON.stringify(payload));
  const msg = await nc.request(subject, data, { timeout: timeoutMs });
  return Reply.parse(JSON.parse(decoder.decode(msg.data)));
}
