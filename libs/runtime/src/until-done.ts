/** Retrying a start-up step until it works (JetStream may come up after the service). */

/** Retries `fn` every `intervalMs` until it resolves (JetStream may not be up yet). */
export async function untilDone<T>(fn: () => Promise<T>, intervalMs: number, onError: (err: unknown) => void, signal?: AbortSignal): Promise<T | undefined> {
  for (;;) {
    if (signal?.aborted) return undefined;
    try {
      return await fn();
    } catch (err) {
      onError(err);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

