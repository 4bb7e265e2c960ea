/**
 * Answers `call.session.<app>.<sessionId>` from the shared call state (one instance per request,
 * through a queue group), so a media server can learn who it talks to from the UUID it received.
 */
import { ErrorCode, SessionInfo, subjects, type ReplyOf } from '@avb/contracts';
import type { Logger } from '@avb/runtime';
import type { Msg, NatsConnection, Subscription } from 'nats';
import { z } from 'zod';
import type { CallStore } from './call-store.js';

const encoder = new TextEncoder();
const Uuid = z.uuid();

export function startSessionService(nc: NatsConnection, opts: { app: string; queue: string; store: CallStore; log: Logger }): Subscription {
  const prefix = `${subjects.callSession(opts.app, '')}`;
  const reply = (msg: Msg, body: ReplyOf<SessionInfo>) => msg.respond(encoder.encode(JSON.stringify(body)));
  return nc.subscribe(subjects.callSession(opts.app), {
    queue: opts.queue,
    callback: (err, msg) => {
      if (err || !msg.reply) return;
      const sessionId = msg.subject.slice(prefix.length);
      if (!Uuid.safeParse(sessionId).success) {
        return reply(msg, { ok: false, error: { code: ErrorCode.BadRequest, message: 'the session id must be a UUID' } });
      }
      opts.store.getBySession(sessionId).then(
        (stored) => {
          if (!stored) return reply(msg, { ok: false, error: { code: ErrorCode.NotFound, message: `no call with session ${sessionId}` } });
          const { owner: _owner, updatedAt: _updatedAt, ...info } = stored.state;
          reply(msg, { ok: true, result: info });
        },
        (cause: unknown) => {
          opts.log.warn({ err: cause, sessionId }, 'session lookup failed');
          reply(msg, { ok: false, error: { code: ErrorCode.Internal, message: 'call state unavailable' } });
        },
      );
    },
  });
}
