/** Connects to NATS for a service: reconnects forever, logs state changes (never credentials). */
import { connect, type NatsConnection } from 'nats';
import type { Logger } from './logger.js';
import { redactUrl } from './logger.js';

export interface NatsOptions {
  url: string;
  name: string;
  log: Logger;
}

export async function connectNats({ url, name, log }: NatsOptions): Promise<NatsConnection> {
  const servers = url.split(',').map((s) => s.trim()).filter(Boolean);
  const safe = servers.map(redactUrl);
  log.info({ servers: safe }, 'connecting to NATS');
  const nc = await connect({
    servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    reconnectJitter: 250,
    waitOnFirstConnect: true,
    pingInterval: 10_000,
    // Skips an Error (stack capture) per request: requests are the controller's hot path.
    noAsyncTraces: true,
  });
  log.info({ server: nc.getServer() }, 'connected to NATS');
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'pingTimer') continue;
      const level = s.type === 'error' || s.type === 'disconnect' ? 'warn' : 'info';
      log[level]({ nats: s.type, data: typeof s.data === 'string' ? redactUrl(s.data) : undefined }, 'NATS status');
    }
  })();
  return nc;
}
