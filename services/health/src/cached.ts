/**
 * Reuses one result for `ttlMs`: while it is fresh every caller shares it, so a flood of requests
 * costs one load per interval, never one each. Once it is stale a refresh starts, and callers get
 * the previous result meanwhile as long as it is younger than `maxStaleMs`, so under steady
 * traffic nobody waits for a load; after a quiet spell the first caller waits for a fresh one.
 */
export function cached<T>(
  load: () => Promise<T>,
  ttlMs: number,
  maxStaleMs = 2 * ttlMs,
  now: () => number = Date.now,
): () => Promise<T> {
  let last: { at: number; value: T } | undefined;
  let inflight: Promise<T> | undefined;

  const refresh = () => {
    if (inflight) return inflight;
    const startedAt = now();
    const p = load().then(
      (value) => {
        last = { at: startedAt, value };
        return value;
      },
    ).finally(() => {
      if (inflight === p) inflight = undefined;
    });
    inflight = p;
    // A failed load keeps nothing: callers that waited see the error, the next one tries again.
    p.catch(() => undefined);
    return p;
  };

  return () => {
    const age = last === undefined ? Infinity : now() - last.at;
    if (age < ttlMs) return Promise.resolve(last!.value);
    const fresh = refresh();
    return age < maxStaleMs ? Promise.resolve(last!.value) : fresh;
  };
}
