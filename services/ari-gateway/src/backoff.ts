/**
 * Reconnect delays: capped exponential backoff with jitter. Pure (no timers, no I/O), so the
 * reconnect policy is unit-tested without a socket.
 */

export interface BackoffOptions {
  /** Delay before the first retry (the upper end of its jitter range). */
  minMs: number;
  /** No delay is ever longer than this. */
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (0 = first retry): `minMs * 2^attempt`, capped at `maxMs`,
 * then jittered down by at most half ("equal jitter"). Keeping half of the delay means many
 * gateways losing the same Asterisk spread out without any of them retrying in a tight loop.
 */
export function backoffDelay(attempt: number, { minMs, maxMs }: BackoffOptions, random: () => number = Math.random): number {
  const cap = Math.max(1, maxMs);
  const base = Math.max(1, Math.min(minMs, cap));
  // 2^31 is far past any cap; clamping the exponent keeps the arithmetic finite.
  const ceiling = Math.min(cap, base * 2 ** Math.min(Math.max(0, attempt), 31));
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  return Math.round(Math.min(cap, Math.max(1, jittered)));
}
