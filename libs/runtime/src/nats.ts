/**
 * Connects to NATS for a service: authenticates with the method the config names, uses TLS when
 * configured, reconnects forever, logs state changes (never credentials).
 */
import {
  connect, credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type NatsConnection,
} from 'nats';
import type { NatsConnectionConfig } from '@avb/contracts';
import type { Logger } from './logger.js';
import { redactUrl } from './logger.js';

export interface NatsOptions {
  /** The parsed config's `nats` part: servers, auth and TLS. */
  nats: NatsConnectionConfig;
  name: string;
  log: Logger;
}

const encoder = new TextEncoder();

/** nats.js options for a parsed NATS config; the secrets go only here. */
export function natsConnectionOptions(nats: NatsConnectionConfig): ConnectionOptions {
  const opts: ConnectionOptions = { servers: nats.servers };
  if (nats.user !== undefined) Object.assign(opts, { user: nats.user, pass: nats.pass ?? '' });
  if (nats.token !== undefined) opts.token = nats.token;
  if (nats.creds !== undefined) opts.authenticator = credsAuthenticator(encoder.encode(nats.creds));
  if (nats.nkeySeed !== undefined) opts.authenticator = nkeyAuthenticator(encoder.encode(nats.nkeySeed));
  if (nats.tls !== undefined) opts.tls = { ...nats.tls };
  return opts;
}

/** A failed first connection: the reason without the server's or the client's details. */
export class NatsConnectError extends Error {
  constructor(readonly code: string, cause: unknown) {
    super(`cannot connect to NATS: ${code}`, { cause });
    this.name = 'NatsConnectError';
  }
}

export async function connectNats(opts: NatsOptions): Promise<NatsConnection> {
  const { nats, name, log } = opts;
  const safe = nats.servers.map(redactUrl);
  log.info({ servers: safe, auth: nats.auth, tls: nats.tls !== undefined }, 'connecting to NATS');
  let nc: NatsConnection;
  try {
    nc = await connect({
      ...natsConnectionOptions(nats),
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      reconnectJitter: 250,
      waitOnFirstConnect: true,
      pingInterval: 10_000,
      // Skips an Error (stack capture) per request: requests are the controller's hot path.
      noAsyncTraces: true,
    });
  } catch (err) {
    // Wrong credentials or TLS setup do not heal by retrying: say which, clearly, and give up.
    const code = describeConnectError(err);
    log.fatal({ servers: safe, auth: nats.auth, tls: nats.tls !== undefined, reason: code }, 'cannot connect to NATS');
    throw new NatsConnectError(code, err);
  }
  log.info({ server: nc.getServer(), auth: nats.auth }, 'connected to NATS');
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'pingTimer') continue;
      const level = s.type === 'error' || s.type === 'disconnect' ? 'warn' : 'info';
      log[level]({ nats: s.type, data: typeof s.data === 'string' ? redactUrl(s.data) : s.type === 'error' ? describeConnectError(s.data) : undefined }, 'NATS status');
    }
  })();
  return nc;
}

/** `authorization violation ...`, `SELF_SIGNED_CERT_IN_CHAIN`, ...: codes, not messages (those may quote input). */
function describeConnectError(err: unknown): string {
  if (err === null || typeof err !== 'object') return 'unknown';
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (code === 'AUTHORIZATION_VIOLATION' || (typeof message === 'string' && /authorization violation/i.test(message))) {
    return 'authorization violation (wrong or missing NATS credentials)';
  }
  return typeof code === 'string' && code !== '' ? code : 'unknown';
}
