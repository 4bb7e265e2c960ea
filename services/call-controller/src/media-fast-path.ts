/**
 * The media channel's StasisStart on a plain (non-durable) subscription every instance has: the
 * instance that created a media channel waits for it, and the durable copy may go to any
 * instance. Decoded only while some call here waits for its media channel.
 */
import { StasisStart, parseEventSubject, subjects } from '@avb/contracts';
import type { Logger } from '@avb/runtime';
import type { NatsConnection, Subscription } from 'nats';
import type { CallActors } from './call-actors.js';
import type { CallIntake } from './call-intake.js';
import type { EventDecoder } from './event-decoder.js';

export function watchMediaStarts(nc: NatsConnection, opts: { app: string; actors: CallActors; intake: CallIntake; decode: EventDecoder; log: Logger }): Subscription {
  return nc.subscribe(subjects.ariEvent(opts.app, '*', 'StasisStart'), {
    callback: (err, msg) => {
      if (err) return opts.log.error({ err }, 'subscription failed');
      if (!opts.actors.watchingMedia()) return;
      const node = parseEventSubject(msg.subject)?.node;
      const event = node && opts.decode(msg.subject, msg.data, StasisStart);
      if (node && event) opts.intake.onCoreStasisStart(node, event);
    },
  });
}
