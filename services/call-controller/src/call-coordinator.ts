/**
 * Decides what an event means for a call, from the shared state: a new caller gets a new actor;
 * a redelivered start of a call another instance began to set up and never finished is taken
 * over; an end (of the caller or of an established call's media channel) ends the stored call.
 * Calls this instance is already working on get the event through their actor.
 */
import type { Channel, StasisEnd, StasisStart } from '@avb/contracts';
import { CallActor, type CallHooks, type Delivery } from './call-actor.js';
import { RETRY_LATER_MS, type CallContext } from './call-plan.js';
import type { StoredCall } from './call-store.js';
import type { CallerAction } from './call-teardown.js';
import { isMediaChannel, isMediaStasisStart } from './event-decoder.js';


export class CallCoordinator {
  private acceptingCalls = true;

  constructor(private readonly app: string, private readonly ctx: CallContext, private readonly hooks: CallHooks) {}

  /** From now on new callers are handed back (nak) for other instances to take. */
  stopNewCalls(): void {
    this.acceptingCalls = false;
  }

  onStasisStart(node: string, event: StasisStart, delivery: Delivery, receivedAt: number): void {
    if (isMediaStasisStart(event)) return delivery.ack();
    const local = this.ctx.registry.get(node, event.channel.id);
    if (local) return local.adopt(delivery);
    if (!this.acceptingCalls) return delivery.nak();
    // A first delivery is a new caller: nobody can have recorded it yet, so no read is needed
    // (if someone did, the create fails and the event comes back as a redelivery).
    if (!delivery.redelivered) return this.startNew(node, event.channel, delivery, receivedAt);
    void this.startOrResume(node, event.channel, delivery, receivedAt).catch((err: unknown) => {
      this.ctx.log.warn({ err, node, channelId: event.channel.id }, 'cannot read call state; event retried later');
      delivery.nak(RETRY_LATER_MS);
    });
  }

  onStasisEnd(node: string, event: StasisEnd, delivery: Delivery): void {
    const channel = event.channel;
    const local = this.ctx.registry.get(node, channel.id);
    if (local) {
      local.channelGone(channel.id, 'stasis_end');
      return local.adopt(delivery);
    }
    void this.endFromEvent(node, channel, delivery).catch((err: unknown) => {
      this.ctx.log.warn({ err, node, channelId: channel.id }, 'cannot read call state; event retried later');
      delivery.nak(RETRY_LATER_MS);
    });
  }

  /** Ends a stored call this instance is not working on (reconciliation, end events). */
  endStored(stored: StoredCall, cause: string, caller: CallerAction, delivery?: Delivery): CallActor | undefined {
    const local = this.ctx.registry.get(stored.state.node, stored.state.channelId);
    if (local) {
      if (delivery) local.adopt(delivery);
      return undefined;
    }
    const actor = this.track(CallActor.forStored(this.ctx, this.hooks, stored));
    if (delivery) actor.adopt(delivery);
    actor.end(cause, caller);
    return actor;
  }

  private async startOrResume(node: string, caller: Channel, delivery: Delivery, receivedAt: number): Promise<void> {
    const stored = await this.ctx.store.get(node, caller.id);
    // Another delivery of the same event may have been handled while we read.
    const local = this.ctx.registry.get(node, caller.id);
    if (local) return local.adopt(delivery);
    if (!stored) return this.startNew(node, caller, delivery, receivedAt);
    switch (stored.state.phase) {
      case 'active':
        return delivery.ack(); // set up already; the first delivery's ack was lost
      case 'setup': {
        // Its instance died (or stalled past the ack wait) mid-setup: start over from the state.
        this.ctx.log.info({ node, channelId: caller.id, previousOwner: stored.state.owner }, 'taking over a call left in setup');
        const actor = this.track(CallActor.forStored(this.ctx, this.hooks, stored));
        actor.adopt(delivery);
        return actor.start(stored);
      }
    }
  }

  private async endFromEvent(node: string, channel: Channel, delivery: Delivery): Promise<void> {
    const media = isMediaChannel(this.app, channel);
    const stored = media ? await this.ctx.store.getBySession(channel.id) : await this.ctx.store.get(node, channel.id);
    if (!stored) return delivery.ack();
    if (media) {
      // Our own teardown's media hangup, or a setup elsewhere (its fast path sees it): nothing to do.
      if (stored.state.phase !== 'active') return delivery.ack();
      this.endStored(stored, 'media_ended', 'hangup', delivery);
      return;
    }
    this.endStored(stored, 'caller_hangup', 'none', delivery);
  }

  private startNew(node: string, caller: Channel, delivery: Delivery, receivedAt: number): void {
    const actor = this.track(CallActor.forCaller(this.ctx, this.hooks, this.app, node, caller, receivedAt));
    actor.adopt(delivery);
    actor.start();
  }

  private track(actor: CallActor): CallActor {
    this.ctx.registry.add(actor);
    return actor;
  }
}
