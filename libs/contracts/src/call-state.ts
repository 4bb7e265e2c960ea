/**
 * The shared state of one call, kept in the JetStream KV bucket `CALLS_BUCKET` so any controller
 * instance can finish or tear down any call. Written before any ARI resource is created (its ids
 * are chosen up front) and changed only with compare-and-set on the entry's revision.
 *
 * Its keys are built by `callStateKeys` in subjects.ts.
 */
import { z } from 'zod';
import { AriId } from './ids.js';

/** Ended calls are deleted: claiming the end of a call is deleting its state (compare-and-set). */
export const CallPhase = z.enum(['setup', 'active']);
export type CallPhase = z.infer<typeof CallPhase>;

/**
 * Which stay of the caller in Stasis a call is. A caller that leaves Stasis and enters it again
 * (the dialplan runs `Stasis()` again after a `continue`) keeps its channel id, so the id alone
 * does not tell one call from the next (samples-22.10.1/reentry).
 *   seq:      the event stream's sequence number of the StasisStart (the stream orders a
 *             channel's StasisStart and StasisEnd as Asterisk sent them); absent when the call
 *             was started without one (reconciliation found the caller waiting).
 *   dialplan: where the caller ran Stasis(): `context,exten,priority,app_data`; its StasisEnd
 *             carries the same, the next StasisStart another priority.
 */
export const CallEntry = z.strictObject({
  seq: z.number().int().positive().optional(),
  dialplan: z.string().max(512),
});
export type CallEntry = z.infer<typeof CallEntry>;

/**
 * A chan_websocket media channel's connection. Server mode: the media server must connect to
 * `url` (`<the node's EXTERNAL_MEDIA_WEBSOCKET_URL>/<connectionId>`) before the call can be
 * bridged; `connectionId` is the fresh UUID Asterisk made for it (in the externalMedia reply,
 * `channelvars.MEDIA_WEBSOCKET_CONNECTION_ID`), known nowhere else. Client mode: Asterisk dials
 * the media server; `connectionId` is the websocket_client.conf id. Either way the media server's
 * first text frame, MEDIA_START, carries `channel_id:<sessionId>`.
 */
export const WebSocketMedia = z.strictObject({
  connection: z.enum(['client', 'server']),
  connectionId: z.string().min(1).max(128),
  url: z.string().max(1024).optional(),
});
export type WebSocketMedia = z.infer<typeof WebSocketMedia>;

export const CallState = z.strictObject({
  app: z.string(),
  node: z.string(),
  /** The caller's channel. */
  channelId: AriId,
  /** The UUID passed to the media server in externalMedia `data`; also the media channel's id. */
  sessionId: z.uuid(),
  bridgeId: AriId,
  externalChannelId: AriId,
  phase: CallPhase,
  /** The controller instance that last took charge of the call. */
  owner: z.string(),
  callerNumber: z.string(),
  callerName: z.string(),
  /** When the caller's StasisStart was handled (ISO 8601). */
  startedAt: z.string(),
  updatedAt: z.string(),
  setupMs: z.number().optional(),
  cause: z.string().optional(),
  /** Absent in calls recorded before entries were (one call per caller channel then). */
  entry: CallEntry.optional(),
  /** chan_websocket server mode, once externalMedia has answered: where the media server connects. */
  media: WebSocketMedia.optional(),
});
export type CallState = z.infer<typeof CallState>;

/** Name of the bridge a call creates: marks it as ours for reconciliation. */
export const bridgeName = (app: string, sessionId: string) => `avb:${app}:${sessionId}`;
/** The session id of one of our bridges, from its name; undefined for anybody else's bridge. */
export function sessionOfBridgeName(app: string, name: string): string | undefined {
  const prefix = `avb:${app}:`;
  return name.startsWith(prefix) ? name.slice(prefix.length) : undefined;
}
