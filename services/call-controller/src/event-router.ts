/**
 * The fast path for calls this instance is setting up, on plain (non-durable) subscriptions
 * every instance has: a media channel's StasisStart wakes the setup waiting for it, and a
 * StasisEnd of a channel this instance is working on aborts its setup at once. The durable
 * consumers (durable-events.ts) remain the source of truth for starting and ending calls.
 */
import { StasisEnd, StasisStart, parseEventSubject, subjects } from '@avb/contracts';
import type { Logger } from '@avb/runtime';
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { CallRegistry } from './call-registry.js';
import { isMediaStasisStart, type EventDecoder } from './event-decoder.js';

export interface EventRouterOptions {
  app: string;
  registry: CallRegistry;
  decode: EventDecoder;
  log: Logger;
}

export class EventRouter {
  private readonly subs: Subscription[] = [];

  constructor(private readonly nc: NatsConnection, private readonly opts: EventRouterOptions) {}

  start(): void {
    const { app, registry, decode } = this.opts;
    const on = (type: string, handle: (node: string, msg: Msg) => void) =>
      this.nc.subscribe(subjects.ariEvent(app, '*', type), {
        callback: (err, msg) => {
          if (err) return this.opts.log.error({ err }, 'subscription failed');
          const node = parseEventSubject(msg.subject)?.node;
          if (node) handle(node, msg);
        },
      });
    this.subs.push(
      on('StasisStart', (node, msg) => {
        // Cheap pre-check: only instances waiting for some media channel decode the event.
        if (!registry.waitingForMedia()) return;
        const event = decode(msg.subject, msg.data, StasisStart);
        if (event && isMediaStasisStart(event)) registry.mediaEntered(node, event.channel.id);
      }),
      on('StasisEnd', (node, msg) => {
        if (registry.size === 0) return;
        const event = decode(msg.subject, msg.data, StasisEnd);
        if (event) registry.get(node, event.channel.id)?.channelGone(event.channel.id, 'stasis_end');
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.subs.map((s) => s.drain()));
  }
}
