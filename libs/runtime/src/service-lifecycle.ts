/**
 * One life for every service's main.ts:
 *   - config parsed once (every problem printed at once, exit 1);
 *   - NATS: credentials or TLS refused -> one fatal line, exit 1 (retrying does not fix them);
 *     a server not reachable yet -> retried, quietly;
 *   - SIGTERM / SIGINT at any moment: during start-up what has started is stopped (NATS
 *     drained), once running the service's own stop runs; exit 0 within the stop timeout, 1 after;
 *   - an unhandled rejection or exception: logged as fatal, exit 1.
 * Start-up steps that wait for something expected to come (JetStream, the event stream another
 * service creates) use `ctx.retry`: one info line while waiting, one when it is there, no stacks.
 */
import type { NatsConnection } from 'nats';
import type { z } from 'zod';
import { loadConfigOrExit } from './load-config.js';
import { createLogger, type Logger } from './logger.js';
import { connectNats, NatsConnectError } from './nats.js';
import type { NatsConnectionConfig } from '@avb/contracts';

export interface ServiceContext<C> {
  config: C;
  log: Logger;
  /** Aborted when a stop signal arrives before start() has finished. */
  signal: AbortSignal;
  /** Connects to NATS (see connectNats); the connection is drained when the service stops. */
  connect(name: string): Promise<NatsConnection>;
  /** Runs on stop, in reverse order of registration, after the service's own stop. */
  onStop(fn: () => Promise<void> | void): void;
  /** Retries `fn` every `intervalMs` until it resolves; rejects with StartAborted on a stop signal. */
  retry<T>(what: string, fn: () => Promise<T>, intervalMs: number): Promise<T>;
  /** Something the service cannot run without failed outside start(): log it, exit 1. */
  fatal(err: unknown, msg: string): void;
}

export interface ServiceDefinition<S extends z.ZodType> {
  name: string;
  schema: S;
  /** The parsed config's NATS part. */
  nats(config: z.output<S>): NatsConnectionConfig;
  /** How long stopping may take before the process exits 1. */
  stopTimeoutMs(config: z.output<S>): number;
  /** Starts the service; what it returns is called first on stop. */
  start(ctx: ServiceContext<z.output<S>>): Promise<(() => Promise<void>) | void>;
}

/** A start-up step given up because the service is stopping. */
export class StartAborted extends Error {
  constructor() {
    super('start-up aborted by a stop signal');
    this.name = 'StartAborted';
  }
}

export function runService<S extends z.ZodType>(def: ServiceDefinition<S>): void {
  const config = loadConfigOrExit(def.name, def.schema, process.env);
  const log = createLogger(def.name, (config as { LOG_LEVEL?: string }).LOG_LEVEL ?? 'info');
  const aborter = new AbortController();
  const cleanups: Array<() => Promise<void> | void> = [];
  let stopService: (() => Promise<void>) | undefined;
  let stopping = false;

  const exit = (code: number) => {
    log.flush();
    process.exit(code);
  };
  const fatal = (err: unknown, msg: string) => {
    // connectNats has already said what was wrong with the credentials, in one line.
    if (!(err instanceof NatsConnectError)) log.fatal({ err }, msg);
    exit(1);
  };
  process.on('unhandledRejection', (err) => fatal(err, 'unhandled rejection'));
  process.on('uncaughtException', (err) => fatal(err, 'uncaught exception'));

  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    aborter.abort();
    const timer = setTimeout(() => {
      log.error({ timeoutMs: def.stopTimeoutMs(config) }, 'shutdown took too long');
      exit(1);
    }, def.stopTimeoutMs(config));
    timer.unref();
    try {
      await stopService?.();
      for (const fn of cleanups.reverse()) await fn();
      log.info('stopped');
      exit(0);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      exit(1);
    }
  };
  process.on('SIGTERM', (s) => void stop(s));
  process.on('SIGINT', (s) => void stop(s));

  const ctx: ServiceContext<z.output<S>> = {
    config,
    log,
    signal: aborter.signal,
    async connect(name) {
      const nc = await connectNats({ nats: def.nats(config), name, log });
      cleanups.push(() => (nc.isClosed() ? undefined : nc.drain().catch(() => nc.close())));
      return nc;
    },
    onStop(fn) {
      cleanups.push(fn);
    },
    retry: (what, fn, intervalMs) => retryQuietly(log, aborter.signal, what, fn, intervalMs),
    fatal,
  };

  def.start(ctx).then(
    (stopFn) => {
      if (stopFn) stopService = stopFn;
    },
    (err: unknown) => {
      if (err instanceof StartAborted || stopping) return; // the stop in progress exits
      fatal(err, 'cannot start');
    },
  );
}

async function retryQuietly<T>(log: Logger, signal: AbortSignal, what: string, fn: () => Promise<T>, intervalMs: number): Promise<T> {
  let waited = false;
  for (;;) {
    if (signal.aborted) throw new StartAborted();
    try {
      const result = await fn();
      if (waited) log.info(`${what}: ready`);
      return result;
    } catch (err) {
      if (!waited) log.info({ reason: reasonOf(err) }, `waiting for ${what}`);
      else log.debug({ reason: reasonOf(err) }, `still waiting for ${what}`);
      waited = true;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, intervalMs);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** One line of why, without a stack: the expected conditions of start-up are not bugs. */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) return err.message.slice(0, 300);
  return String(err).slice(0, 300);
}
