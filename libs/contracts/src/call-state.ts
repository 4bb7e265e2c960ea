/**
 * The shared state of one call, kept in the JetStream KV bucket `CALLS_BUCKET` so any controller
 * instance can finish or tear down any call. Written before any ARI resource is created (its ids
 * are chosen up front) and changed only with compare-and-set on the entry's revision.
 *
 * Keys:
 *   call.<node>.<channelId, encoded>   the CallState of the caller channel on that node
 *   session.<sessionId>                 the call key, so a session UUID finds its call
 *   reconcile.<node>                    when that node was last reconciled (ISO 8601)
 */
import { z } from 'zod';
import { AriId } from './ids.js';

/** Ended calls are deleted: claiming the end of a call is deleting its state (compare-and-set). */
export const CallPhase = z.enum(['setup', 'active']);
export type CallPhase = z.infer<typeof CallPhase>;

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
});
export type CallState = z.infer<typeof CallState>;

/** KV keys allow `[-/_=.A-Za-z0-9]`; other characters of an id become `=XX` (hex). */
export function encodeKeyToken(raw: string): string {
  return raw.replace(/[^A-Za-z0-9_-]/g, (c) => `=${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}

export const callStateKeys = {
  call: (node: string, channelId: string) => `call.${node}.${encodeKeyToken(channelId)}`,
  /** Every call of a node (a KV watch filter). */
  calls: (node = '*') => `call.${node}.*`,
  session: (sessionId: string) => `session.${sessionId}`,
  reconcile: (node: string) => `reconcile.${node}`,
} as const;

/** Name of the bridge a call creates: marks it as ours for reconciliation. */
export const bridgeName = (app: string, sessionId: string) => `avb:${app}:${sessionId}`;
/** The session id of one of our bridges, from its name; undefined for anybody else's bridge. */
export function sessionOfBridgeName(app: string, name: string): string | undefined {
  const prefix = `avb:${app}:`;
  return name.startsWith(prefix) ? name.slice(prefix.length) : undefined;
}
