/** pino JSON logger with a fixed redaction list: credentials never reach a log line. */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths that may hold a secret, wherever they appear in a logged object. */
export const REDACT_PATHS = [
  'password', '*.password', 'pass', '*.pass', 'token', '*.token', 'authorization', '*.authorization',
  'headers.authorization', '*.headers.authorization', 'ARI_PASSWORD', '*.ARI_PASSWORD',
  'NATS_PASSWORD', '*.NATS_PASSWORD', 'NATS_TOKEN', '*.NATS_TOKEN', 'api_key', '*.api_key',
  // Secrets read from files (FILE_VARS) and the parsed config's `nats` part, logged alone or inside a config.
  'NATS_CREDS_CONTENT', '*.NATS_CREDS_CONTENT', 'NATS_NKEY_SEED', '*.NATS_NKEY_SEED', 'NATS_TLS_KEY', '*.NATS_TLS_KEY',
  'creds', '*.creds', 'nkeySeed', '*.nkeySeed', 'tls.key', '*.tls.key',
  'nats.pass', '*.nats.pass', 'nats.token', '*.nats.token', 'nats.creds', '*.nats.creds',
  'nats.nkeySeed', '*.nats.nkeySeed', 'nats.tls.key', '*.nats.tls.key',
];

export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: service,
      level,
      base: { service, pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ sync: false }),
  );
}

/** Removes userinfo and credential-bearing query params from a URL before it is logged. */
export function redactUrl(raw: string): string {
  // `host:port` as nats.js reports servers: no scheme, so only userinfo can hide in it.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return raw.replace(/^[^@/]*@/, '');
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    for (const key of ['api_key', 'password', 'token']) if (url.searchParams.has(key)) url.searchParams.set(key, 'redacted');
    return url.toString();
  } catch {
    return '[invalid url]';
  }
}
