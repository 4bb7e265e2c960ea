/**
 * Each service's configuration, parsed from environment variables. Names and defaults of the
 * system we replace are kept (ARI_BASE_URL, ARI_USER, ARI_PASSWORD, ARI_APP, AUDIOSOCKET_HOST,
 * AUDIOSOCKET_PORT, ARI_HTTP_TIMEOUT in seconds).
 */
import { z } from 'zod';
import { SubjectToken, toSubjectToken } from './ids.js';
import { checkMediaConfig, mediaConfigFields, withMediaDefaults } from './media-config.js';
import { checkNatsConfig, evenWithOtherProblems, natsConfigFields, withNatsConnection } from './nats-config.js';

export * from './media-config.js';
export * from './nats-config.js';

const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');
const Seconds = z.coerce.number().positive().max(3600);
const Millis = z.coerce.number().int().nonnegative().max(3_600_000);

/** A JetStream stream, consumer or KV bucket name. */
const JsName = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);

/**
 * How long a delivered Stasis event may go without an ack or a heartbeat before it goes to
 * another controller: a controller that dies costs its callers about this long. Events being
 * worked on are kept with heartbeats (five per ack wait), so a setup may take longer.
 */
export const DEFAULT_CONSUMER_ACK_WAIT_MS = 1000;

const common = {
  ...natsConfigFields,
  LOG_LEVEL: LogLevel,
  ARI_APP: SubjectToken.default('ai_app'),
  /** The JetStream stream that keeps every `ari.event.>` message. */
  EVENTS_STREAM: JsName.default('ARI_EVENTS'),
};

/**
 * What a service needs to (re)create the JetStream assets it uses: any service that finds one
 * gone makes it again, so gateways and controllers know the replica count and the stream limits.
 */
const jetStreamFields = {
  /** Replicas of the event stream, its consumers and both KV buckets (3 on a 3-server NATS cluster). */
  JETSTREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** Bounds of the event stream (the gateway creates or updates it with these at start). */
  EVENTS_MAX_AGE_S: z.coerce.number().int().min(1).max(30 * 86_400).default(3600),
  EVENTS_MAX_BYTES: z.coerce.number().int().min(1024 * 1024).default(1024 * 1024 * 1024),
  /** Window in which a re-published event (same message id) is stored only once. */
  EVENTS_DUPLICATE_WINDOW_S: z.coerce.number().int().min(1).max(3600).default(120),
};

export const GatewayConfig = z
  .object({
    ...common,
    ...jetStreamFields,
    ARI_BASE_URL: z.url({ protocol: /^https?$/ }).default('http://asterisk:8088/ari'),
    ARI_USER: z.string().min(1).default('asterisk'),
    /** Or ARI_PASSWORD_FILE (see FILE_VARS). */
    ARI_PASSWORD: z.string().default(''),
    /** Names this Asterisk server in subjects; defaults to ARI_BASE_URL's host name. */
    ARI_NODE: SubjectToken.optional(),
    ARI_HTTP_TIMEOUT: Seconds.default(10),
    /** WebSocket ping interval; a ping unanswered by the next one drops the connection. */
    ARI_PING_INTERVAL_MS: Millis.min(100).default(20_000),
    ARI_RECONNECT_MIN_MS: Millis.min(10).default(500),
    ARI_RECONNECT_MAX_MS: Millis.min(10).default(30_000),
    /** KV bucket of the per-node leases: one gateway per node holds the ARI WebSocket. */
    LEASES_BUCKET: JsName.default('avb_gateway_leases'),
    /** A gateway that stops renewing loses the node this long after its last renewal. */
    GATEWAY_LEASE_TTL_MS: Millis.min(300).default(3000),
    /**
     * How much longer than the TTL a holder keeps the ARI socket while its renewals get no answer
     * at all (JetStream unavailable: a NATS node lost, a leader being elected). Nobody can take the
     * lease meanwhile either; a renewal that finds another holder gives it up at once. A bucket
     * leader lost on nats-server 2.9 is replaced in 5-8 s, and in over 12 s on a loaded machine
     * (a clean-clone suite run lost the lease at the 10 s grace's deadline when the server leading
     * the calls bucket was killed: 117 callers refused), hence the default.
     */
    GATEWAY_LEASE_GRACE_MS: Millis.max(60_000).default(20_000),
    /** The backoff starts again from its first step only after a connection stayed up this long. */
    ARI_RECONNECT_STABLE_MS: Millis.min(10).default(10_000),
    /** On SIGTERM, how long in-flight commands get before they are answered with `timeout`. */
    SHUTDOWN_GRACE_MS: Millis.default(5_000),
    /** Bytes of events kept while NATS is unreachable; more are dropped and counted (`publishFailed`). */
    NATS_PUBLISH_BUFFER_BYTES: z.coerce.number().int().min(0).max(1024 * 1024 * 1024).default(8 * 1024 * 1024),
  })
  .superRefine(checkNatsConfig, evenWithOtherProblems)
  .transform((c) => withNatsConnection({ ...c, ARI_NODE: c.ARI_NODE ?? toSubjectToken(new URL(c.ARI_BASE_URL).hostname) }));
