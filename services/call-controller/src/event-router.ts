/**
 * Turns ARI events from NATS into calls:
 * - StasisStart, in a queue group: each new caller goes to exactly one instance, which creates
 *   the call's actor;
 * - StasisStart, StasisEnd and ChannelDestroyed, on every instance: the instance that owns the
 *   channel (the waiting setup, or the call) acts; the others ignore it.
 * A StasisStart whose channel id equals its first arg is a media channel some controller created
 * (its id is the session UUID passed as `data`) and never starts a call.
 */
import { performance } from 'node:perf_hooks';
import {
  ChannelDestroyed, StasisEnd, StasisStart, parseEventSubject, subjects,
} from '@avb/contracts';
import { rateLimitedWarn, type Logger } from '@avb/runtime';
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { z } from 'zod';
import type { CallRegistry } from './call-registry.js';
import type { CallStats } from './call-stats.js';

export interface EventRouterOptions {
  app: string;
  queue: string;
  registry: CallRegistry;
  stats: CallStats;
  log: Logger;
  /** Creates and starts the actor of a new call. */
  startCall(node: string, event: StasisStart, receivedAt: number): void;
}

export const isMediaStasisStart = (event: StasisStart) => event.args[0] === event.channel.id;

const decoder = new TextDecoder();

export class EventRouter {
  private readonly subs: Subscription[] = [];
  private newCalls: Subscription | undefined;
  private readonly warn;

  constructor(private readonly nc: NatsConnection, private readonly opts: EventRouterOptions) {
    this.warn = rateLimitedWarn(opts.log, 'dropped an ARI event');
  }

  start(): void {
    const { app, queue } = this.opts;
    const any = '*';
    this.newCalls = this.nc.subscribe(subjects.ariEvent(app, any, 'StasisStart'), {
      queue,
      callback: (err, msg) => err ? this.opts.log.error({ err }, 'subscription failed') : this.onNewCall(msg),
    });
    const owned = (type: string, handle: (node: string, msg: Msg) => void) =>
      this.nc.subscribe(subjects.ariEvent(app, any, type), {
        callback: (err, msg) => {
          if (err) return this.opts.log.error({ err }, 'subscription failed');
          const node = parseEventSubject(msg.subject)?.node;
          if (node) handle(node, msg);
        },
      });
    this.subs.push(
      owned('StasisStart', (node, msg) => this.onMediaStasisStart(node, msg)),
      owned('StasisEnd', (node, msg) => this.onChannelGone(node, msg, StasisEnd, 'stasis_end')),
      owned('ChannelDestroyed', (node, msg) => this.onChannelGone(node, msg, ChannelDestroyed, 'destroyed')),
    );
  }

  /** Stops taking new calls; events of calls in progress still arrive. */
  async stopNewCalls(): Promise<void> {
    const sub = this.newCalls;
    this.newCalls = undefined;
    if (sub && !sub.isClosed()) await sub.drain();
  }

  async stop(): Promise<void> {
    await this.stopNewCalls();
    await Promise.all(this.subs.map((s) => s.drain()));
  }

  private onNewCall(msg: Msg): void {
    const receivedAt = performance.now();
    const node = parseEventSubject(msg.subject)?.node;
    const event = node ? this.decode(msg, StasisStart) : undefined;
    if (!node || !event || isMediaStasisStart(event)) return;
    if (this.opts.registry.get(node, event.channel.id)) return; // a redelivered StasisStart
    this.opts.startCall(node, event, receivedAt);
  }

  private onMediaStasisStart(node: string, msg: Msg): void {
    const event = this.decode(msg, StasisStart);
    if (event && isMediaStasisStart(event)) this.opts.registry.mediaEntered(node, event.channel.id);
  }

  private onChannelGone(node: string, msg: Msg, schema: typeof StasisEnd | typeof ChannelDestroyed, cause: string): void {
    const event = this.decode(msg, schema);
    if (!event) return;
    this.opts.registry.get(node, event.channel.id)?.channelGone(event.channel.id, cause);
  }

  private decode<S extends z.ZodType>(msg: Msg, schema: S): z.output<S> | undefined {
    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(msg.data));
    } catch {
      this.dropped('not_json', msg.subject);
      return undefined;
    }
    const parsed = schema.safeParse(json);
    if (parsed.success) return parsed.data;
    this.dropped('invalid_event', msg.subject, parsed.error.issues[0]?.message);
    return undefined;
  }

  private dropped(reason: string, subject: string, detail?: string): void {
    this.opts.stats.eventsDropped += 1;
    this.warn(reason, { subject, detail });
  }
}
