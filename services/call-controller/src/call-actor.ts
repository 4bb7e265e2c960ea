/**
 * Runs one call machine (call-machine.ts): its messages are handled one at a time, each by the
 * pure `step`; the effects it returns are started here and their results posted back as
 * messages. Nothing here decides anything about a call. An effect that fails in an unexpected
 * way becomes an ordinary failed result (so the machine decides); a transition that throws (a
 * bug) ends the actor with every delivery it holds handed back, never a zombie.
 */
import type { CallEvent, CommandName, CommandParams, CommandResult } from '@avb/contracts';
import type { Logger } from '@avb/runtime';
import { initialState, step, type DeliveryRef, type Effect, type Env, type MachineState, type MediaPathEvent, type Message, type StoreOp, type StoredCall, type TimerName } from './call-machine.js';
import type { CallState } from '@avb/contracts';

/** A durable event being handled (a JetStream message): acked or handed back by the machine. */
export interface Delivery {
  readonly redelivered: boolean;
  ack(): void;
  nak(delayMs?: number): void;
  working(): void;
}

export interface AriPort {
  send<N extends CommandName>(node: string, command: N, params: CommandParams<N>): Promise<CommandResult<N>>;
}

/** The shared call state, as the machine uses it; a lost compare-and-set rejects (see isConflict). */
export interface StorePort {
  create(state: CallState): Promise<number>;
  update(state: CallState, revision: number): Promise<number>;
  remove(state: CallState, revision: number): Promise<void>;
  /** `recent`: a copy of this instance's own last write may answer (see recent-writes.ts). */
  get(node: string, channelId: string, opts?: { recent?: boolean }): Promise<StoredCall | undefined>;
  getBySession(sessionId: string): Promise<StoredCall | undefined>;
  pointSession(state: CallState): Promise<void>;
  dropSession(sessionId: string): Promise<void>;
}

export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What every actor of an instance shares. */
export interface ActorRuntime {
  env: Env;
  ari: AriPort;
  store: StorePort;
  isConflict(err: unknown): boolean;
  /** The error code of a failed ARI command (`internal` for anything unexpected). */
  codeOf(err: unknown): string;
  publish(event: CallEvent): void;
  /** The media path monitor (media-path.ts), when there is one. */
  observeMedia?(event: MediaPathEvent): void;
  clock: Clock;
  log: Logger;
  /** Deliveries by the id the machine knows them by. */
  delivery(id: number): Delivery | undefined;
  settled(id: number): void;
  watchMedia(actor: CallActor, channelId: string): void;
  /** Called once, when the actor has nothing more to do (or failed). */
  done(actor: CallActor): void;
}

export class CallActor {
  private state: MachineState = initialState();
  private readonly inbox: Message[] = [];
  private running = false;
  private finished = false;
  private readonly timers = new Map<TimerName, unknown>();
  private readonly log: Logger;

  constructor(readonly key: string, private readonly rt: ActorRuntime) {
    this.log = rt.log.child({ call: key });
  }

  get phase() {
    return this.state.phase;
  }

  /** The caller channel of the call in hand, once known (the registry indexes it). */
  get call() {
    return this.state.call;
  }

  post(message: Message): void {
    if (this.finished) return;
    this.inbox.push(message);
    if (this.running) return;
    this.running = true;
    try {
      while (this.inbox.length > 0 && !this.finished) this.handle(this.inbox.shift()!);
    } finally {
      this.running = false;
    }
  }

  private handle(message: Message): void {
    let next: ReturnType<typeof step>;
    try {
      next = step(this.state, message, this.rt.env);
    } catch (err) {
      return this.fail(err, message);
    }
    this.state = next.state;
    for (const effect of next.effects) this.run(effect);
    if (this.state.phase === 'done') this.finish();
  }

