/**
 * What instances answer to `$SRV.STATS.<service>` (NATS services API), read by the health service
 * for /health and /metrics: the envelope, and the `data` of the gateway's and the controller's
 * endpoint. Objects are loose and counters default to zero on purpose: an instance newer or older
 * than the health service may report more or less, and that must not make it "invalid".
 * Histograms are Prometheus-style: cumulative counts keyed by upper bound in ms, plus `+Inf`.
 */
import { z } from 'zod';

const Count = z.number().int().nonnegative();
const Counts = z.record(z.string(), Count);

/** One `$SRV.STATS` reply: who answered, and each endpoint's stats with its `data`. */
export const ServiceStatsReply = z.looseObject({
  name: z.string(),
  id: z.string(),
  version: z.string(),
  /** When the instance's service started (ISO 8601). */
  started: z.string(),
  metadata: z.record(z.string(), z.string()).nullish(),
  endpoints: z.array(z.looseObject({ name: z.string(), data: z.unknown() })).nullish(),
});
export type ServiceStatsReply = z.infer<typeof ServiceStatsReply>;

export const MsHistogram = z.looseObject({
  count: Count,
  /** Sum of the observations, in ms. */
  sum: z.number().nonnegative(),
  /** Cumulative count per upper bound (ms, as a string), and `+Inf`. */
  buckets: z.record(z.string(), Count),
});
export type MsHistogram = z.infer<typeof MsHistogram>;

export const GatewayCommandStats = z.looseObject({
  ok: Count.default(0),
  error: Count.default(0),
  /** Errors by reply code. */
  codes: Counts.default({}),
  latencyMsSum: z.number().nonnegative().default(0),
  latencyCount: Count.default(0),
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
  eventsRelayed: Counts.default({}),
  framesDropped: Counts.default({}),
  reconnects: Count.default(0),
  commands: z.record(z.string(), GatewayCommandStats).default({}),
  unknownCommands: Count.default(0),
});
export type GatewayStatsData = z.infer<typeof GatewayStatsData>;

export const ControllerStatsData = z.looseObject({
  instance: z.string().optional(),
  app: z.string().optional(),
  startedAt: z.string().optional(),
  uptimeSeconds: z.number().nonnegative().optional(),
  /** Cluster-wide active calls (from shared call state), when the controller knows it. */
  activeCalls: Count.optional(),
  /** This instance's counters. */
  calls: z.looseObject({
    /** Calls this instance holds; absent once call state is shared (then see `activeCalls`). */
    active: Count.optional(),
    started: Count.default(0),
    ended: Count.default(0),
    failed: Count.default(0),
    eventsDropped: Count.default(0),
    setupMs: MsHistogram.default({ count: 0, sum: 0, buckets: {} }),
  }).default({ started: 0, ended: 0, failed: 0, eventsDropped: 0, setupMs: { count: 0, sum: 0, buckets: {} } }),
});
export type ControllerStatsData = z.infer<typeof ControllerStatsData>;
