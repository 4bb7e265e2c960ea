/**
 * One call, as an actor, for as long as this instance is working on it: setting it up, or
 * tearing it down. Its mailbox handles the call's messages one at a time. Setup runs in the
 * background and reports back through the mailbox, so a hangup that arrives mid-setup is seen at
 * once (it aborts the wait for the media channel) and the teardown starts only when every setup
 * request has settled: whatever setup created is removed.
 *
 * The call's state lives in the shared KV bucket, not here: it is written before any ARI
 * resource is created and changed only with compare-and-set. An instance that loses a
 * compare-and-set knows another one has taken charge (a hangup seen elsewhere) and only removes
 * what it created itself. The durable events that brought the work here are acked when the actor
 * is done, so an instance that dies mid-way has them redelivered to another.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { CallEvent, CallEventKind, CallState, Channel } from '@avb/contracts';
import { isKvConflict } from '@avb/runtime';
import { Mailbox } from './mailbox.js';
import { failureCause, setUpCall, type SetupOutcome } from './call-setup.js';
import type { StoredCall } from './call-store.js';
import { tearDownCall, type CallerAction } from './call-teardown.js';
import { RETRY_LATER_MS, type CallContext, type CallIds } from './call-plan.js';

/** `active`: set up, with messages still queued for this actor (an end that crossed the setup). */
export type CallPhase = 'setup' | 'active' | 'teardown' | 'done';

/** A durable event being handled (a JetStream message): acked when the work is done. */
export interface Delivery {
  /** Delivered before (to this or another instance) without an ack. */
  readonly redelivered: boolean;
  ack(): void;
  working(): void;
  nak(delayMs?: number): void;
}

type CallMessage =
  | { type: 'setup-done'; outcome: SetupOutcome }
  | { type: 'channel-gone'; channelId: string; cause: string }
  | { type: 'end'; cause: string; caller: CallerAction };

export interface CallHooks {
  publish(kind: CallEventKind, event: CallEvent): void;
  /** Called once when the call has started (bridged). */
  onStarted(setupMs: number): void;
  /** Called once, last; `kind` is what this instance reported (none when another one did). */
  onFinished(actor: CallActor, kind: CallEventKind | undefined): void;
}

const MAX_CAS_ATTEMPTS = 5;

