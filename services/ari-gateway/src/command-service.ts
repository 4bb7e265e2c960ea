/**
 * The NATS side of commands: one services-API endpoint on `ari.command.<app>.<node>.>`, which
 * validates each request against the command catalogue, runs it through ARI and answers with
 * the reply envelope. Nothing reaches ARI unless it passed validation.
 */
import {
  Commands, ErrorCode, MAX_COMMAND_BYTES, isCommandName, parseCommandSubject, subjects,
  type CommandName, type ErrorBody, type Reply, type ValidCommandParams,
} from '@avb/contracts';
import { rateLimitedWarn, settlesWithin, type Logger } from '@avb/runtime';
import type { NatsConnection, NatsError, ServiceMsg } from 'nats';
import type { z } from 'zod';
import type { AriHttp, AriOutcome } from './ari-http.js';
import { routeCommand } from './command-routes.js';
import { createOnceByKey } from './once-by-key.js';
import type { GatewayStats } from './stats.js';

export interface CommandServiceOptions {
  nc: NatsConnection;
  app: string;
  node: string;
  instance: string;
  version: string;
  ari: AriHttp;
  stats: GatewayStats;
  /** What `$SRV.STATS.ari-gateway` shows as the endpoint's `data`. */
  statsData(): unknown;
  log: Logger;
}

export interface CommandService {
  /** Stops taking requests, then waits at most `graceMs` for those in flight to be answered. */
  stop(graceMs: number): Promise<void>;
}

export const SERVICE_NAME = 'ari-gateway';
const ENDPOINT_NAME = 'commands';
/** Longest command name echoed back in an error; the rest of a hostile subject is cut. */
const MAX_NAME_ECHO = 80;
/**
 * An externalMedia with a channel id sent before, for this long, gets the first one's outcome:
 * Asterisk 22.10.1 segfaults on an externalMedia whose channelId is in use with chan_websocket
 * (samples-22.10.1/websocket-media/server-mode/crash-duplicate-channelId.json) and answers 500
 * with audiosocket. A controller sends one again after the first got no answer (lost with a NATS
 * server) and ARI had no channel of that id; the first may still have been on its way. Forgotten
 * at once when ARI answered it with an error (nothing was created).
 */
const MEDIA_ONCE_MS = 30_000;
/** About 1 KiB each (the channel of the reply): at most ~20 MiB, 200 calls/s hold ~6 MiB. */
const MEDIA_ONCE_MAX = 20_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Checked<N extends CommandName> = { ok: true; params: ValidCommandParams<N> } | { ok: false; message: string };

