/**
 * Keeps a group of JetStream assets in place (see jetstream-topology.ts for the assets): made
 * sure of now, again soon after a hint that one is gone (whoever sees a "not found" or "no
 * responders" first says so), and optionally every `recheckMs` in any case. Hints are cheap:
 * at most one check runs at a time (callers share it) and at most one starts per
 * `minIntervalMs`; a hint inside the interval is served at its end.
 */
import type { Logger } from './logger.js';
import { rateLimitedWarn } from './rate-limited-log.js';

export interface SelfHealing {
  /** Makes sure of everything now (joins a check in flight); rejects when JetStream is not reachable. */
  ensure(): Promise<void>;
  /** A hint that something may be gone: checks again within `minIntervalMs`. */
  recheckSoon(): void;
  /** Calls recheckSoon when `err` says an asset is missing; returns `err` for a rethrow. */
  noticeError<E>(err: E): E;
  stop(): void;
}

export interface SelfHealingOptions {
  /** What is kept, for the log ("the event stream and its consumers"). */
  what: string;
  minIntervalMs: number;
  recheckMs?: number;
  log: Logger;
}

export function keepInPlace(ensureAll: () => Promise<void>, opts: SelfHealingOptions): SelfHealing {
  let last = -Infinity;
  let running: Promise<void> | undefined;
  let soon: NodeJS.Timeout | undefined;
  let stopped = false;

  const ensure = () => {
    running ??= (async () => {
      last = Date.now();
      try {
        await ensureAll();
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  // While a leader is being elected every check fails for seconds: one line per reason and 10 s.
  const warn = rateLimitedWarn(opts.log, 'cannot make sure of JetStream assets yet');
  const ensureQuietly = () => void ensure().catch((err: unknown) => warn(String((err as { code?: unknown })?.code ?? (err as Error)?.message), { what: opts.what }));
  const periodic = opts.recheckMs === undefined ? undefined : setInterval(ensureQuietly, opts.recheckMs);
  const recheckSoon = () => {
    if (stopped) return;
    soon ??= setTimeout(() => {
      soon = undefined;
      ensureQuietly();
    }, Math.max(0, last + opts.minIntervalMs - Date.now()));
  };

  return {
    ensure,
    recheckSoon,
    noticeError(err) {
      if (looksMissing(err)) recheckSoon();
      return err;
    },
    stop() {
      stopped = true;
      clearInterval(periodic);
      clearTimeout(soon);
    },
  };
}

const API_NOT_FOUND = 404;
const NO_RESPONDERS = 503;

/** An API 404, or a publish/request nobody answered (no stream listens on the subject any more). */
export function isNotFound(err: unknown): boolean {
  const e = err as { code?: string | number; api_error?: { code?: number } } | undefined;
  return e?.api_error?.code === API_NOT_FOUND || e?.code === '404' || e?.code === API_NOT_FOUND;
}

/**
 * True for errors that say an asset may be gone: not found (stream, consumer, bucket) or "no
 * responders" (JetStream has no stream for the subject, or is electing a leader: checking then
 * is harmless, the check is idempotent and throttled).
 */
export function looksMissing(err: unknown): boolean {
  if (isNotFound(err)) return true;
  const e = err as { code?: string | number; message?: unknown } | undefined;
  if (e?.code === '503' || e?.code === NO_RESPONDERS) return true;
  return typeof e?.message === 'string' && /not found|no responders/i.test(e.message);
}
