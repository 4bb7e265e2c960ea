/** Publishes call lifecycle events on `call.event.<app>.<node>.<kind>`. */
import { subjects, type CallEvent } from '@avb/contracts';
import type { NatsConnection } from 'nats';

const encoder = new TextEncoder();

/** Throws when NATS refuses the publish (closed or draining); the actor logs it and goes on. */
export function createCallEventPublisher(nc: NatsConnection) {
  return (event: CallEvent): void => {
    if (nc.isClosed() || nc.isDraining()) throw new Error('NATS connection closed or draining');
    nc.publish(subjects.callEvent(event.app, event.node, event.kind), encoder.encode(JSON.stringify(event)));
  };
}
