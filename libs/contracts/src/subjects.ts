/**
 * Every NATS subject of the system is built here and nowhere else.
 *
 *   ari.event.<app>.<node>.<EventType>          every ARI event, payload as Asterisk sent it
 *   ari.command.<app>.<node>.<resource>.<action> ARI commands (request/reply)
 *   ari.status.<app>.<node>                      gateway ARI connection state changes
 *   call.event.<app>.<node>.<started|ended|failed> call lifecycle
 *   call.controller.<app>.<instance>             a controller instance's status (request/reply)
 *   call.session.<app>.<sessionId>               a call's details by session UUID (request/reply)
 *   $SRV.STATS.<service>                         services API stats (health reads them)
 *
 * `<app>` and `<node>` are subject tokens (see SubjectToken); a `*` may stand for either when
 * subscribing.
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
  callEvent: (app: Token, node: Token, kind: CallEventKind) => `call.event.${app}.${node}.${kind}`,
  callEvents: (app: Token, node: Token = '*') => `call.event.${app}.${node}.*`,
  /** Prefix of each controller instance's status endpoint: `call.controller.<app>.<instance>`. */
  controllerStatus: (app: Token) => `call.controller.${app}`,
  callSession: (app: Token, sessionId: Token = '*') => `call.session.${app}.${sessionId}`,
  /** NATS services API: every instance of a service answers with its stats. */
  serviceStats: (service: Token) => `$SRV.STATS.${service}`,
} as const;

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