export class CallActor implements CallIds {
  phase: CallPhase = 'setup';
  private state: CallState;
  private revision = 0;
  private callerGone = false;
  private mediaGone = false;
  private readonly abort = new AbortController();
  private readonly mailbox: Mailbox<CallMessage>;
  private readonly ctx: CallContext;
  private readonly deliveries: Delivery[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private settled!: () => void;
  /** Resolves when this instance is done with the call. */
  readonly finished = new Promise<void>((r) => (this.settled = r));

  private constructor(ctx: CallContext, private readonly hooks: CallHooks, state: CallState, private readonly receivedAt: number) {
    this.state = state;
    this.ctx = { ...ctx, log: ctx.log.child({ node: state.node, channelId: state.channelId }) };
    this.mailbox = new Mailbox((m) => this.receive(m), (err) => this.ctx.log.error({ err }, 'call actor failed'));
  }

  /** A new caller: fresh ids, this instance the owner. */
  static forCaller(ctx: CallContext, hooks: CallHooks, app: string, node: string, caller: Channel, receivedAt: number): CallActor {
    const now = new Date().toISOString();
    return new CallActor(ctx, hooks, {
      ...freshIds(),
      app,
      node,
      channelId: caller.id,
      phase: 'setup',
      owner: ctx.instance,
      callerNumber: caller.caller.number,
      callerName: caller.caller.name,
      startedAt: now,
      updatedAt: now,
    }, receivedAt);
  }

  /** A call found in the shared state (a redelivered start, an end, a reconciliation). */
  static forStored(ctx: CallContext, hooks: CallHooks, stored: StoredCall): CallActor {
    const actor = new CallActor(ctx, hooks, stored.state, performance.now());
    actor.revision = stored.revision;
    return actor;
  }

  get app() { return this.state.app; }
  get node() { return this.state.node; }
  get channelId() { return this.state.channelId; }
  get sessionId() { return this.state.sessionId; }
  get bridgeId() { return this.state.bridgeId; }
  get externalChannelId() { return this.state.externalChannelId; }

  /** Acks `delivery` when this instance is done with the call; keeps it alive meanwhile. */
  adopt(delivery: Delivery): void {
    if (this.phase === 'done') return delivery.ack();
    this.deliveries.push(delivery);
    this.heartbeat ??= setInterval(() => this.deliveries.forEach((d) => d.working()), this.ctx.ackWaitMs / 3);
  }

  /**
   * Records the call, then sets it up. With `takeover` (a call another instance began to set up
   * and did not finish), what it may have created is removed first and the call starts afresh.
   */
  start(takeover?: StoredCall): void {
    this.ctx.log.debug({ takeover: takeover !== undefined }, 'call setting up');
    // When the state cannot be written, record() hands the event back and closes the mailbox:
    // the outcome posted below is then dropped.
    void setUpCall(this.ctx, this, this.abort.signal, this.record(takeover)).then(
      (outcome) => this.mailbox.post({ type: 'setup-done', outcome }),
      (err: unknown) => this.mailbox.post({
        type: 'setup-done',
        outcome: { ok: false, aborted: false, step: 'answer', error: err instanceof Error ? err : new Error(String(err)) },
      }),
    );
  }

  /** Ends a stored call: claims it (deletes its state with compare-and-set), removes its resources. */
  end(cause: string, caller: CallerAction): void {
    this.phase = 'teardown';
    this.mailbox.post({ type: 'end', cause, caller });
  }

  /** StasisEnd of the caller or of the media channel. */
  channelGone(channelId: string, cause: string): void {
    this.mailbox.post({ type: 'channel-gone', channelId, cause });
  }

  private async record(takeover: StoredCall | undefined): Promise<boolean> {
    try {
      if (takeover) {
        await tearDownCall(this.ctx, takeover.state, { hangupMedia: true, caller: 'none' });
        this.ctx.registry.remove(this);
        this.state = { ...takeover.state, ...freshIds(), phase: 'setup', owner: this.ctx.instance, updatedAt: new Date().toISOString() };
        this.ctx.registry.add(this);
        this.revision = await this.ctx.store.update(this.state, takeover.revision, takeover.state.sessionId);
      } else {
        this.revision = await this.ctx.store.create(this.state);
      }
      return true;
    } catch (err) {
      // Another instance is on it (conflict), or the state cannot be written: create nothing in
      // Asterisk (only the answer may have gone out, and answering again is harmless) and let
      // the event come back later.
      const conflict = isKvConflict(err);
      this.ctx.log[conflict ? 'debug' : 'warn']({ err }, 'call state not written; event retried later');
      this.done(undefined, RETRY_LATER_MS);
      return false;
    }
  }

  private async receive(message: CallMessage): Promise<void> {
    switch (message.type) {
      case 'channel-gone': await this.onChannelGone(message.channelId, message.cause); break;
      case 'setup-done': await this.onSetupDone(message.outcome); break;
      case 'end': await this.onEnd(message.cause, message.caller); break;
    }
    if (this.phase === 'active' && this.mailbox.pending === 0) this.done('started');
  }

  private async onChannelGone(channelId: string, cause: string): Promise<void> {
    const isCaller = channelId === this.channelId;
    if (isCaller) this.callerGone = true;
    else this.mediaGone = true;
    if (this.phase === 'active') return this.onEnd(isCaller ? 'caller_hangup' : `media_ended:${cause}`, isCaller ? 'none' : 'hangup');
    if (this.phase !== 'setup') return; // our own teardown's events, or a duplicate end event
    this.state.cause ??= isCaller ? 'caller_hangup_during_setup' : `media_ended_during_setup:${cause}`;
    this.abort.abort(); // the teardown starts when setup reports back
  }

  private async onSetupDone(outcome: SetupOutcome): Promise<void> {
    const gone = this.callerGone || this.mediaGone;
    if (outcome.ok && !gone) return this.activate();
    if (outcome.ok || outcome.aborted) {
      // The caller (or the media channel) went away during setup.
      return this.finish(this.callerGone ? 'ended' : 'failed', this.callerGone ? 'none' : 'hangup');
    }
    this.state.cause = failureCause(outcome.step, outcome.error);
    const mediaDown = outcome.step === 'media' || outcome.step === 'media_stasis';
    const caller: CallerAction = this.callerGone ? 'none' : mediaDown ? this.ctx.mediaFailureAction : 'hangup';
    this.ctx.log.warn({ err: outcome.error, step: outcome.step, caller }, 'call setup failed; removing what it created');
    return this.finish('failed', caller);
  }

  private async activate(): Promise<void> {
    const setupMs = round(performance.now() - this.receivedAt);
    const active: CallState = { ...this.state, phase: 'active', setupMs, updatedAt: new Date().toISOString() };
    try {
      this.revision = await this.ctx.store.update(active, this.revision);
      this.state = active;
    } catch (err) {
      if (isKvConflict(err)) {
        // Ended elsewhere while we set it up (a hangup another instance handled): whoever
        // ended it reports it; we only remove what we created, which they may have missed.
        this.phase = 'teardown';
        await tearDownCall(this.ctx, this, { hangupMedia: true, caller: 'none' });
        return this.done(undefined);
      }
      // The call is up in Asterisk; its record says `setup` until the state store is back.
      this.ctx.log.warn({ err }, 'call is up but its state could not be updated');
      this.state = active;
    }
    this.hooks.onStarted(setupMs);
    this.ctx.log.info({ setupMs, sessionId: this.sessionId, bridgeId: this.bridgeId }, 'call started');
    this.publish('started');
    // An end that arrived while we finished the setup is handled here, not dropped.
    if (this.mailbox.pending > 0) this.phase = 'active';
    else this.done('started');
  }

  /**
   * Ends a call this instance did not set up (or set up and then saw end): claims it by deleting
   * its state with compare-and-set, then removes its resources. Whoever loses the claim leaves it
   * to the winner; a setup still running elsewhere loses its own compare-and-set and removes what
   * it created. Dying between the claim and the teardown leaves resources for reconciliation.
   */
  private async onEnd(cause: string, caller: CallerAction): Promise<void> {
    this.phase = 'teardown';
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      let claimed: boolean;
      try {
        claimed = await this.ctx.store.remove({ state: this.state, revision: this.revision });
        if (!claimed) {
          const fresh = await this.ctx.store.get(this.node, this.channelId);
          if (!fresh) return this.done(undefined); // someone else ended it
          this.state = fresh.state;
          this.revision = fresh.revision;
          continue;
        }
      } catch (err) {
        this.ctx.log.warn({ err }, 'cannot claim the call; event retried later');
        return this.done(undefined, RETRY_LATER_MS);
      }
      this.state = { ...this.state, cause: this.state.cause ?? cause };
      const clean = await tearDownCall(this.ctx, this, { hangupMedia: !this.mediaGone, caller });
      return this.report('ended', clean);
    }
    return this.done(undefined, RETRY_LATER_MS);
  }

