/**
 * Tells the controllers when this gateway's NATS connection is back after it was lost. Command
 * requests queued for the lost connection and replies written to it just before it went are
 * gone without a word; the requester would wait its whole timeout (ARI's plus a margin, 12 s by
 * default) before it tries again. On this notice it stops waiting for what it had in flight to
 * this node (ari-commands.ts).
 */
import { subjects, type GatewayReconnected } from '@avb/contracts';
import type { Logger } from '@avb/runtime';
import type { NatsConnection } from 'nats';
import type { Publish } from './safe-publish.js';

const encoder = new TextEncoder();

export function announceReconnects(nc: NatsConnection, ids: { app: string; node: string; instance: string }, publish: Publish, log: Logger): void {
  const subject = subjects.gatewayReconnected(ids.app, ids.node);
  void (async () => {
    // Ends when the connection closes.
    for await (const s of nc.status()) {
      if (s.type !== 'reconnect') continue;
      const notice: GatewayReconnected = { ...ids, at: new Date().toISOString() };
      log.debug('NATS connection back: announced to the controllers');
      publish(subject, encoder.encode(JSON.stringify(notice)));
    }
  })();
}
