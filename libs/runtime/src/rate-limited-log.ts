/**
 * Logs a recurring problem at most once per interval per reason, with how many were suppressed,
 * so hostile or broken input cannot flood the logs.
 */
import type { Logger } from './logger.js';

export type RateLimitedWarn = (reason: string, fields?: Record<string, unknown>) => void;

export function rateLimitedWarn(log: Logger, msg: string, intervalMs = 10_000): RateLimitedWarn {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (reason, fields = {}) => {
    const now = Date.now();
    const seen = last.get(reason);
    if (seen && now - seen.at < intervalMs) {
      seen.suppressed += 1;
      return;
    }
    log.warn({ ...fields, reason, suppressed: seen?.suppressed ?? 0 }, msg);
    last.set(reason, { at: now, suppressed: 0 });
  };
}
