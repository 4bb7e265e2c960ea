/**
 * Reuses one result for `ttlMs`: while it is fresh (or still being computed) every caller shares
 * it, so a flood of requests costs one discovery per interval, never one each.
 */
export function cached<T>(load: () => Promise<T>, ttlMs: number, now: () => number = Date.now): () => Promise<T> {
  let entry: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!entry || now() - entry.at >= ttlMs) {
      const value = load();
      entry = { at: now(), value };
      // A failed load is not kept: the next caller tries again.
      value.catch(() => {
        if (entry?.value === value) entry = undefined;
      });
    }
    return entry.value;
  };
}
