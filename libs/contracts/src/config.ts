/**
 * Each service's configuration, parsed from environment variables. Names and defaults of the
 * system we replace are kept (ARI_BASE_URL, ARI_USER, ARI_PASSWORD, ARI_APP, AUDIOSOCKET_HOST,
 * AUDIOSOCKET_PORT, ARI_HTTP_TIMEOUT in seconds).
 */
import { z } from 'zod';
import { SubjectToken, toSubjectToken } from './ids.js';

const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');
const Seconds = z.coerce.number().positive().max(3600);
const Millis = z.coerce.number().int().nonnegative().max(3_600_000);

const common = {
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  LOG_LEVEL: LogLevel,
  ARI_APP: SubjectToken.default('ai_app'),
};

export const GatewayConfig = z
  .object({
    ...common,
    ARI_BASE_URL: z.url({ protocol: /^https?$/ }).default('http://asterisk:8088/ari'),
    ARI_USER: z.string().min(1).default('asterisk'),
    ARI_PASSWORD: z.string().default(''),
    /** Names this Asterisk server in subjects; defaults to ARI_BASE_URL's host name. */
    ARI_NODE: SubjectToken.optional(),
    ARI_HTTP_TIMEOUT: Seconds.default(10),
    /** WebSocket ping interval; a ping unanswered by the next one drops the connection. */
    ARI_PING_INTERVAL_MS: Millis.min(100).default(20_000),
    ARI_RECONNECT_MIN_MS: Millis.min(10).default(500),
    ARI_RECONNECT_MAX_MS: Millis.min(10).default(30_000),
  })
  .transform((c) => ({ ...c, ARI_NODE: c.ARI_NODE ?? toSubjectToken(new URL(c.ARI_BASE_URL).hostname) }));
export type GatewayConfig = z.infer<typeof GatewayConfig>;

export const ControllerConfig = z.object({
  ...common,
  AUDIOSOCKET_HOST: z.string().min(1).max(200).regex(/^[A-Za-z0-9._:[\]-]+$/).default('audiosocket'),
  AUDIOSOCKET_PORT: z.coerce.number().int().min(1).max(65535).default(7575),
  EXTERNAL_MEDIA_FORMAT: z.string().regex(/^[a-z0-9_]+$/).default('slin16'),
  EXTERNAL_MEDIA_ENCAPSULATION: z.enum(['audiosocket', 'rtp']).default('audiosocket'),
  EXTERNAL_MEDIA_TRANSPORT: z.enum(['tcp', 'udp']).default('tcp'),
  /** Used for command request timeouts: ARI's own timeout plus a margin for the bus. */
  ARI_HTTP_TIMEOUT: Seconds.default(10),
  /** How long setup waits for the media channel's own StasisStart. */
  MEDIA_STASIS_TIMEOUT_MS: Millis.min(1).default(5_000),
  /** Queue group the instances share new calls through. */
  CONTROLLER_QUEUE: SubjectToken.default('call-controller'),
  /** On SIGTERM, how long in-flight calls get to finish setting up or tearing down. */
  SHUTDOWN_GRACE_MS: Millis.default(10_000),
});
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
});
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
