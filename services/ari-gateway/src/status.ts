/**
 * The ARI connection state of this gateway: kept here, logged on every change and published as
 * GatewayStatus on `ari.status.<app>.<node>` so controllers and health checks see it.
 */
import { subjects, type AriConnectionState, type GatewayStatus } from '@avb/contracts';
import type { Logger } from '@avb/runtime';

export interface StatusTracker {
  set(state: AriConnectionState, reason?: string): void;
  current(): GatewayStatus;
}

export interface StatusOptions {
  app: string;
  node: string;
  instance: string;
  publish(subject: string, data: Uint8Array): void;
  log: Logger;
}

const encoder = new TextEncoder();

export function createStatusTracker({ app, node, instance, publish, log }: StatusOptions): StatusTracker {
  const subject = subjects.ariStatus(app, node);
  let status: GatewayStatus = { app, node, instance, state: 'connecting', since: new Date().toISOString() };

  const report = (previous: AriConnectionState) => {
    const fields = { state: status.state, reason: status.reason, previous };
    switch (status.state) {
      case 'connected':
        log.info(fields, 'ARI connected');
        break;
      case 'disconnected':
        // Losing a live connection and failing to (re)connect are different news for an operator.
        if (previous === 'connecting') log.warn(fields, 'ARI connect failed');
        else log.warn(fields, 'ARI connection lost');
        break;
      case 'replaced':
        log.error(fields, 'ARI application taken over by another WebSocket: this gateway no longer receives events and does not reconnect while that socket stays open');
        break;
      case 'connecting':
        log.debug(fields, 'ARI connecting');
        break;
      case 'stopped':
        log.info(fields, 'ARI connection stopped');
        break;
    }
  };

  return {
    set(state, reason) {
      const previous = status.state;
      status = { app, node, instance, state, since: new Date().toISOString(), ...(reason === undefined ? {} : { reason }) };
      report(previous);
      try {
        publish(subject, encoder.encode(JSON.stringify(status)));
      } catch (err) {
        // A closed NATS connection (only during shutdown) must not break the socket loop.
        log.warn({ err, state }, 'cannot publish ARI status');
      }
    },
    current: () => status,
  };
}
