/**
 * Decodes the ARI events the controller acts on, from NATS message bytes: JSON, then the event's
 * schema. What does not decode is dropped, counted and logged with a rate limit.
 */
import { rateLimitedWarn, type Logger } from '@avb/runtime';
import type { Channel, StasisStart } from '@avb/contracts';
import type { z } from 'zod';
import type { CallStats } from './call-stats.js';

export type EventDecoder = <S extends z.ZodType>(subject: string, data: Uint8Array, schema: S) => z.output<S> | undefined;

const decoder = new TextDecoder();

export function createEventDecoder(stats: CallStats, log: Logger): EventDecoder {
  const warn = rateLimitedWarn(log, 'dropped an ARI event');
  const dropped = (reason: string, subject: string, detail?: string) => {
    stats.eventsDropped += 1;
    warn(reason, { subject, detail });
  };
  return (subject, data, schema) => {
    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(data));
    } catch {
      dropped('not_json', subject);
      return undefined;
    }
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    dropped('invalid_event', subject, parsed.error.issues[0]?.message);
    return undefined;
  };
}

/** A media channel some controller created enters Stasis with its own id (the session UUID) as arg. */
export const isMediaStasisStart = (event: StasisStart) => event.args[0] === event.channel.id;

/** The same media channel, from any event: it runs `Stasis(<app>,<its own id>)`. */
export const isMediaChannel = (app: string, channel: Channel) => channel.dialplan.app_data === `${app},${channel.id}`;
