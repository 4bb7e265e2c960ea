/**
 * Call lifecycle events published by the controller on `call.event.<app>.<node>.<kind>`:
 *   media_ready  chan_websocket server mode only, as soon as externalMedia has answered (before
 *                `started`): the media server must connect to `media.url` for the call to be
 *                bridged. Absent for AudioSocket, RTP and websocket client mode.
 *   started      caller and media channel bridged
 *   ended        the call is over (caller or media hung up)
 *   failed       setup did not finish (`cause` says where and why)
 */
import { z } from 'zod';
import { WebSocketMedia } from './call-state.js';

export const CallEventKind = z.enum(['media_ready', 'started', 'ended', 'failed']);
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
  /** Why the call ended or failed: caller_hangup, media_ended, setup_failed:<step>:<code> (setup_failed:media_connect:timeout: the media socket never connected), shutdown, ... */
  cause: z.string().optional(),
  /** chan_websocket server mode, from `media_ready` on: where the media server connects. */
  media: WebSocketMedia.optional(),
  /** When this event was emitted (ISO 8601). */
  at: z.string(),
});
export type CallEvent = z.infer<typeof CallEvent>;
