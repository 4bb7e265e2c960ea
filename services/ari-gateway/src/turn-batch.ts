/**
 * Runs queued work at the end of the current event-loop turn (setImmediate), all of it in one
 * synchronous pass. The gateway sends everything it has for NATS from that pass: nats.js flushes
 * what was written in one pass as one socket write, so the frames and command replies that
 * arrived in one turn leave in one syscall instead of one each (on loopback a write also pays for
 * the receiver's TCP stack, so writes were the gateway's largest cost).
 */

export interface TurnBatch {
  /** Queues `fn`; queued functions run in order at the end of this turn. */
  defer(fn: () => void): void;
}

export function createTurnBatch(onError: (err: unknown) => void): TurnBatch {
  let queue: Array<() => void> = [];
  const run = () => {
    const batch = queue;
    queue = [];
    for (const fn of batch) {
      try {
        fn();
      } catch (err) {
        onError(err);
      }
    }
  };
  return {
    defer(fn) {
      if (queue.length === 0) setImmediate(run);
      queue.push(fn);
    },
  };
}

/**
 * The gateway's one batch, shared by the ARI socket (frames) and the command service (replies)
 * so that both go out in the same pass. A throwing function fails as it would have unbatched.
 */
export const endOfTurn: TurnBatch = createTurnBatch((err) => queueMicrotask(() => {
  throw err;
}));