  private run(e: Effect): void {
    const gen = this.state.gen;
    switch (e.type) {
      case 'ari':
        return void this.rt.ari.send(e.node, e.command, e.params).then(
          (result) => this.post({ type: 'ari', gen, step: e.step, ok: true, result }),
          (err: unknown) => this.post({ type: 'ari', gen, step: e.step, ok: false, code: this.rt.codeOf(err) }),
        );
      case 'store':
        return this.runStore(e, gen);
      case 'settle': {
        const d = this.rt.delivery(e.delivery.id);
        this.rt.settled(e.delivery.id);
        try {
          if (e.ack) d?.ack();
          else d?.nak(e.delayMs);
        } catch (err) {
          this.log.warn({ reason: errText(err) }, 'cannot settle an event (NATS closing?); it is redelivered');
        }
        return;
      }
      case 'timer': {
        this.clearTimer(e.name);
        this.timers.set(e.name, this.rt.clock.setTimeout(() => {
          this.timers.delete(e.name);
          this.post({ type: 'timer', gen, name: e.name });
        }, e.ms));
        return;
      }
      case 'cancel':
        return this.clearTimer(e.name);
      case 'watch_media':
        return this.rt.watchMedia(this, e.channelId);
      case 'publish':
        try {
          this.rt.publish(e.event);
        } catch (err) {
          this.log.warn({ reason: errText(err), kind: e.event.kind }, 'cannot publish the call event');
        }
        return;
      case 'media_path':
        return this.rt.observeMedia?.(e.event);
      case 'log':
        return void this.log[e.level](e.fields ?? {}, e.msg);
    }
  }

  private runStore(e: Extract<Effect, { type: 'store' }>, gen: number): void {
    const { store } = this.rt;
    const op: StoreOp = e.op;
    const done = (p: Promise<{ revision?: number; found?: StoredCall }>) => void p.then(
      (r) => this.post({ type: 'stored', gen, op, outcome: 'ok', ...r }),
      (err: unknown) => {
        if (this.rt.isConflict(err)) return this.post({ type: 'stored', gen, op, outcome: 'conflict' });
        this.log.debug({ reason: errText(err), op }, 'call state request failed');
        this.post({ type: 'stored', gen, op, outcome: 'unavailable' });
      },
    );
    switch (e.op) {
      case 'create': return done(store.create(e.state).then((revision) => ({ revision })));
      case 'takeover':
      case 'activate':
      case 'note': return done(store.update(e.state, e.revision).then((revision) => ({ revision })));
      case 'claim': return done(store.remove(e.state, e.revision).then(() => ({})));
      case 'pointer': return done(store.pointSession(e.state).then(() => ({})));
      case 'unpoint': return done(store.dropSession(e.sessionId).then(() => ({})));
      case 'read': {
        const found = 'sessionId' in e ? store.getBySession(e.sessionId) : store.get(e.node, e.channelId, e.recent ? { recent: true } : undefined);
        return done(found.then((f) => (f ? { found: f } : {})));
      }
    }
  }

  private clearTimer(name: TimerName): void {
    const t = this.timers.get(name);
    if (t === undefined) return;
    this.rt.clock.clearTimeout(t);
    this.timers.delete(name);
  }

  /** A bug in a transition: hand back what this actor holds, so another try starts clean. */
  private fail(err: unknown, message: Message): void {
    this.log.error({ err, message: message.type, phase: this.state.phase }, 'call machine failed; its events are handed back');
    const { job, queue } = this.state;
    const refs = [job?.held ?? [], ...queue.map((j) => j.held)].flat();
    // The message being handled and those waiting behind it hold events the state never saw.
    for (const m of [message, ...this.inbox]) if ('delivery' in m) refs.push(m.delivery);
    for (const d of new Set(refs)) this.handBack(d);
    this.finish();
  }

  private handBack(ref: DeliveryRef): void {
    const d = this.rt.delivery(ref.id);
    this.rt.settled(ref.id);
    try {
      d?.nak(1000);
    } catch {
      /* redelivered after the ack wait anyway */
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.inbox.length = 0;
    for (const t of this.timers.values()) this.rt.clock.clearTimeout(t);
    this.timers.clear();
    this.rt.done(this);
  }
}

const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));
