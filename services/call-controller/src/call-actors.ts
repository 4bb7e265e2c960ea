/**
 * The one owner of this instance's call actors: it creates an actor when a message arrives for a
 * channel that has none, indexes it by its media channel once the machine says so, and removes
 * it when the actor is done. Actors exist only while there is work (a call being set up or
 * ended); established calls live in the shared state alone. It also keeps every durable event an
 * actor holds alive (`working()`) until the machine settles it.
 *
 * Admission: at most `maxSetups` callers are set up at once (0: no limit). A caller's StasisStart
 * beyond that waits here, in arrival order, with whatever else comes for its channel meanwhile,
 * until a setup is done: in a burst the first callers are not slowed down by the last ones, whose
 * requests would otherwise share the same ARI, NATS and event loop (see docs/benchmark.md).
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
  /** Actors begun by a caller's StasisStart, until they are done. */
  private readonly setups = new Set<CallActor>();
  /** Channels whose StasisStart waits for admission, with their messages in arrival order. */
  private readonly waiting = new Map<string, Message[]>();
  private stopping = false;

  constructor(runtime: ActorsRuntime, ackWaitMs: number, private readonly maxSetups = 0) {
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

  /** Posts to the channel's actor, creating it if there is none (a caller's start: once admitted). */
  post(node: string, channelId: string, message: Message): void {
    const k = key(node, channelId);
    const queued = this.waiting.get(k);
    if (queued) return void queued.push(message);
    const actor = this.actors.get(k);
    if (actor) return actor.post(message);
    if (message.type !== 'start') return this.begin(k, [message], false);
    if (this.maxSetups > 0 && this.setups.size >= this.maxSetups && !this.stopping) return void this.waiting.set(k, [message]);
    this.begin(k, [message], true);
  }

  private begin(k: string, messages: Message[], setup: boolean): void {
    const actor = new CallActor(k, this.rt);
    this.actors.set(k, actor);
    if (setup) this.setups.add(actor);
    // Stopping: a start it gets is handed back (the machine's shutdown rule), the rest handled.
    if (this.stopping) actor.post({ type: 'shutdown' });
    for (const m of messages) actor.post(m);
  }

  /** Begins waiting setups while there is room (all of them when stopping: they are handed back). */
  private admit(): void {
    for (const [k, messages] of this.waiting) {
      if (!this.stopping && this.setups.size >= this.maxSetups) return;
      this.waiting.delete(k);
      this.begin(k, messages, true);
    }
  }

  /** Posts to the actor handling this media channel, if this instance has one. */
  postToMedia(node: string, mediaChannelId: string, message: Message): boolean {
    const actor = this.byMedia.get(key(node, mediaChannelId));
    actor?.post(message);
    return actor !== undefined;
  }

  has(node: string, channelId: string): boolean {
    const k = key(node, channelId);
    return this.actors.has(k) || this.byMedia.has(k) || this.waiting.has(k);
  }

  /** Calls being worked on here, waiting ones included. */
  get size(): number {
    return this.actors.size + this.waiting.size;
  }

  /** Callers waiting to be admitted. */
  get queued(): number {
    return this.waiting.size;
  }

  /** Is any actor waiting for a media channel (cheap pre-check before decoding a StasisStart)? */
  watchingMedia(): boolean {
    return this.byMedia.size > 0;
  }

  /** Tells every actor the instance stops; resolves when none is left (or never: bound it). */
  shutdown(): Promise<void> {
    this.stopping = true;
    for (const actor of [...this.actors.values()]) actor.post({ type: 'shutdown' });
    this.admit();
    return this.whenIdle();
  }

  whenIdle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
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
    // Called as an actor finishes, inside its own turn: the next setups begin in a turn of their own.
    if (this.setups.delete(actor) && this.waiting.size > 0) queueMicrotask(() => this.admit());
    if (this.size > 0) return;
    for (const resolve of this.idle) resolve();
    this.idle.clear();
  }
}
