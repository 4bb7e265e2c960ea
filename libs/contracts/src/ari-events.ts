/**
 * ARI events as they arrive on the WebSocket and are republished on `ari.event.>`.
 * The gateway only requires a JSON object with a subject-safe string `type`; consumers validate
 * the events they act on with the schemas below.
 */
import { z } from 'zod';
import { Channel } from './ari-models.js';
import { SubjectToken } from './ids.js';

/** The minimum a WebSocket frame must be for the gateway to relay it. */
export const AriFrame = z.looseObject({ type: SubjectToken });
export type AriFrame = z.infer<typeof AriFrame>;

const EventBase = {
  type: z.string(),
  application: z.string(),
  timestamp: z.string(),
  asterisk_id: z.string().optional(),
};

export const StasisStart = z.looseObject({
  ...EventBase,
  type: z.literal('StasisStart'),
  args: z.array(z.string()),
  channel: Channel,
  replace_channel: Channel.optional(),
});
export type StasisStart = z.infer<typeof StasisStart>;

export const StasisEnd = z.looseObject({
  ...EventBase,
  type: z.literal('StasisEnd'),
  channel: Channel,
});
export type StasisEnd = z.infer<typeof StasisEnd>;

export const ChannelDestroyed = z.looseObject({
  ...EventBase,
  type: z.literal('ChannelDestroyed'),
  cause: z.number(),
  cause_txt: z.string(),
  channel: Channel,
});
export type ChannelDestroyed = z.infer<typeof ChannelDestroyed>;

export const ApplicationReplaced = z.looseObject({
  ...EventBase,
  type: z.literal('ApplicationReplaced'),
});
export type ApplicationReplaced = z.infer<typeof ApplicationReplaced>;
