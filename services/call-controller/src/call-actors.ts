/**
 * The one owner of this instance's call actors: it creates an actor when a message arrives for a
 * channel that has none, indexes it by its media channel once the machine says so, and removes
 * it when the actor is done. Actors exist only while there is work (a call being set up or
 * ended); established calls live in the shared state alone. It also keeps every durable event an
 * actor holds alive (`working()`) until the machine settles it.
 * Keys are `<node>/<channelId>`: channel ids are unique only within one Asterisk.
 */
import { CallActor, type ActorRuntime, type Delivery } from './call-actor.js';
import type { DeliveryRef, Message } from './call-machine.js';

export type ActorsRuntime = Omit<ActorRuntime, 'delivery' | 'settled' | 'watchMedia' | 'done'>;

const key = (node: string, channelId: string) => `${node}/${channelId}`;
const HEARTBEATS_PER_ACK_WAIT = 5;

export class CallActors {
  private readonly actors = new Map<string, CallActor>();
  private readonly byMedia = new Map<string, CallActor>();
  private readonly mediaKeys = new Map<CallActor, string[]>();
  private readonly deliveries = new Map<number, Delivery>();
  private nextDelivery = 1;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly idle = new Set<() => void>();
  private readonly rt: ActorRuntime;

  constructor(runtime: ActorsRuntime, ackWaitMs: number) {
    this.rt = {
      ...runtime,
      delivery: (id) => this.deliveries.get(id),
      settled: (id) => void this.deliveries.delete(id),
      watchMedia: (actor, channelId) => this.watch(actor, channelId),
      done: (actor) => this.remove(actor),
    };
    // Keeps held events from being redelivered while their work is still going on. Five beats
    // per ack wait: a busy event loop may delay a few without another instance taking the call
    // (the ack wait is short, so that a dead instance's callers are taken over within seconds).
    this.heartbeat = setInterval(() => {
      for (const d of this.deliveries.values()) {
        try {
          d.working();
        } catch {
          /* the connection is closing; the event is redelivered if it is never settled */
        }
      }
    }, Math.max(100, ackWaitMs / HEARTBEATS_PER_ACK_WAIT));
    this.heartbeat.unref();
  }

  /** A reference the machine can hold for a delivery (the real message stays here). */
  hold(delivery: Delivery): DeliveryRef {
    const id = this.nextDelivery++;
    this.deliveries.set(id, delivery);
    return { id, redelivered: delivery.redelivered };
  }

  /** Posts to the channel's actor, creating it if there is none. */
  post(node: string, channelId: string, message: Message): void {
    const k = key(node, channelId);
    let actor = this.actors.get(k);
    if (!actor) {
      actor = new CallActor(k, this.rt);
      this.actors.set(k, actor);
    }
    actor.post(message);
  }

  /** Posts to the actor handling this media channel, if this instance has one. */
  postToMedia(node: string, mediaChannelId: string, message: Message): boolean {
    const actor = this.byMedia.get(key(node, mediaChannelId));
    actor?.post(message);
    return actor !== undefined;
  }

  has(node: string, channelId: string): boolean {
    return this.actors.has(key(node, channelId)) || this.byMedia.has(key(node, channelId));
  }

  get size(): number {
    return this.actors.size;
  }

  /** Is any actor waiting for a media channel (cheap pre-check before decoding a StasisStart)? */
  watchingMedia(): boolean {
    return this.byMedia.size > 0;
  }

  /** Tells every actor the instance stops; resolves when none is left (or never: bound it). */
  shutdown(): Promise<void> {
    for (const actor of [...this.actors.values()]) actor.post({ type: 'shutdown' });
    return this.whenIdle();
  }

  whenIdle(): Promise<void> {
    if (this.actors.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.add(resolve));
  }

  stop(): void {
    clearInterval(this.heartbeat);
  }

  private watch(actor: CallActor, channelId: string): void {
    const k = key(actor.key.slice(0, actor.key.indexOf('/')), channelId);
    this.byMedia.set(k, actor);
    this.mediaKeys.set(actor, [...(this.mediaKeys.get(actor) ?? []), k]);
  }

  private remove(actor: CallActor): void {
    if (this.actors.get(actor.key) === actor) this.actors.delete(actor.key);
    for (const k of this.mediaKeys.get(actor) ?? []) if (this.byMedia.get(k) === actor) this.byMedia.delete(k);
    this.mediaKeys.delete(actor);
    if (this.actors.size > 0) return;
    for (const resolve of this.idle) resolve();
    this.idle.clear();
  }
}
