/**
 * What instances answer to `$SRV.STATS.<service>` (NATS services API), read by the health service
 * for /health and /metrics: the envelope, and the `data` of the gateway's and the controller's
 * endpoint. Objects are loose and counters default to zero on purpose: an instance newer or older
 * than the health service may report more or less, and that must not make it "invalid".
 * Histograms are Prometheus-style: cumulative counts keyed by upper bound in ms, plus `+Inf`.
 *
 * Every figure is this instance's own, except the controller's `activeCalls`, which is counted
 * in the shared call state and so is the same (cluster-wide) figure from every controller.
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
  /** Events (and status messages) that could not be published on NATS, by reason. */
  publishFailed: Counts.default({}),
  /** The event stream's side of publishing: what was sent to it and what it acknowledged. */
  stream: z.looseObject({
    published: Count.default(0),
    /** Acknowledged as stored (only StasisStart and StasisEnd ask for an acknowledgement). */
    stored: Count.default(0),
    /** Acknowledged as a duplicate of an event stored before (same message id). */
    duplicates: Count.default(0),
    /** Attempts refused by JetStream, answered "no responders", or not acknowledged in time. */
    failed: Count.default(0),
    /** StasisStart/StasisEnd published again (same message id) after a failed attempt. */
    retried: Count.default(0),
    /** Given up (not stored within the retry period): no controller will see them. */
    lost: Count.default(0),
  }).default({ published: 0, stored: 0, duplicates: 0, failed: 0, retried: 0, lost: 0 }),
});
export type GatewayStatsData = z.infer<typeof GatewayStatsData>;

const zeroSetup = { count: 0, sum: 0, buckets: {} };

export const ControllerStatsData = z.looseObject({
  instance: z.string().optional(),
  app: z.string().optional(),
  startedAt: z.string().optional(),
  uptimeSeconds: z.number().nonnegative().optional(),
  /**
   * Cluster-wide: calls in the shared call state (every node), the same figure from every
   * controller; recounted every few seconds. Never add it up over instances.
   */
  activeCalls: Count.optional(),
  /** This instance's own counters, since it started. */
  calls: z.looseObject({
    /** Older controllers: the calls this instance held (before call state was shared). */
    active: Count.optional(),
    /** Calls this instance is setting up or tearing down right now. */
    inSetupOrTeardown: Count.default(0),
    started: Count.default(0),
    ended: Count.default(0),
    failed: Count.default(0),
    eventsDropped: Count.default(0),
    setupMs: MsHistogram.default(zeroSetup),
  }).default({ inSetupOrTeardown: 0, started: 0, ended: 0, failed: 0, eventsDropped: 0, setupMs: zeroSetup }),
  /**
   * This instance's media path: how it asks for media channels and whether they come up in time.
   * `degraded` while media channels take longer than MEDIA_DEGRADED_AFTER_MS to come up, or ARI
   * commands about them time out (a chan_websocket client connection stalls Asterisk so: a media
   * server that accepts TCP and never answers the WebSocket handshake). Absent from older controllers.
   */
  media: z.looseObject({
    transport: z.string().optional(),
    connection: z.string().optional(),
    /** `ok` or `degraded`; a plain string so new states do not break older readers. */
    state: z.string().default('ok'),
    /** Degraded since (ISO 8601). */
    since: z.string().optional(),
    reason: z.string().optional(),
    /** Media channels that took longer than the threshold to come up, since the instance started. */
    slow: Count.default(0),
    /** ARI commands about media channels that timed out, since the instance started. */
    timeouts: Count.default(0),
  }).optional(),
  /** This instance's reconciliations (Asterisk compared with the call state), since it started. */
  reconcile: z.looseObject({
    runs: Count.default(0),
    /** Runs that could not be done (no gateway for the node, the call state unreadable). */
    failed: Count.default(0),
    /** Calls whose caller no longer existed, ended. */
    callsEnded: Count.default(0),
    /** Bridges of ours whose call was gone, destroyed. */
    bridgesRemoved: Count.default(0),
    /** Media channels of ours whose call was gone, hung up. */
    mediaChannelsRemoved: Count.default(0),
    /** Callers found waiting in Stasis with no call, given one. */
    callersAdopted: Count.default(0),
    /** Live calls whose state entry was refreshed (so it does not expire). */
    callsRefreshed: Count.default(0),
  }).default({ runs: 0, failed: 0, callsEnded: 0, bridgesRemoved: 0, mediaChannelsRemoved: 0, callersAdopted: 0, callsRefreshed: 0 }),
});
export type ControllerStatsData = z.infer<typeof ControllerStatsData>;
