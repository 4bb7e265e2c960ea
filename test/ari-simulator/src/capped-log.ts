// Append-only logs with a size cap: the benchmark runs millions of requests through one simulator.

/** Pushes `entry`, dropping the oldest tenth at once when over `limit` so trimming stays amortised O(1). */
export function pushCapped<T>(log: T[], entry: T, limit: number): void {
  if (limit <= 0) return;
  log.push(entry);
  if (log.length > limit) log.splice(0, log.length - limit + Math.ceil(limit / 10));
}
