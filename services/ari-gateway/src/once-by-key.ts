/**
 * At most one run per key for a while: a second run of a key whose first is in flight or done
 * gets the first one's outcome. For externalMedia by channel id (command-service.ts).
 */
export interface OnceByKey<T> {
  /** `repeated`: the key was run before; `outcome` is that run's. */
  run(key: string, fn: () => Promise<T>): { outcome: Promise<T>; repeated: boolean };
  readonly size: number;
}

export interface OnceByKeyOptions<T> {
  /** How long a key is remembered after its run started. */
  ttlMs: number;
  /** Most keys remembered; the oldest go first. */
  maxKeys: number;
  /** An outcome after which the key may run again (forgotten as soon as it settles). */
  forget(outcome: T): boolean;
  now?: () => number;
}

export function createOnceByKey<T>({ ttlMs, maxKeys, forget, now = () => performance.now() }: OnceByKeyOptions<T>): OnceByKey<T> {
  // Insertion order is age order: the oldest entries are at the front.
  const runs = new Map<string, { at: number; outcome: Promise<T> }>();
  const prune = (t: number) => {
    for (const [key, entry] of runs) {
      if (entry.at > t - ttlMs && runs.size < maxKeys) return;
      runs.delete(key);
    }
  };
  return {
    run(key, fn) {
      const t = now();
      prune(t);
      const known = runs.get(key);
      if (known) return { outcome: known.outcome, repeated: true };
      const entry = { at: t, outcome: fn() };
      runs.set(key, entry);
      void entry.outcome.then((outcome) => {
        if (forget(outcome) && runs.get(key) === entry) runs.delete(key);
      }, () => {
        if (runs.get(key) === entry) runs.delete(key);
      });
      return { outcome: entry.outcome, repeated: false };
    },
    get size() {
      return runs.size;
    },
  };
}
