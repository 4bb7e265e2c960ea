/**
 * Every NATS subject of the system is built here and nowhere else.
 *
 *   ari.event.<app>.<node>.<EventType>          every ARI event, payload as Asterisk sent it
 *   ari.command.<app>.<node>.<resource>.<action> ARI commands (request/reply)
 *   ari.status.<app>.<node>                      gateway ARI connection state changes
 *   ari.status.<app>.<node>.reconnected          a gateway's NATS connection was re-established
 *   call.event.<app>.<node>.<media_ready|started|ended|failed> call lifecycle
 *   call.controller.<app>.<instance>             a controller instance's status (request/reply)
 *   call.session.<app>.<sessionId>               a call's details by session UUID (request/reply)
 *   $SRV.STATS.<service>                         services API stats (health reads them)
 *
 * `<app>` and `<node>` are subject tokens (see SubjectToken); a `*` may stand for either when
 * subscribing. JetStream names (the controllers' consumers, a KV bucket's stream and subjects)
 * and KV keys are built here too.
 */
import type { CommandName } from './commands.js';
import type { CallEventKind } from './call-events.js';

type Token = string;

export const subjects = {
  ariEvent: (app: Token, node: Token, type: Token) => `ari.event.${app}.${node}.${type}`,
  ariEvents: (app: Token, node: Token = '*') => `ari.event.${app}.${node}.>`,
  ariCommand: (app: Token, node: Token, command: CommandName) => `ari.command.${app}.${node}.${command}`,
  ariCommands: (app: Token, node: Token) => `ari.command.${app}.${node}.>`,
  ariStatus: (app: Token, node: Token) => `ari.status.${app}.${node}`,
  /**
   * A gateway got its NATS connection back: command requests or replies in flight through the
   * server it lost may be gone (one token deeper than ariStatus, so `ari.status.<app>.*` does not
   * see it).
   */
  gatewayReconnected: (app: Token, node: Token = '*') => `ari.status.${app}.${node}.reconnected`,
  callEvent: (app: Token, node: Token, kind: CallEventKind) => `call.event.${app}.${node}.${kind}`,
  callEvents: (app: Token, node: Token = '*') => `call.event.${app}.${node}.*`,
  /** Each controller instance's status endpoint. */
  controllerStatus: (app: Token, instance: Token) => `call.controller.${app}.${instance}`,
  callSession: (app: Token, sessionId: Token = '*') => `call.session.${app}.${sessionId}`,
  /** NATS services API: every instance of a service answers with its stats. */
  serviceStats: (service: Token) => `$SRV.STATS.${service}`,
  /** What the event stream captures. */
  allAriEvents: () => 'ari.event.>',
} as const;

/** The Stasis event types the controllers consume durably, one consumer each. */
export type ConsumedEventType = 'StasisStart' | 'StasisEnd';

export const jetStreamNames = {
  callConsumer: (app: Token, type: ConsumedEventType) => `call-controller_${app}_${type}`,
  /** The stream behind a KV bucket, and the subject of one of its keys. */
  kvStream: (bucket: string) => `KV_${bucket}`,
  kvSubject: (bucket: string, key: string) => `$KV.${bucket}.${key}`,
} as const;

/** KV keys allow `[-/_=.A-Za-z0-9]`; other characters of an id become `=XX` (hex). */
export function encodeKeyToken(raw: string): string {
  return raw.replace(/[^A-Za-z0-9_-]/g, (c) => `=${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
}

/**
 * Keys of the call-state bucket (CALLS_BUCKET):
 *   call.<node>.<channelId, encoded>   the CallState of the caller channel on that node
 *   session.<sessionId>                 the call key, so a session UUID finds its call
 *   reconcile.<node>                    when that node was last reconciled (ISO 8601)
 */
export const callStateKeys = {
  call: (node: string, channelId: string) => `call.${node}.${encodeKeyToken(channelId)}`,
  /** Every call of a node (a KV filter). */
  calls: (node = '*') => `call.${node}.*`,
  session: (sessionId: string) => `session.${sessionId}`,
  reconcile: (node: string) => `reconcile.${node}`,
} as const;

/** Key of a node's gateway lease in LEASES_BUCKET: whoever holds it holds the ARI WebSocket. */
export const gatewayLeaseKey = (app: Token, node: Token) => `${app}.${node}`;

export interface EventSubject {
  app: string;
  node: string;
  type: string;
}

/** Splits `ari.event.<app>.<node>.<type>`; undefined for any other shape. */
export function parseEventSubject(subject: string): EventSubject | undefined {
  const parts = subject.split('.');
  if (parts.length !== 5 || parts[0] !== 'ari' || parts[1] !== 'event') return undefined;
  const [, , app, node, type] = parts as [string, string, string, string, string];
  return { app, node, type };
}

/** Splits `ari.command.<app>.<node>.<resource>.<action>`; undefined for any other shape. */
export function parseCommandSubject(subject: string): { app: string; node: string; command: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 6 || parts[0] !== 'ari' || parts[1] !== 'command') return undefined;
  const [, , app, node, resource, action] = parts as [string, string, string, string, string, string];
  return { app, node, command: `${resource}.${action}` };
}