export type GatewayConfig = z.infer<typeof GatewayConfig>;

export const ControllerConfig = z.object({
  ...common,
  ...jetStreamFields,
  ...mediaConfigFields,
  /** Used for command request timeouts: ARI's own timeout plus a margin for the bus. */
  ARI_HTTP_TIMEOUT: Seconds.default(10),
  /** Queue group the instances share new calls through. */
  CONTROLLER_QUEUE: SubjectToken.default('call-controller'),
  /** On SIGTERM, how long in-flight calls get to finish setting up or tearing down. */
  SHUTDOWN_GRACE_MS: Millis.default(10_000),
  /** KV bucket of the shared call state. */
  CALLS_BUCKET: JsName.default('avb_calls'),
  /** Entries not refreshed for this long expire (reconciliation refreshes live calls). */
  CALL_STATE_TTL_S: z.coerce.number().int().min(60).max(30 * 86_400).default(6 * 3600),
  /**
   * Callers one instance sets up at once (0: no limit); more wait, in arrival order, until a setup
   * is done: in a burst the first callers are not slowed down by the last (docs/benchmark.md).
   * Off by default: with 64, setups stuck on commands lost with a killed NATS server held every
   * slot, and 85 callers waiting behind them hung up unserved (cluster.test.ts, 1 run of 3).
   */
  SETUP_CONCURRENCY: z.coerce.number().int().min(0).max(100_000).default(0),
  /** An event neither acked nor kept alive (heartbeat) this long goes to another instance. */
  CONSUMER_ACK_WAIT_MS: Millis.min(500).default(DEFAULT_CONSUMER_ACK_WAIT_MS),
  /** How often Asterisk's bridges and channels are compared with the call state. */
  RECONCILE_INTERVAL_S: z.coerce.number().int().min(1).max(86_400).default(60),
  /** Resources and calls younger than this are left to the setup still working on them. */
  RECONCILE_GRACE_MS: Millis.default(10_000),
  /** When no gateway answers (no responders), how long a command is retried before it fails. */
  GATEWAY_WAIT_MS: Millis.default(5_000),
  /**
   * How long a JetStream request (a call-state read or write, a consumer's info) waits for its
   * answer. One sent while a replicated bucket elects a leader may get none; the event comes
   * back a second later and tries again. nats.js's 5 s held callers 5 s more after an election.
   */
  JETSTREAM_TIMEOUT_MS: Millis.min(250).default(2_000),
  /** When the media server cannot be reached: hang the caller up, or continue it in the dialplan. */
  EXTERNAL_MEDIA_FAILURE_ACTION: z.enum(['hangup', 'continue']).default('hangup'),
})
  .superRefine(checkNatsConfig, evenWithOtherProblems)
  .superRefine(checkMediaConfig, evenWithOtherProblems)
  // One transform (not two in a row): readers of the schema find the env names at `.in.shape`.
  .transform((c) => withNatsConnection(withMediaDefaults(c)));
export type ControllerConfig = z.infer<typeof ControllerConfig>;

export const HealthConfig = z.object({
  ...common,
  HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(9000),
  HEALTH_HOST: z.string().default('0.0.0.0'),
  /** /health and /metrics reuse one discovery this long, so a flood of requests costs one. */
  HEALTH_CACHE_MS: Millis.max(60_000).default(1_000),
  /** How long discovery waits for instances to answer `$SRV.STATS`; a hung one is left out. */
  HEALTH_DISCOVERY_WAIT_MS: Millis.min(50).max(900).default(400),
  /** An instance that stopped answering is still listed (as not answering) this long. */
  HEALTH_FORGET_AFTER_S: Seconds.default(60),
})
  .superRefine(checkNatsConfig, evenWithOtherProblems)
  .transform(withNatsConnection);
export type HealthConfig = z.infer<typeof HealthConfig>;

/** Parses env with a schema; returns every problem at once instead of throwing on the first. */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): { ok: true; config: z.output<S> } | { ok: false; problems: string[] } {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (parsed.success) return { ok: true, config: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`),
  };
}
