/**
 * The ARI data models we read (Channel, Bridge), as Asterisk 22 sends them. Loose objects:
 * unknown fields are kept, so a relayed payload loses nothing.
 */
import { z } from 'zod';

export const CallerId = z.looseObject({
  name: z.string(),
  number: z.string(),
});
export type CallerId = z.infer<typeof CallerId>;

export const DialplanCEP = z.looseObject({
  context: z.string(),
  exten: z.string(),
  priority: z.number(),
  app_name: z.string().optional(),
  app_data: z.string().optional(),
});
export type DialplanCEP = z.infer<typeof DialplanCEP>;

export const Channel = z.looseObject({
  id: z.string(),
  name: z.string(),
  state: z.string(),
  caller: CallerId,
  connected: CallerId,
  accountcode: z.string(),
  dialplan: DialplanCEP,
  creationtime: z.string(),
  language: z.string(),
  protocol_id: z.string().optional(),
  channelvars: z.record(z.string(), z.unknown()).optional(),
});
export type Channel = z.infer<typeof Channel>;

export const Bridge = z.looseObject({
  id: z.string(),
  technology: z.string(),
  bridge_type: z.string(),
  bridge_class: z.string(),
  creator: z.string(),
  name: z.string(),
  channels: z.array(z.string()),
  creationtime: z.string().optional(),
  video_mode: z.string().optional(),
});
export type Bridge = z.infer<typeof Bridge>;
