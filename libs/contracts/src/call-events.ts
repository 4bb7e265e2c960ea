/** Call lifecycle events published by the controller on `call.event.<app>.<node>.<kind>`. */
import { z } from 'zod';

export const CallEventKind = z.enum(['started', 'ended', 'failed']);
export type CallEventKind = z.infer<typeof CallEventKind>;

export const CallEvent = z.strictObject({
  kind: CallEventKind,
  app: z.string(),
  node: z.string(),
  /** The UUID passed to the media server in externalMedia `data` (the AudioSocket UUID). */
  sessionId: z.uuid(),
  channelId: z.string(),
  bridgeId: z.string(),
  externalChannelId: z.string(),
  callerNumber: z.string(),
  callerName: z.string(),
  /** When the caller's StasisStart was received (ISO 8601). */
  startedAt: z.string(),
  /** Time from StasisStart to both channels bridged, in ms (absent when setup did not finish). */
  setupMs: z.number().optional(),
  /** Why the call ended or failed: caller_hangup, media_ended, setup_failed:<step>:<code>, shutdown, ... */
  cause: z.string().optional(),
  /** When this event was emitted (ISO 8601). */
  at: z.string(),
});
export type CallEvent = z.infer<typeof CallEvent>;
