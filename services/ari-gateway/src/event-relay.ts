/**
 * Republishes each ARI WebSocket frame on `ari.event.<app>.<node>.<type>`, byte for byte as
 * Asterisk sent it. This is the hot path (thousands of frames per second): one JSON.parse to
 * read `type`, a cached check of that type, one publish; no schema parse of the whole event and
 * no per-event logging.
 */
import { AriFrame, ChannelDestroyed, StasisEnd, StasisStart, subjects } from '@avb/contracts';
import type { z } from 'zod';
import { rateLimitedWarn, type Logger } from '@avb/runtime';
import type { GatewayStats } from './stats.js';

export const DropReason = {
  NotJson: 'not_json',
  NotObject: 'not_object',
  BadType: 'bad_type',
  /** A call-lifecycle event with a field missing or of the wrong type. */
  InvalidEvent: 'invalid_event',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

export interface EventRelay {
  /** Relays one frame; returns its event type, or undefined when the frame was dropped. */
  relay(data: Uint8Array): string | undefined;
}

export interface RelayOptions {
  app: string;
  node: string;
  publish(subject: string, data: Uint8Array): void;
  stats: GatewayStats;
  log: Logger;
}

/** Types that passed AriFrame once; bounded so invented types cannot grow it without limit. */
const MAX_CACHED_TYPES = 256;
const SAMPLE_CHARS = 64;
/**
 * The events controllers start and end calls on are checked whole (a few per call, so cheap):
 * one with a missing or wrong-typed field would otherwise reach every controller. A Map, so an
 * event type such as `__proto__` finds nothing.
 */
const CHECKED_EVENTS = new Map<string, z.ZodType>([
  ['StasisStart', StasisStart], ['StasisEnd', StasisEnd], ['ChannelDestroyed', ChannelDestroyed],
]);
const decoder = new TextDecoder();

export function createEventRelay({ app, node, publish, stats, log }: RelayOptions): EventRelay {
  const warnDropped = rateLimitedWarn(log, 'ARI frame dropped');
  const validTypes = new Set<string>();
  const subjectOf = new Map<string, string>();

  const drop = (reason: DropReason, text: string, fields: Record<string, unknown> = {}) => {
    stats.dropped(reason);
    warnDropped(reason, { bytes: text.length, sample: text.slice(0, SAMPLE_CHARS), ...fields });
  };

  const isValidType = (type: unknown): type is string => {
    if (typeof type === 'string' && validTypes.has(type)) return true;
    // Only `type` is checked here; consumers validate the events they act on.
    const parsed = AriFrame.shape.type.safeParse(type);
    if (!parsed.success) return false;
    if (validTypes.size < MAX_CACHED_TYPES) validTypes.add(parsed.data);
    return true;
  };

  return {
    relay(data) {
      const text = decoder.decode(data);
      let frame: unknown;
      try {
        frame = JSON.parse(text);
      } catch {
        drop(DropReason.NotJson, text);
        return undefined;
      }
      if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) {
        drop(DropReason.NotObject, text);
        return undefined;
      }
      const type = (frame as { type?: unknown }).type;
      if (!isValidType(type)) {
        drop(DropReason.BadType, text);
        return undefined;
      }
      const checked = CHECKED_EVENTS.get(type)?.safeParse(frame);
      if (checked && !checked.success) {
        const issue = checked.error.issues[0];
        drop(DropReason.InvalidEvent, text, { type, problem: issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid' });
        return undefined;
      }
      let subject = subjectOf.get(type);
      if (subject === undefined) {
        subject = subjects.ariEvent(app, node, type);
        if (subjectOf.size < MAX_CACHED_TYPES) subjectOf.set(type, subject);
      }
      publish(subject, data);
      stats.relayed(type);
      return type;
    },
  };
}
