/** Publishes call lifecycle events on `call.event.<app>.<node>.<kind>`. */
import { subjects, type CallEvent, type CallEventKind } from '@avb/contracts';
import type { NatsConnection } from 'nats';

const encoder = new TextEncoder();

export function createCallEventPublisher(nc: NatsConnection) {
  return (kind: CallEventKind, event: CallEvent): void => {
    if (nc.isClosed()) return;
    nc.publish(subjects.callEvent(event.app, event.node, kind), encoder.encode(JSON.stringify(event)));
  };
}