  /** The owner's end: removes what it created (all of it has settled), then the state. */
  private async finish(kind: 'ended' | 'failed', caller: CallerAction): Promise<void> {
    this.phase = 'teardown';
    const clean = await tearDownCall(this.ctx, this, { hangupMedia: !this.mediaGone, caller });
    const removed = await this.ctx.store.remove({ state: this.state, revision: this.revision }).catch((err: unknown) => {
      this.ctx.log.warn({ err }, 'cannot delete the call state; reconciliation removes it');
      return true;
    });
    if (!removed) return this.done(undefined); // another instance took charge and reports it
    this.report(kind, clean);
  }

  private report(kind: 'ended' | 'failed', clean: boolean): void {
    this.ctx.log.info({ cause: this.state.cause, clean, sessionId: this.sessionId }, kind === 'ended' ? 'call ended' : 'call failed');
    this.publish(kind);
    this.done(kind);
  }

  /** Acks the deliveries (or hands them back with a delay) and leaves. */
  private done(kind: CallEventKind | undefined, retryAfterMs?: number): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.mailbox.close();
    clearInterval(this.heartbeat);
    for (const d of this.deliveries.splice(0)) {
      if (retryAfterMs === undefined) d.ack();
      else d.nak(retryAfterMs);
    }
    this.hooks.onFinished(this, kind);
    this.settled();
  }

  private publish(kind: CallEventKind): void {
    const s = this.state;
    this.hooks.publish(kind, {
      kind,
      app: s.app,
      node: s.node,
      sessionId: s.sessionId,
      channelId: s.channelId,
      bridgeId: s.bridgeId,
      externalChannelId: s.externalChannelId,
      callerNumber: s.callerNumber,
      callerName: s.callerName,
      startedAt: s.startedAt,
      ...(s.setupMs === undefined ? {} : { setupMs: s.setupMs }),
      ...(s.cause === undefined ? {} : { cause: s.cause }),
      at: new Date().toISOString(),
    });
  }
}

/** Ids chosen up front; the media channel's id is the session UUID (see isMediaStasisStart). */
function freshIds() {
  const sessionId = randomUUID();
  return { sessionId, externalChannelId: sessionId, bridgeId: randomUUID() };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
