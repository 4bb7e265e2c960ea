/**
 * One call, as an actor: its mailbox handles the call's events one at a time. Setup runs in the
 * background and reports back through the mailbox, so a hangup that arrives mid-setup is seen at
 * once (it aborts the wait for the media channel) and the teardown starts only when every setup
 * request has settled: whatever setup created is removed.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { CallEvent, CallEventKind, Channel } from '@avb/contracts';
import { Mailbox } from './mailbox.js';
import { failureCause, setUpCall, type SetupOutcome } from './call-setup.js';
import { tearDownCall } from './call-teardown.js';
import type { CallContext, CallIds } from './call-plan.js';

export type CallPhase = 'setup' | 'active' | 'teardown' | 'done';

type CallMessage =
  | { type: 'setup-done'; outcome: SetupOutcome }
  | { type: 'channel-gone'; channelId: string; cause: string };

export interface CallHooks {
  publish(kind: CallEventKind, event: CallEvent): void;
  /** Called once when the call has started (bridged). */
  onStarted(setupMs: number): void;
  /** Called once, last, with the final kind. */
  onFinished(actor: CallActor, kind: 'ended' | 'failed'): void;
}

export class CallActor implements CallIds {
  readonly sessionId = randomUUID();
  readonly bridgeId = randomUUID();
  /** Equal to the session id, so any instance recognises the media channel's StasisStart. */
  readonly externalChannelId = this.sessionId;
  readonly channelId: string;
  phase: CallPhase = 'setup';

  private callerGone = false;
  private mediaGone = false;
  private cause: string | undefined;
  private setupMs: number | undefined;
  private readonly startedAt = new Date().toISOString();
  private readonly abort = new AbortController();
  private readonly mailbox: Mailbox<CallMessage>;
  private readonly ctx: CallContext;
  private settled!: () => void;
  /** Resolves when the call is done (torn down and reported). */
  readonly finished = new Promise<void>((r) => (this.settled = r));

  constructor(
    readonly app: string,
    readonly node: string,
    private readonly caller: Channel,
    private readonly receivedAt: number,
    ctx: CallContext,
    private readonly hooks: CallHooks,
  ) {
    this.channelId = caller.id;
    this.ctx = { ...ctx, log: ctx.log.child({ node, channelId: caller.id, sessionId: this.sessionId }) };
    this.mailbox = new Mailbox((m) => this.receive(m), (err) => this.ctx.log.error({ err }, 'call actor failed'));
  }

  start(): void {
    this.ctx.log.debug({ callerNumber: this.caller.caller.number }, 'call setting up');
    void setUpCall(this.ctx, this, this.abort.signal).then(
      (outcome) => this.mailbox.post({ type: 'setup-done', outcome }),
      (err: unknown) => this.mailbox.post({
        type: 'setup-done',
        outcome: { ok: false, aborted: false, step: 'answer', error: err instanceof Error ? err : new Error(String(err)) },
      }),
    );
  }

  /** StasisEnd or ChannelDestroyed of the caller or of the media channel. */
  channelGone(channelId: string, cause: string): void {
    this.mailbox.post({ type: 'channel-gone', channelId, cause });
  }

  private async receive(message: CallMessage): Promise<void> {
    if (message.type === 'channel-gone') return this.onChannelGone(message.channelId, message.cause);
    return this.onSetupDone(message.outcome);
  }

  private async onChannelGone(channelId: string, cause: string): Promise<void> {
    const isCaller = channelId === this.channelId;
    if (isCaller) this.callerGone = true;
    else this.mediaGone = true;
    if (this.phase === 'setup') {
      this.cause ??= isCaller ? 'caller_hangup_during_setup' : 'media_ended_during_setup';
      this.abort.abort();
      return; // the teardown starts when setup reports back
    }
    if (this.phase !== 'active') return; // our own teardown's events, or a duplicate end event
    this.cause ??= isCaller ? 'caller_hangup' : `media_ended:${cause}`;
    await this.finish('ended', !isCaller);
  }

  private async onSetupDone(outcome: SetupOutcome): Promise<void> {
    const gone = this.callerGone || this.mediaGone;
    if (outcome.ok && !gone) {
      this.setupMs = performance.now() - this.receivedAt;
      this.phase = 'active';
      this.hooks.onStarted(this.setupMs);
      this.ctx.log.info({ setupMs: round(this.setupMs), bridgeId: this.bridgeId }, 'call started');
      this.publish('started');
      return;
    }
    if (outcome.ok || outcome.aborted) {
      // The caller (or the media channel) went away during setup.
      await this.finish(this.callerGone ? 'ended' : 'failed', !this.callerGone);
      return;
    }
    this.cause = failureCause(outcome.step, outcome.error);
    this.ctx.log.warn({ err: outcome.error, step: outcome.step }, 'call setup failed; removing what it created');
    await this.finish('failed', !this.callerGone);
  }

  private async finish(kind: 'ended' | 'failed', hangupCaller: boolean): Promise<void> {
    this.phase = 'teardown';
    const clean = await tearDownCall(this.ctx, this, { hangupMedia: !this.mediaGone, hangupCaller: hangupCaller && !this.callerGone });
    this.phase = 'done';
    this.mailbox.close();
    this.ctx.log.info({ cause: this.cause, clean }, kind === 'ended' ? 'call ended' : 'call failed');
    this.publish(kind);
    this.hooks.onFinished(this, kind);
    this.settled();
  }

  private publish(kind: CallEventKind): void {
    this.hooks.publish(kind, {
      kind,
      app: this.app,
      node: this.node,
      sessionId: this.sessionId,
      channelId: this.channelId,
      bridgeId: this.bridgeId,
      externalChannelId: this.externalChannelId,
      callerNumber: this.caller.caller.number,
      callerName: this.caller.caller.name,
      startedAt: this.startedAt,
      ...(this.setupMs === undefined ? {} : { setupMs: round(this.setupMs) }),
      ...(this.cause === undefined ? {} : { cause: this.cause }),
      at: new Date().toISOString(),
    });
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;