/** Validates params with the command's strict schema; the issues become the error message. */
function checkParams<N extends CommandName>(name: N, raw: unknown): Checked<N> {
  // Indexing the catalogue with a generic name loses the link between name and schema type.
  const schema = Commands[name].params as unknown as z.ZodType<ValidCommandParams<N>>;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, params: parsed.data };
  const summary = parsed.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'params'}: ${i.message}`)
    .join('; ');
  return { ok: false, message: `invalid params for ${name}: ${summary}` };
}

/** The ids a command names, for log context (never metric labels). */
function idsOf(params: unknown): Record<string, unknown> {
  const p = params as Partial<Record<'channelId' | 'bridgeId' | 'channel', unknown>>;
  const ids: Record<string, unknown> = {};
  for (const key of ['channelId', 'bridgeId', 'channel'] as const) if (p[key] !== undefined) ids[key] = p[key];
  return ids;
}

export async function startCommandService(opts: CommandServiceOptions): Promise<CommandService> {
  const { nc, app, node, ari, stats, log } = opts;
  const prefix = subjects.ariCommands(app, node).slice(0, -1);
  const warnRejected = rateLimitedWarn(log, 'command refused');
  /** Requests being handled; a reply is sent at most once per request. */
  const inflight = new Map<Promise<void>, ServiceMsg>();
  const answered = new WeakSet<ServiceMsg>();
  const mediaOnce = createOnceByKey<AriOutcome>({
    ttlMs: MEDIA_ONCE_MS, maxKeys: MEDIA_ONCE_MAX, forget: (o) => !o.ok && o.error.status !== undefined,
  });

  const respond = (msg: ServiceMsg, reply: Reply) => {
    if (answered.has(msg)) return;
    answered.add(msg);
    try {
      msg.respond(encoder.encode(JSON.stringify(reply)));
    } catch (err) {
      // E.g. a result larger than the server's max_payload: the requester must still get an answer.
      log.error({ err, subject: msg.subject }, 'cannot send command reply');
      const error: ErrorBody = { code: ErrorCode.Internal, message: 'the reply could not be sent' };
      try {
        msg.respond(encoder.encode(JSON.stringify({ ok: false, error } satisfies Reply)));
      } catch {
        // The connection is closed: nothing can be answered any more.
      }
    }
  };

  /** Refused before any ARI request: answered, counted and logged (rate-limited, input may be hostile). */
  const refuse = (msg: ServiceMsg, command: CommandName | undefined, message: string) => {
    if (command) stats.commandDone(command, ErrorCode.BadRequest);
    else stats.unknownCommand();
    warnRejected(command ?? 'unknown_command', { command, message });
    respond(msg, { ok: false, error: { code: ErrorCode.BadRequest, message } });
  };

  const handle = async (msg: ServiceMsg): Promise<void> => {
    const name = parseCommandSubject(msg.subject)?.command ?? msg.subject.slice(prefix.length);
    if (!isCommandName(name)) return refuse(msg, undefined, `unknown command ${name.slice(0, MAX_NAME_ECHO)}`);
    if (msg.data.length > MAX_COMMAND_BYTES) {
      return refuse(msg, name, `payload too large: ${msg.data.length} bytes (max ${MAX_COMMAND_BYTES})`);
    }
    let raw: unknown = {};
    if (msg.data.length > 0) {
      try {
        raw = JSON.parse(decoder.decode(msg.data));
      } catch {
        return refuse(msg, name, 'payload is not valid JSON');
      }
    }
    const checked = checkParams(name, raw);
    if (!checked.ok) return refuse(msg, name, checked.message);
    const routed = routeCommand(name, checked.params, { app });
    if (!routed.ok) return refuse(msg, name, routed.message);

    const started = performance.now();
    const mediaId = name === 'channels.externalMedia' ? (checked.params as { channelId?: string }).channelId : undefined;
    const run = mediaId === undefined
      ? { outcome: ari.request(routed.route), repeated: false }
      : mediaOnce.run(mediaId, () => ari.request(routed.route));
    if (run.repeated) log.info({ command: name, ids: idsOf(checked.params) }, 'externalMedia for a channel id sent before: answered with that request\'s outcome');
    const outcome = await run.outcome;
    const latencyMs = performance.now() - started;
    stats.commandDone(name, outcome.ok ? 'ok' : outcome.error.code, latencyMs);
    if (outcome.ok) {
      // The hot path: no child logger unless the line is written.
      if (log.isLevelEnabled('debug')) log.child({ command: name, ids: idsOf(checked.params) }).debug({ status: outcome.status, latencyMs }, 'command done');
      return respond(msg, { ok: true, result: outcome.result });
    }
    const clog = log.child({ command: name, ids: idsOf(checked.params) });
    if (outcome.error.code === ErrorCode.Internal) clog.error({ err: outcome.cause, latencyMs }, 'command failed');
    else clog.warn({ error: outcome.error, latencyMs }, 'command failed');
    respond(msg, { ok: false, error: outcome.error });
  };

  const service = await nc.services.add({
    name: SERVICE_NAME,
    version: opts.version,
    description: 'ARI gateway of one Asterisk node: relays ARI events, executes ARI commands',
    metadata: { app, node, instance: opts.instance },
    statsHandler: () => Promise.resolve(opts.statsData()),
  });

  service.addEndpoint(ENDPOINT_NAME, {
    subject: subjects.ariCommands(app, node),
    metadata: { app, node },
    handler: (err: NatsError | null, msg: ServiceMsg) => {
      if (err) {
        log.error({ err }, 'command endpoint failed');
        return;
      }
      const done: Promise<void> = handle(msg)
        .catch((cause: unknown) => {
          log.error({ err: cause, subject: msg.subject }, 'command handler failed');
          respond(msg, { ok: false, error: { code: ErrorCode.Internal, message: 'internal error' } });
        })
        .finally(() => inflight.delete(done));
      inflight.set(done, msg);
    },
  });

  return {
    async stop(graceMs) {
      await settlesWithin(service.stop(), graceMs);
      if (inflight.size > 0) {
        log.info({ inflight: inflight.size }, 'waiting for in-flight commands');
        const settled = await settlesWithin(Promise.allSettled([...inflight.keys()]), graceMs);
        if (!settled) {
          // Answered rather than left to time out at the requester: it learns now that the outcome is unknown.
          log.warn({ inflight: inflight.size }, 'in-flight commands not answered in time');
          for (const msg of inflight.values()) {
            respond(msg, { ok: false, error: { code: ErrorCode.Timeout, message: 'gateway stopping: ARI did not answer within the shutdown grace period' } });
          }
        }
      }
    },
  };
}
