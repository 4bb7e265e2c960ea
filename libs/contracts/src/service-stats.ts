/**
 * The `data` each instance returns in its `$SRV.STATS` endpoint stats (NATS services API), read
 * by the health service for /health and /metrics. Objects are loose on purpose: a newer instance
 * may report more than an older health service knows, and that must not make it "invalid".
 * Histograms are Prometheus-style: cumulative counts keyed by upper bound in ms, plus `+Inf`.
 */
import { z } from 'zod';

const Count = z.number().int().nonnegative();

export const MsHistogram = z.looseObject({
  count: Count,
  /** Sum of the observations, in ms. */
  sum: z.number().nonnegative(),
  /** Cumulative count per upper bound (ms, as a string), and `+Inf`. */
  buckets: z.record(z.string(), Count),
});
export type MsHistogram = z.infer<typeof MsHistogram>;

export const GatewayCommandStats = z.looseObject({
  ok: Count,
  error: Count,
  /** Errors by reply code. */
  codes: z.record(z.string(), Count),
  latencyMsSum: z.number().nonnegative(),
  latencyCount: Count,
  /** Latency of the ARI requests made for this command, by outcome (`ok` or an error code). */
  latencyMs: z.record(z.string(), MsHistogram).optional(),
});
export type GatewayCommandStats = z.infer<typeof GatewayCommandStats>;

export const GatewayStatsData = z.looseObject({
  app: z.string().optional(),
  node: z.string().optional(),
  instance: z.string().optional(),
  /** `active` or `standby` once gateways take over from each other; absent means active. */
  role: z.string().optional(),
  ari: z.looseObject({
    /** A GatewayStatus state; kept a plain string so new states do not break older readers. */
    state: z.string(),
    since: z.string(),
    reason: z.string().optional(),
  }),
  eventsRelayed: z.record(z.string(), Count),
  framesDropped: z.record(z.string(), Count),
  reconnects: Count,
  commands: z.record(z.string(), GatewayCommandStats),
  unknownCommands: Count,
});
export type GatewayStatsData = z.infer<typeof GatewayStatsData>;

export const ControllerStatsData = z.looseObject({
  instance: z.string(),
  app: z.string(),
  startedAt: z.string(),
  uptimeSeconds: z.number().nonnegative(),
  /** Cluster-wide active calls (from shared call state), when the controller knows it. */
  activeCalls: Count.optional(),
  /** This instance's counters. */
  calls: z.looseObject({
    /** Calls this instance holds; absent once call state is shared (then see `activeCalls`). */
    active: Count.optional(),
    started: Count,
    ended: Count,
    failed: Count,
    eventsDropped: Count,
    setupMs: MsHistogram,
  }),
});
export type ControllerStatsData = z.infer<typeof ControllerStatsData>;
