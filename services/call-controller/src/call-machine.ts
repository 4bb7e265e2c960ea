/**
 * Every rule of a call, as one pure function: `step(state, message, env) -> { state, effects }`.
 * One machine per caller channel (a media-channel end whose call is not known here gets one keyed
 * by that channel). It imports no I/O: the actor around it (call-actor.ts) runs the effects and
 * posts their results back as messages, so nothing else decides or changes anything of a call.
 *
 * The work arrives as jobs, one at a time: a caller's StasisStart (set the call up), a StasisEnd
 * (end the call it belongs to), reconciliation's "the caller is gone". Messages about the job in
 * hand are merged into it (a duplicate start, the end of the call being set up); others queue.
 *
 * Setting a call up (the instance that got the caller's StasisStart):
 *   recording   create the call state (compare-and-set: nobody else has it), answer meanwhile
 *   creating    bridge + externalMedia (ids chosen up front), wait for the media channel's own
 *               StasisStart (asked of ARI if it does not come), session pointer meanwhile;
 *               chan_websocket server mode: `media_ready` with the connection id of the reply
 *               at once, and the id written into the state, for the media server to connect
 *   bridging    addChannel with both channels
 *   activating  state phase `active` (compare-and-set), then `started`
 * Ending a call (whoever sees its end, the owner of a failed setup, reconciliation):
 *   claiming    delete the state with compare-and-set: who deletes it owns the end; who loses
 *               only removes what it created itself and reports nothing
 *   clearing    report `ended` or `failed` (the claim makes it the one terminal event), then
 *               hang up the media channel, destroy the bridge, hang up / continue the caller
 * Nothing is created before the call is recorded (see recordNew for why not alongside).
 * A StasisStart redelivered (its first handler died or stalled) reads the state first: an
 * active call needs nothing, one left in setup is taken over with fresh ids (compare-and-set),
 * a call of an earlier stay in Stasis is ended first (the caller left it and came back).
 * A state store that does not answer hands the deliveries back (nak) for a later retry, after
 * removing what this actor created; nothing is reported and no caller is touched without the claim.
 * An externalMedia is sent again with its channel id only after ARI said no channel has that id
 * (its request or its reply was lost with a NATS server: the channel is looked up first, and
 * adopted when it exists); every other attempt at a call has fresh ids. chan_websocket on
 * Asterisk 22.10.1 crashes on a channel id in use (the gateway also never passes one on twice).
 * How long media channels take to come up, and media commands timing out, are told to the media
 * path monitor (`media_path` effects), which /health reads.
 */
import { bridgeName, type CallEntry, type CallEvent, type CallEventKind, type CallPhase, type CallState, type CommandName, type CommandParams, type WebSocketMedia } from '@avb/contracts';
import { externalMediaParams, isWebSocket, websocketMediaOf, type MediaSettings } from './media-plan.js';

export type { MediaSettings };

// ---- what the machine is told ---------------------------------------------------------------

/** A durable event being handled; the machine only decides whether and when it is acked. */
export interface DeliveryRef {
  readonly id: number;
  /** Delivered before (to this or another instance) without an ack. */
  readonly redelivered: boolean;
}

export interface CallerInfo {
  number: string;
  name: string;
}

export interface StoredCall {
  state: CallState;
  revision: number;
}

export type StoreOp = 'create' | 'takeover' | 'activate' | 'note' | 'claim' | 'read' | 'pointer' | 'unpoint';

export type Step =
  | 'answer' | 'bridge' | 'media' | 'media_find' | 'media_check' | 'caller_check' | 'add'
  | 'rm_media' | 'rm_bridge' | 'caller' | 'rm_old_media' | 'rm_old_bridge'
  | 'pointer' | 'unpoint' | 'note';

export type TimerName = 'media_check' | 'media_timeout' | 'media_slow' | 'activate_retry' | `retry:${Step}`;

export type StartMessage = {
  type: 'start';
  delivery: DeliveryRef;
  node: string;
  channelId: string;
  caller: CallerInfo;
  entry: CallEntry;
  /** Monotonic ms when the event was received (setup latency counts from here). */
  receivedAt: number;
  /** Reconciliation found the caller waiting in Stasis with no call: start one only if none exists. */
  adopt?: boolean;
  /** How long the event had been in the stream when it was delivered (see STALE_START_MS). */
  storedAgoMs?: number;
};

export type EndMessage = {
  type: 'end';
  delivery: DeliveryRef;
  node: string;
  /** The caller's channel, or the media channel (then `who` is `media`). */
  channelId: string;
  who: 'caller' | 'media';
  /** The caller's StasisEnd: where it left Stasis, and the stream sequence of the event. */
  entry?: CallEntry;
};

export type Message =
  | StartMessage
  | EndMessage
  /** The media channel entered Stasis (core subscription or durable copy: both are fine). */
  | { type: 'media_start'; channelId: string }
  /** Reconciliation: the stored call's caller (or media channel) no longer exists. */
  | { type: 'end_stored'; stored: StoredCall; cause: string; who: 'caller' | 'media' }
  /** Results carry the job generation they were asked for in (`gen`): late ones are dropped. */
  | { type: 'stored'; gen: number; op: StoreOp; outcome: 'ok'; revision?: number; found?: StoredCall }
  | { type: 'stored'; gen: number; op: StoreOp; outcome: 'conflict' }
  | { type: 'stored'; gen: number; op: StoreOp; outcome: 'unavailable' }
  | { type: 'ari'; gen: number; step: Step; ok: true; result?: unknown }
  | { type: 'ari'; gen: number; step: Step; ok: false; code: string }
  | { type: 'timer'; gen: number; name: TimerName }
  /** The instance stops: queued new callers are handed back, the job in hand finishes. */
  | { type: 'shutdown' };

// ---- what the machine asks for --------------------------------------------------------------

export type Effect =
  | { type: 'ari'; step: Step; node: string; command: CommandName; params: CommandParams<CommandName> }
  | { type: 'store'; op: 'create' | 'pointer'; state: CallState }
  /** `note`: the websocket connection id written into the state during setup (session lookups). */
  | { type: 'store'; op: 'takeover' | 'activate' | 'note' | 'claim'; state: CallState; revision: number }
  /** `recent`: this instance's own last write of it may answer (what follows is a compare-and-set). */
  | { type: 'store'; op: 'read'; node: string; channelId: string; recent?: true }
  | { type: 'store'; op: 'read'; sessionId: string }
  | { type: 'store'; op: 'unpoint'; sessionId: string }
  | { type: 'settle'; delivery: DeliveryRef; ack: boolean; delayMs?: number }
  | { type: 'timer'; name: TimerName; ms: number }
  | { type: 'cancel'; name: TimerName }
  /** Route this media channel's StasisStart and StasisEnd here (before externalMedia is sent). */
  | { type: 'watch_media'; channelId: string }
  | { type: 'publish'; event: CallEvent }
  | { type: 'media_path'; event: MediaPathEvent }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> };

/**
 * For the media path monitor: a media channel came up (ms from externalMedia sent to its
 * StasisStart), one is slower than `slowMs` and still not up, that one is no longer waited for,
 * an ARI command about media (or our own wait) timed out.
 */
export type MediaPathEvent =
  | { kind: 'up'; ms: number }
  | { kind: 'slow' }
  | { kind: 'slow_over' }
  | { kind: 'timeout'; what: string };

export interface MachineSettings {
  app: string;
  /** This controller instance (the `owner` written into call state). */
  instance: string;
  media: MediaSettings;
  /** What happens to the caller when the media side fails: hang up, or continue in the dialplan. */
  mediaFailureAction: 'hangup' | 'continue';
  /** Without the media channel's StasisStart after this long, ARI is asked whether it is in Stasis. */
  mediaCheckMs: number;
}

/** What a transition may read from the world: clocks and fresh ids (deterministic in tests). */
export interface Env {
  settings: MachineSettings;
  /** Wall clock, epoch ms (timestamps in state and events). */
  now(): number;
  /** Monotonic ms (setup latency). */
  mono(): number;
  uuid(): string;
}

// ---- the machine's state --------------------------------------------------------------------

export type Phase =
  | 'idle' | 'checking' | 'reading' | 'recording' | 'creating' | 'bridging' | 'activating' | 'claiming' | 'clearing' | 'done';

export interface CallIds {
  app: string;
  node: string;
  channelId: string;
  sessionId: string;
  bridgeId: string;
  /** The media channel; its id is the session UUID (how its StasisStart is recognised). */
  externalChannelId: string;
}

export interface Call {
  ids: CallIds;
  entry: CallEntry | undefined;
  caller: CallerInfo;
  startedAt: string;
  receivedAt: number;
  /** The state's revision as this actor knows it (0: not stored). */
  revision: number;
  phase: CallPhase;
  owner: string;
  /** This actor is setting it up: it removes what it sent creations for, even without the claim. */
  own: boolean;
  setupMs?: number;
  cause?: string;
  /** A takeover's predecessor: what it may have created, removed once the takeover is recorded. */
  old?: Pick<CallIds, 'sessionId' | 'bridgeId' | 'externalChannelId'>;
  /** chan_websocket: the media channel's connection, from the externalMedia reply. */
  media?: WebSocketMedia;
}

type Job =
  | { kind: 'start'; msg: StartMessage; held: DeliveryRef[]; fresh?: boolean }
  | { kind: 'end'; msg: EndMessage; held: DeliveryRef[] }
  | { kind: 'end_stored'; stored: StoredCall; cause: string; who: 'caller' | 'media'; held: DeliveryRef[] };

type StepStatus = 'pending' | 'ok' | 'failed';

/** `media_connect`: chan_websocket's socket never connected (or its channel went before it did). */
type SetupStep = 'answer' | 'bridge' | 'media' | 'media_stasis' | 'media_connect' | 'add_channels';

export interface MachineState {
  phase: Phase;
  /** Bumped with every job; effects are asked for in it and their results come back with it. */
  gen: number;
  job: Job | undefined;
  queue: Job[];
  call: Call | undefined;
  steps: Partial<Record<Step, StepStatus>>;
  retries: Partial<Record<Step, number>>;
  mediaInStasis: boolean;
  gone: { caller: boolean; media: boolean };
  failure: { step: SetupStep; code: string } | undefined;
  /** Decided once the call is to end: what is reported (nothing when `silent`), what happens to the caller. */
  ending: { kind: 'ended' | 'failed'; caller: 'hangup' | 'continue' | 'none'; silent?: true } | undefined;
  /** How the job's deliveries are settled when it is done. */
  settleAs: { ack: true } | { ack: false; delayMs: number };
  /** Compare-and-set rounds of this job (conflict, read, retry). */
  attempts: number;
  /** The phase whose compare-and-set lost, while the state is read again. */
  rereadFrom: Phase | undefined;
  claimSent: boolean;
  /** The session whose pointer is being removed (a takeover's predecessor, or our own). */
  unpointing: string | undefined;
  /** The media channel's timers are armed. */
  mediaTimers: boolean;
  /** Monotonic ms when externalMedia was sent (how long the media channel takes to come up). */
  mediaSentAt: number | undefined;
  /** The media channel was reported slow to come up (its end of waiting is reported too). */
  mediaSlow: boolean;
  /** Rolling back: what this actor sent creations for is removed once each has answered. */
  undo: boolean;
  stopping: boolean;
}

/**
 * A StasisStart delivered this long after it was stored is first checked against ARI: is its
 * caller still there? When a consumer's leader changes, nats-server 2.9 hands out again
 * StasisStarts whose acks it lost, most as first deliveries, after their calls ended: 174 and
 * 209 in two runs of cluster.test.ts, each costing three KV writes, an answer and, for a first
 * delivery, a `failed` report for a call that had ended well. A caller gone is nothing to set
 * up or report (one who hung up while the stream could not deliver is not told `failed`); one
 * still there costs one more ARI round trip. A start is delivered within milliseconds of being
 * stored when nothing is wrong; at 5 s, 79-127 duplicates a run still came through (the test's
 * calls last 1 s), at 2 s 34 in one run, all in the whole-cluster restart.
 */
export const STALE_START_MS = 2000;

/** How long a delivery whose effect cannot be recorded now waits before it comes back. */
export const RETRY_LATER_MS = 1000;
/** Compare-and-set rounds before a job gives up for now (its deliveries come back later). */
export const MAX_ATTEMPTS = 5;
/** Teardown requests, the answer and the bridge create that time out or find ARI unreachable are sent again after these delays. */
export const TRANSIENT_RETRY_MS = [100, 500, 2000] as const;
/** A session pointer (or its removal) that fails is tried again after these delays. */
export const POINTER_RETRY_MS = [200, 1000] as const;
/** A set-up call whose `active` record cannot be written is retried this often, this many times. */
export const ACTIVATE_RETRY_MS = 500;
export const MAX_ACTIVATE_RETRIES = 10;

export function initialState(): MachineState {
  return {
    phase: 'idle', gen: 0, job: undefined, queue: [], call: undefined, steps: {}, retries: {},
    mediaInStasis: false, gone: { caller: false, media: false }, failure: undefined, ending: undefined,
    settleAs: { ack: true }, attempts: 0, rereadFrom: undefined, claimSent: false, unpointing: undefined, mediaTimers: false,
    mediaSentAt: undefined, mediaSlow: false, undo: false, stopping: false,
  };
}

// ---- entries --------------------------------------------------------------------------------

/** The stay in Stasis a StasisStart or StasisEnd belongs to, from the channel it carries. */
export function entryOf(dialplan: { context: string; exten: string; priority: number; app_data?: string | undefined }, seq?: number): CallEntry {
  const where = `${dialplan.context},${dialplan.exten},${dialplan.priority},${dialplan.app_data ?? ''}`;
  return seq === undefined ? { dialplan: where } : { seq, dialplan: where };
}

/** Two starts of the same stay in Stasis (a redelivery, reconciliation finding a handled caller). */
export function sameEntry(a: CallEntry | undefined, b: CallEntry | undefined): boolean {
  if (!a || !b) return true; // a call recorded before entries were: one per caller channel
  if (a.seq !== undefined && b.seq !== undefined) return a.seq === b.seq;
  return a.dialplan === b.dialplan;
}

/**
 * A StasisEnd ends a call whose stay began before it: the stay it left, or an earlier one the
 * caller is past as well. Without both sequence numbers, only the stay it left from there.
 */
export function endApplies(end: CallEntry | undefined, call: CallEntry | undefined): boolean {
  if (!end || !call) return true;
  if (end.seq !== undefined && call.seq !== undefined) return end.seq > call.seq;
  return end.dialplan === call.dialplan;
}

/** `a` began after `b` (both sequence numbers known). */
const laterThan = (a: CallEntry | undefined, b: CallEntry | undefined) =>
  a?.seq !== undefined && b?.seq !== undefined && a.seq > b.seq;

// ---- the transition -------------------------------------------------------------------------

interface Ctx {
  s: MachineState;
  fx: Effect[];
  env: Env;
}

export function step(prev: MachineState, msg: Message, env: Env): { state: MachineState; effects: Effect[] } {
  const c: Ctx = { s: copy(prev), fx: [], env };
  if (c.s.phase === 'done') return { state: c.s, effects: [] };
  if ('gen' in msg && msg.gen !== c.s.gen) return { state: c.s, effects: [] }; // for an earlier job
  switch (msg.type) {
    case 'start': onStart(c, msg); break;
    case 'end': onEnd(c, msg); break;
    case 'end_stored': enqueue(c, { kind: 'end_stored', stored: msg.stored, cause: msg.cause, who: msg.who, held: [] }); break;
    case 'media_start': onMediaStart(c, msg.channelId); break;
    case 'stored': onStored(c, msg); break;
    case 'ari': onAri(c, msg); break;
    case 'timer': onTimer(c, msg.name); break;
    case 'shutdown': onShutdown(c); break;
  }
  return { state: c.s, effects: c.fx };
}

function copy(s: MachineState): MachineState {
  return {
    ...s,
    queue: [...s.queue],
    call: s.call && { ...s.call, ids: { ...s.call.ids }, ...(s.call.media ? { media: { ...s.call.media } } : {}) },
    steps: { ...s.steps },
    retries: { ...s.retries },
    gone: { ...s.gone },
    job: s.job && { ...s.job, held: [...s.job.held] },
  };
}

// ---- incoming events ------------------------------------------------------------------------

function onStart(c: Ctx, m: StartMessage): void {
  const { s } = c;
  const current = s.call?.entry ?? (s.job?.kind === 'start' ? s.job.msg.entry : undefined);
  const busyWithCaller = s.job !== undefined && (s.call !== undefined || s.job.kind === 'start');
  if (busyWithCaller && sameEntry(current, m.entry) && !m.adopt) {
    // An adoption still reading would leave a stored setup be; this delivery (its first owner
    // died, so it came again) must take that setup over instead: the job becomes this start.
    if (s.job!.kind === 'start' && s.job!.msg.adopt && s.call === undefined) s.job!.msg = m;
    s.job!.held.push(m.delivery); // a duplicate of what is being handled: settled with it
    return;
  }
  if (busyWithCaller && laterThan(current, m.entry)) {
    settle(c, m.delivery, { ack: true }); // an earlier stay's start, redelivered: that call is over
    return;
  }
  if (busyWithCaller && laterThan(m.entry, current)) {
    // Asterisk sends a later StasisStart only after the earlier StasisEnd: this call is over.
    noteGone(c, 'caller', 'caller_reentered');
  }
  const queued = s.queue.find((j) => j.kind === 'start' && sameEntry(j.msg.entry, m.entry));
  if (queued) return void queued.held.push(m.delivery);
  enqueue(c, { kind: 'start', msg: m, held: [m.delivery] });
}

function onEnd(c: Ctx, m: EndMessage): void {
  const { s } = c;
  const call = s.call;
  if (call && m.who === 'caller' && m.channelId === call.ids.channelId) {
    if (endApplies(m.entry, call.entry)) {
      s.job!.held.push(m.delivery);
      noteGone(c, 'caller');
      return advance(c);
    }
    if (laterThan(call.entry, m.entry)) return settle(c, m.delivery, { ack: true }); // an earlier stay's end
  }
  if (call && m.who === 'media' && m.channelId === call.ids.externalChannelId) {
    s.job!.held.push(m.delivery);
    noteGone(c, 'media');
    return advance(c);
  }
  if (s.job?.kind === 'end' && sameEnd(s.job.msg, m)) return void s.job.held.push(m.delivery);
  const queued = s.queue.find((j) => j.kind === 'end' && sameEnd(j.msg, m));
  if (queued) return void queued.held.push(m.delivery);
  // A start being read for: its caller left; the end itself is looked at on its own afterwards.
  if (!call && m.who === 'caller' && s.job?.kind === 'start' && endApplies(m.entry, s.job.msg.entry)) s.gone.caller = true;
  enqueue(c, { kind: 'end', msg: m, held: [m.delivery] });
}

const sameEnd = (a: EndMessage, b: EndMessage) =>
  a.who === b.who && a.channelId === b.channelId && a.entry?.seq === b.entry?.seq && a.entry?.dialplan === b.entry?.dialplan;

function onMediaStart(c: Ctx, channelId: string): void {
  const { s } = c;
  if (!s.call || channelId !== s.call.ids.externalChannelId || s.mediaInStasis) return;
  s.mediaInStasis = true;
  advance(c);
}

function onShutdown(c: Ctx): void {
  const { s } = c;
  s.stopping = true;
  // Callers not begun here go back to the stream at once, for another instance to take.
  s.queue = s.queue.filter((j) => {
    if (j.kind !== 'start') return true;
    for (const d of j.held) settle(c, d, { ack: false, delayMs: 0 });
    return false;
  });
}

function noteGone(c: Ctx, who: 'caller' | 'media', cause?: string): void {
  const { s } = c;
  if (s.gone[who]) return;
  s.gone[who] = true;
  if (s.call && cause) s.call.cause ??= cause;
}

// ---- jobs -----------------------------------------------------------------------------------

function enqueue(c: Ctx, job: Job): void {
  c.s.queue.push(job);
  if (!c.s.job) nextJob(c);
}

function nextJob(c: Ctx): void {
  const { s } = c;
  const job = s.queue.shift();
  Object.assign(s, { ...initialState(), gen: s.gen + 1, queue: s.queue, stopping: s.stopping });
  if (!job) {
    s.phase = 'done';
    return;
  }
  s.job = job;
  switch (job.kind) {
    case 'start': return beginStart(c, job);
    case 'end': return beginEnd(c, job.msg);
    case 'end_stored': return beginEndStored(c, job);
  }
}

function beginStart(c: Ctx, job: Extract<Job, { kind: 'start' }>): void {
  const m = job.msg;
  if (!c.s.stopping && !m.adopt && (m.storedAgoMs ?? 0) >= STALE_START_MS && !job.fresh) {
    c.s.phase = 'checking';
    c.s.steps.caller_check = 'pending';
    c.fx.push({ type: 'ari', step: 'caller_check', node: m.node, command: 'channels.get', params: { channelId: m.channelId } });
    return;
  }
  startOrRead(c, job);
}

function startOrRead(c: Ctx, job: Extract<Job, { kind: 'start' }>): void {
  const m = job.msg;
  if (c.s.stopping) {
    c.s.settleAs = { ack: false, delayMs: 0 };
    return finishJob(c);
  }
  // A first delivery is a new caller: nobody can have recorded it, so no read is needed (if
  // someone did, the create loses and the state is read then).
  if (job.fresh || (!m.delivery.redelivered && !m.adopt)) return recordNew(c, m);
  read(c, { node: m.node, channelId: m.channelId });
}

/** A stale StasisStart's caller looked up: gone, the job ends (acked, unreported); else it goes on. */
function onCallerChecked(c: Ctx, m: Extract<Message, { type: 'ari' }>): void {
  const { s } = c;
  if (s.steps.caller_check !== 'pending' || s.job?.kind !== 'start') return;
  delete s.steps.caller_check;
  if (!m.ok && m.code === 'not_found') {
    log(c, 'debug', 'a StasisStart delivered late whose caller is gone: nothing to set up or report', { storedAgoMs: s.job.msg.storedAgoMs });
    return finishJob(c);
  }
  startOrRead(c, s.job); // there (or ARI could not say): as any start
}

function beginEnd(c: Ctx, m: EndMessage): void {
  // A caller's end claims what it reads, so a copy this instance wrote will do: stale, it loses.
  read(c, m.who === 'media' ? { sessionId: m.channelId } : { node: m.node, channelId: m.channelId, recent: true });
}

function beginEndStored(c: Ctx, job: Extract<Job, { kind: 'end_stored' }>): void {
  c.s.call = known(job.stored);
  noteGone(c, job.who, job.cause);
  decideEnd(c);
}

/** Settles the job's deliveries, then starts the next job (or the actor is done). */
function finishJob(c: Ctx): void {
  const { s } = c;
  for (const d of s.job?.held ?? []) settle(c, d, s.settleAs);
  disarmMedia(c);
  nextJob(c);
}

function settle(c: Ctx, delivery: DeliveryRef, how: MachineState['settleAs']): void {
  c.fx.push(how.ack ? { type: 'settle', delivery, ack: true } : { type: 'settle', delivery, ack: false, delayMs: how.delayMs });
}

/** The job cannot be done now: its deliveries come back later (after what we created is removed). */
function retryLater(c: Ctx, why: string): void {
  c.s.settleAs = { ack: false, delayMs: RETRY_LATER_MS };
  log(c, 'warn', `${why}; event retried later`);
  if (c.s.call?.own) return rollback(c);
  finishJob(c);
}

// ---- setting a call up ----------------------------------------------------------------------

function recordNew(c: Ctx, m: StartMessage): void {
  const { s, env } = c;
  const sessionId = env.uuid();
  const now = iso(env);
  s.call = {
    ids: { app: env.settings.app, node: m.node, channelId: m.channelId, sessionId, externalChannelId: sessionId, bridgeId: env.uuid() },
    entry: m.entry, caller: { ...m.caller }, startedAt: now, receivedAt: m.receivedAt,
    revision: 0, phase: 'setup', owner: env.settings.instance, own: true,
  };
  s.phase = 'recording';
  if (s.gone.caller) return finishJob(c); // left while we looked: nothing to set up
  c.fx.push({ type: 'store', op: 'create', state: stateOf(c, 'setup') });
  // The answer creates nothing, so it goes out while the state is being written (once a job).
  if (s.steps.answer === undefined) sendAri(c, 'answer');
  // Not the creations (issue 13 tried it: one KV round trip less per setup): while a bucket's
  // leader is elected the record takes seconds, the stream may hand the start to another
  // instance meanwhile, and its takeover removes the resources this setup then goes on with
  // (cluster.test.ts: 14 callers failed with media_stasis:not_found). Created after the record,
  // a slow record has created nothing for a takeover to remove.
}

/** A call left in setup by an instance that died (or stalled): start over with fresh ids. */
function takeOver(c: Ctx, found: StoredCall, m: StartMessage): void {
  const { s, env } = c;
  const prev = found.state;
  const sessionId = env.uuid();
  s.call = {
    ...known(found), own: true, owner: env.settings.instance, receivedAt: m.receivedAt,
    ids: { ...ids(prev), sessionId, externalChannelId: sessionId, bridgeId: env.uuid() },
    old: { sessionId: prev.sessionId, bridgeId: prev.bridgeId, externalChannelId: prev.externalChannelId },
  };
  delete s.call.cause;
  delete s.call.media; // the predecessor's connection, not this attempt's
  s.phase = 'recording';
  log(c, 'info', 'taking over a call left in setup', { previousOwner: prev.owner });
  c.fx.push({ type: 'store', op: 'takeover', state: stateOf(c, 'setup'), revision: found.revision });
  if (s.steps.answer === undefined) sendAri(c, 'answer');
}

function onRecorded(c: Ctx, revision: number): void {
  const { s } = c;
  const call = s.call!;
  call.revision = revision;
  // Written only now that the call key is ours: a lost create leaves no pointer behind.
  s.steps.pointer = 'pending';
  c.fx.push({ type: 'store', op: 'pointer', state: stateOf(c, 'setup') });
  if (call.old) {
    unpoint(c, call.old.sessionId);
    sendAri(c, 'rm_old_media');
    sendAri(c, 'rm_old_bridge');
  }
  s.phase = 'creating';
  // The answer failed meanwhile (the caller is gone, or not in Stasis): nothing to create.
  if (s.failure || s.gone.caller || s.gone.media) return advance(c);
  sendAri(c, 'bridge');
  c.fx.push({ type: 'watch_media', channelId: call.ids.externalChannelId });
  sendAri(c, 'media');
  s.mediaSentAt = c.env.mono();
  s.mediaTimers = true;
  const { stasisTimeoutMs, slowMs } = c.env.settings.media;
  c.fx.push({ type: 'timer', name: 'media_timeout', ms: stasisTimeoutMs });
  c.fx.push({ type: 'timer', name: 'media_check', ms: c.env.settings.mediaCheckMs });
  if (slowMs !== undefined) c.fx.push({ type: 'timer', name: 'media_slow', ms: slowMs });
}

function disarmMedia(c: Ctx): void {
  if (!c.s.mediaTimers) return;
  c.s.mediaTimers = false;
  c.fx.push({ type: 'cancel', name: 'media_check' }, { type: 'cancel', name: 'media_timeout' });
  if (c.env.settings.media.slowMs !== undefined) c.fx.push({ type: 'cancel', name: 'media_slow' });
  if (c.s.mediaSlow) {
    c.s.mediaSlow = false;
    observe(c, { kind: 'slow_over' });
  }
}

/** Tells the media path monitor (only when it watches: `slowMs` set). */
function observe(c: Ctx, event: MediaPathEvent): void {
  if (c.env.settings.media.slowMs !== undefined) c.fx.push({ type: 'media_path', event });
}

/**
 * externalMedia answered. chan_websocket server mode: the media server must connect with the
 * connection id of this reply before the channel enters Stasis, so `media_ready` goes out at once
 * (unless the call is ending anyway), and the id is written into the state (compare-and-set, like
 * every change) for session lookups; activation and the claim wait for that write.
 */
function onMediaCreated(c: Ctx, reply: unknown): void {
  const { s, env } = c;
  const call = s.call!;
  const media = websocketMediaOf(env.settings.media, call.ids.node, reply);
  if (media === undefined) return;
  if (media === 'missing') {
    s.failure ??= { step: 'media', code: 'no_connection_id' };
    return;
  }
  call.media = media;
  if (media.connection !== 'server' || s.failure || s.gone.caller || s.gone.media) return;
  if (media.url === undefined) log(c, 'warn', 'no media URL for this node in EXTERNAL_MEDIA_WEBSOCKET_URL; media_ready has only the connection id', { node: call.ids.node });
  report(c, 'media_ready');
  s.steps.note = 'pending';
  c.fx.push({ type: 'store', op: 'note', state: stateOf(c, 'setup'), revision: call.revision });
}

/** The wait for the media channel failed: with chan_websocket, its socket did not connect. */
const waitStep = (c: Ctx): SetupStep => (isWebSocket(c.env.settings.media) ? 'media_connect' : 'media_stasis');

/** What comes next for the call in hand, from what has settled. */
function advance(c: Ctx): void {
  const { s } = c;
  switch (s.phase) {
    case 'creating': {
      if (pending(s, 'answer', 'bridge', 'media')) return;
      if (s.failure || s.gone.caller || s.gone.media) return decideEnd(c);
      if (!s.mediaInStasis) return;
      if (s.mediaSentAt !== undefined) observe(c, { kind: 'up', ms: round(c.env.mono() - s.mediaSentAt) });
      disarmMedia(c);
      s.phase = 'bridging';
      return sendAri(c, 'add');
    }
    case 'bridging':
      if (pending(s, 'add', 'note')) return;
      if (s.failure || s.gone.caller || s.gone.media) return decideEnd(c);
      s.phase = 'activating';
      s.call!.setupMs = round(c.env.mono() - s.call!.receivedAt);
      c.fx.push({ type: 'store', op: 'activate', state: stateOf(c, 'active'), revision: s.call!.revision });
      return;
    case 'claiming':
      return claimIfReady(c);
    case 'clearing':
      if (s.undo) undoCreations(c);
      // Also where a set-up call waits for its predecessor's removal before the job is done.
      if (pending(s, 'bridge', 'media', 'rm_media', 'rm_bridge', 'caller', 'rm_old_media', 'rm_old_bridge', 'pointer', 'unpoint', 'note')) return;
      return finishJob(c);
    default:
      return; // waiting for a store result; gone notes are looked at when it comes
  }
}

function onActivated(c: Ctx, revision: number): void {
  const { s } = c;
  const call = s.call!;
  call.revision = revision;
  call.phase = 'active';
  report(c, 'started');
  if (s.gone.caller || s.gone.media) return decideEnd(c);
  s.phase = 'clearing'; // nothing to remove: waits only for what is still in flight
  advance(c);
}

// ---- ending a call --------------------------------------------------------------------------

/** The call in hand is to end: what is reported and what happens to the caller, then the claim. */
function decideEnd(c: Ctx): void {
  const { s, env } = c;
  disarmMedia(c);
  const call = s.call!;
  const active = call.phase === 'active';
  const mediaAction = env.settings.mediaFailureAction;
  if (staleStart(c)) {
    // A StasisStart delivered again (or a caller adopted) after the caller had left Stasis: the
    // ack of its first delivery was lost (e.g. in a NATS leader change) or reconciliation saw the
    // caller just before it left. That stay's call was set up and ended, and reported, before; or
    // its caller left before any instance recorded a call. There is no call to report: the state
    // just written is removed, nothing else.
    call.cause = s.gone.caller ? 'caller_hangup_during_setup' : `setup_failed:answer:${s.failure!.code}`;
    s.ending = { kind: 'failed', caller: 'none', silent: true };
    log(c, 'info', 'a StasisStart handled again after its caller left Stasis: nothing to set up or report', { cause: call.cause });
  } else if (s.gone.caller) {
    call.cause ??= active ? 'caller_hangup' : 'caller_hangup_during_setup';
    s.ending = { kind: 'ended', caller: 'none' };
  } else if (s.gone.media) {
    call.cause ??= active ? 'media_ended' : 'media_ended_during_setup';
    s.ending = { kind: active ? 'ended' : 'failed', caller: mediaAction };
  } else {
    const f = s.failure ?? { step: 'answer', code: 'internal' };
    call.cause = `setup_failed:${f.step}:${f.code}`;
    const mediaDown = f.step === 'media' || f.step === 'media_stasis' || f.step === 'media_connect';
    s.ending = { kind: 'failed', caller: mediaDown ? mediaAction : 'hangup' };
    log(c, 'warn', 'call setup failed; removing what it created', { cause: call.cause, caller: s.ending.caller });
  }
  if (call.revision === 0) return retryLater(c, 'no call state to claim');
  s.phase = 'claiming';
  claimIfReady(c);
}

/**
 * A call recorded anew for a start delivered again (or an adopted caller), not yet active, whose
 * caller turned out to be gone: it left Stasis, or the answer found it gone or out of Stasis.
 * A first delivery reports its end in any case: every caller hung up before its answer is told.
 */
function staleStart(c: Ctx): boolean {
  const { s } = c;
  const job = s.job;
  if (job?.kind !== 'start' || !(job.msg.delivery.redelivered || job.msg.adopt) || !s.call!.own || s.call!.old || s.call!.phase === 'active') return false;
  const f = s.failure;
  return s.gone.caller || (f?.step === 'answer' && (f.code === 'not_found' || f.code === 'conflict'));
}

function claimIfReady(c: Ctx): void {
  const { s } = c;
  // A session pointer still being written would outlive the claim's cleanup; a connection id
  // being written changes the revision the claim needs.
  if (pending(s, 'pointer', 'unpoint', 'note') || s.claimSent) return;
  s.claimSent = true;
  c.fx.push({ type: 'store', op: 'claim', state: stateOf(c, s.call!.phase), revision: s.call!.revision });
}

function onClaimed(c: Ctx): void {
  const { s } = c;
  s.phase = 'clearing';
  const call = s.call!;
  // Reported at once: the claim makes this the one report; an instance dying before the removal
  // below leaves resources to reconciliation, not a call without its end.
  if (!s.ending!.silent) report(c, s.ending!.kind);
  // The owner removes what it sent creations for; anyone else what the state names (404 is fine).
  const created = (st: Step) => !call.own || s.steps[st] !== undefined;
  if (created('media') && !s.gone.media) sendAri(c, 'rm_media');
  if (created('bridge')) sendAri(c, 'rm_bridge');
  if (s.ending!.caller !== 'none' && !s.gone.caller) sendAri(c, 'caller');
  advance(c);
}

function unpoint(c: Ctx, sessionId: string): void {
  c.s.steps.unpoint = 'pending';
  c.s.unpointing = sessionId;
  c.fx.push({ type: 'store', op: 'unpoint', sessionId });
}

/** Someone else owns the end (or it cannot be claimed now): remove only what we created. */
function rollback(c: Ctx): void {
  const { s } = c;
  const call = s.call!;
  log(c, 'debug', 'the call is ended elsewhere (or cannot be claimed now): removing only what this actor created', { sessionId: call.ids.sessionId });
  s.phase = 'clearing';
  s.ending = { kind: 'failed', caller: 'none' };
  s.undo = call.own;
  advance(c);
}

/**
 * What this actor created is removed, each once its request has answered: a removal overtaking
 * its create would find nothing, and the create would leave it behind. The session pointer is
 * the one still on its way at times (a rollback after a lost activation: activation does not
 * wait for it); it may also have landed after the winner's claim removed it.
 */
function undoCreations(c: Ctx): void {
  const { s } = c;
  const settled = (st: Step) => s.steps[st] !== undefined && s.steps[st] !== 'pending';
  if (settled('media') && s.steps.rm_media === undefined && !s.gone.media) sendAri(c, 'rm_media');
  if (settled('bridge') && s.steps.rm_bridge === undefined) sendAri(c, 'rm_bridge');
  const own = s.call!.ids.sessionId;
  if (settled('pointer') && s.steps.unpoint !== 'pending' && s.unpointing !== own) unpoint(c, own);
}

function report(c: Ctx, kind: CallEventKind): void {
  const call = c.s.call!;
  const s = call.ids;
  const event: CallEvent = {
    kind, app: s.app, node: s.node, sessionId: s.sessionId, channelId: s.channelId, bridgeId: s.bridgeId,
    externalChannelId: s.externalChannelId, callerNumber: call.caller.number, callerName: call.caller.name,
    startedAt: call.startedAt, at: iso(c.env),
    ...(call.setupMs === undefined ? {} : { setupMs: call.setupMs }),
    ...((kind !== 'ended' && kind !== 'failed') || call.cause === undefined ? {} : { cause: call.cause }),
    ...(call.media === undefined ? {} : { media: call.media }),
  };
  c.fx.push({ type: 'publish', event });
  if (kind === 'media_ready') return log(c, 'debug', 'media ready to connect', { sessionId: s.sessionId, media: call.media });
  const msg = kind === 'started' ? 'call started' : kind === 'ended' ? 'call ended' : 'call failed';
  log(c, 'info', msg, { sessionId: s.sessionId, ...(kind === 'started' ? { setupMs: call.setupMs } : { cause: call.cause }) });
}

// ---- store results --------------------------------------------------------------------------

function read(c: Ctx, key: { node: string; channelId: string; recent?: true } | { sessionId: string }): void {
  c.s.phase = 'reading';
  c.fx.push({ type: 'store', op: 'read', ...key });
}

function onStored(c: Ctx, m: Extract<Message, { type: 'stored' }>): void {
  const { s } = c;
  if (m.op === 'note') {
    s.steps.note = m.outcome === 'ok' ? 'ok' : 'failed';
    if (m.outcome === 'ok' && m.revision !== undefined) s.call!.revision = m.revision;
    // A lost compare-and-set: the next one (activation, the claim) reads the state and decides.
    if (m.outcome === 'unavailable') log(c, 'warn', 'websocket connection id not written; session lookups miss it until the call is active');
    return advance(c);
  }
  if (m.op === 'pointer' || m.op === 'unpoint') {
    // The pointer is how the media channel's end finds its call: it is written again a few times.
    const attempt = s.retries[m.op] ?? 0;
    if (m.outcome !== 'ok' && attempt < POINTER_RETRY_MS.length) {
      s.retries[m.op] = attempt + 1;
      c.fx.push({ type: 'timer', name: `retry:${m.op}`, ms: POINTER_RETRY_MS[attempt]! });
      return;
    }
    s.steps[m.op] = m.outcome === 'ok' ? 'ok' : 'failed';
    if (m.outcome !== 'ok') log(c, 'warn', m.op === 'pointer' ? 'session pointer not written; reconciliation ends the call if its media channel goes' : 'old session pointer not removed; it expires');
    return advance(c);
  }
  const expected: Partial<Record<Phase, StoreOp[]>> = {
    reading: ['read'], recording: ['create', 'takeover'], activating: ['activate'], claiming: ['claim'],
  };
  if (!expected[s.phase]?.includes(m.op)) return; // not what this phase waits for
  if (m.outcome === 'unavailable') return storeUnavailable(c, m.op);
  if (m.outcome === 'conflict') return m.op === 'read' ? onRead(c, undefined) : reread(c);
  switch (m.op) {
    case 'read': return onRead(c, m.found);
    case 'create':
    case 'takeover': return onRecorded(c, m.revision ?? 0);
    case 'activate': return onActivated(c, m.revision ?? s.call!.revision);
    case 'claim': return onClaimed(c);
  }
}

function storeUnavailable(c: Ctx, op: StoreOp): void {
  const { s } = c;
  if (op === 'activate') {
    if (s.attempts < MAX_ACTIVATE_RETRIES) {
      s.attempts += 1;
      c.fx.push({ type: 'timer', name: 'activate_retry', ms: ACTIVATE_RETRY_MS });
      return;
    }
    // The call is up in Asterisk; its record says `setup` until it is ended (any instance can).
    log(c, 'warn', 'call is up but its state could not be updated');
    return onActivated(c, s.call!.revision);
  }
  retryLater(c, 'call state unavailable');
}

/** A compare-and-set lost: read what is there now and decide again. */
function reread(c: Ctx): void {
  const { s } = c;
  log(c, 'debug', 'compare-and-set lost; reading the call state again', { phase: s.phase, sessionId: s.call?.ids.sessionId });
  s.attempts += 1;
  if (s.attempts > MAX_ATTEMPTS) return retryLater(c, 'call state keeps changing');
  s.claimSent = false;
  s.rereadFrom = s.phase;
  const call = s.call!;
  s.phase = 'reading';
  c.fx.push({ type: 'store', op: 'read', node: call.ids.node, channelId: call.ids.channelId });
}

function onRead(c: Ctx, found: StoredCall | undefined): void {
  const { s } = c;
  const from = s.rereadFrom;
  s.rereadFrom = undefined;
  if (from === 'recording') return afterRecordConflict(c, found);
  if (from === 'activating') return afterActivateConflict(c, found);
  if (from === 'claiming') return afterClaimConflict(c, found);
  const job = s.job!;
  if (job.kind === 'start') return afterStartRead(c, job, found);
  if (job.kind === 'end') return afterEndRead(c, job.msg, found);
}

function afterStartRead(c: Ctx, job: Extract<Job, { kind: 'start' }>, found: StoredCall | undefined): void {
  const { s } = c;
  const m = job.msg;
  if (!found) return recordNew(c, m);
  const f = found.state;
  if (sameEntry(f.entry, m.entry)) {
    if (m.adopt) return finishJob(c); // handled already (or being set up): leave it be
    if (f.phase === 'active' || s.gone.caller) {
      s.call = known(found);
      if (s.gone.caller) return decideEnd(c);
      return finishJob(c); // set up already: the first delivery's ack was lost
    }
    return takeOver(c, found, m);
  }
  if (laterThan(f.entry, m.entry)) return finishJob(c); // this start is of an earlier stay: over
  // The stored call is of an earlier stay in Stasis: the caller left it, so it ends first.
  s.queue.unshift({ kind: 'start', msg: m, held: job.held, fresh: true });
  job.held = [];
  s.call = known(found);
  noteGone(c, 'caller', 'caller_reentered');
  decideEnd(c);
}

function afterEndRead(c: Ctx, m: EndMessage, found: StoredCall | undefined): void {
  const { s } = c;
  if (!found) {
    // A caller's end may overtake the create of its call on another instance: look once more.
    if (m.who === 'caller' && !m.delivery.redelivered) s.settleAs = { ack: false, delayMs: RETRY_LATER_MS };
    return finishJob(c);
  }
  const f = found.state;
  if (m.who === 'media' ? f.externalChannelId !== m.channelId : !endApplies(m.entry, f.entry)) return finishJob(c);
  s.call = known(found);
  noteGone(c, m.who);
  decideEnd(c);
}

function afterRecordConflict(c: Ctx, found: StoredCall | undefined): void {
  const { s } = c;
  const job = s.job as Extract<Job, { kind: 'start' }>;
  const m = job.msg;
  const ours = s.call!;
  if (!found) return ours.old ? retryLater(c, 'a call taken over went meanwhile') : recordNew(c, m);
  if (sameEntry(found.state.entry, m.entry)) {
    if (found.state.phase === 'active') return finishJob(c); // set up by someone else
    if (ours.old) return takeOver(c, found, m); // another takeover changed it: take it from there
    return retryLater(c, 'another instance is setting this call up'); // its redelivery decides
  }
  afterStartRead(c, job, found);
}

function afterActivateConflict(c: Ctx, found: StoredCall | undefined): void {
  const { s } = c;
  const call = s.call!;
  if (found && found.state.sessionId === call.ids.sessionId && found.state.owner === call.owner && found.state.phase === 'setup') {
    call.revision = found.revision; // refreshed meanwhile: still ours
    s.phase = 'activating';
    c.fx.push({ type: 'store', op: 'activate', state: stateOf(c, 'active'), revision: found.revision });
    return;
  }
  // Ended (or taken over) elsewhere while we set it up: whoever did reports it.
  rollback(c);
}

function afterClaimConflict(c: Ctx, found: StoredCall | undefined): void {
  const { s } = c;
  const call = s.call!;
  if (found && found.state.sessionId === call.ids.sessionId) {
    call.revision = found.revision; // the same call, written meanwhile (activated, refreshed)
    call.phase = found.state.phase;
    s.phase = 'claiming';
    return claimIfReady(c);
  }
  // An end: decided again on the call there now (taken over with new ids, or of a later stay).
  if (found && s.job?.kind === 'end') return afterEndRead(c, s.job.msg, found);
  rollback(c); // ended, or taken over with new ids, by someone else
}

// ---- ARI results and timers -----------------------------------------------------------------

const SETUP_STEP: Partial<Record<Step, SetupStep>> = { answer: 'answer', bridge: 'bridge', media: 'media', add: 'add_channels' };
const TEARDOWN: ReadonlySet<Step> = new Set(['rm_media', 'rm_bridge', 'caller', 'rm_old_media', 'rm_old_bridge']);
const TRANSIENT = new Set(['timeout', 'ari_unavailable']);
/** Commands about the media channel whose timing out says the media path is in trouble. */
const MEDIA_COMMAND: Partial<Record<Step, string>> = { media: 'externalMedia', rm_media: 'media hangup', rm_old_media: 'media hangup' };

function onAri(c: Ctx, m: Extract<Message, { type: 'ari' }>): void {
  const { s } = c;
  if (m.step === 'caller_check') return onCallerChecked(c, m);
  if (s.steps[m.step] !== 'pending' || !s.call) return; // a late answer for an earlier job
  if (m.step === 'media_check') {
    delete s.steps.media_check;
    if (m.ok && isInStasis(m.result)) return onMediaStart(c, s.call.ids.externalChannelId);
    if (!m.ok && m.code === 'not_found') {
      s.failure ??= { step: waitStep(c), code: 'not_found' };
      return advance(c);
    }
    return;
  }
  if (m.step === 'media_find') return onMediaFound(c, m);
  if (!m.ok && m.code === 'timeout' && MEDIA_COMMAND[m.step]) observe(c, { kind: 'timeout', what: MEDIA_COMMAND[m.step]! });
  if (TEARDOWN.has(m.step) && !m.ok && m.code !== 'not_found') {
    if (retryTransient(c, m.step, m.code)) return;
    log(c, 'error', 'teardown step failed; the resource may be left in Asterisk', { step: m.step, code: m.code });
  }
  // Setup commands safe to repeat (an Up channel answers 204; a bridge of our id is created or
  // found): one lost with a NATS server (a request in flight through it) is sent again instead of
  // failing the call.
  if ((m.step === 'answer' || m.step === 'bridge') && !m.ok && retryTransient(c, m.step, m.code)) return;
  // Not externalMedia as such (a channel id in use crashes chan_websocket): one unanswered may or
  // may not have been done, so it is looked up, then sent again only if not found (retry:media).
  // Not for ari_unavailable: nothing reached ARI, for GATEWAY_WAIT_MS already.
  if (m.step === 'media' && !m.ok && m.code === 'timeout' && retryTransient(c, m.step, m.code)) return;
  s.steps[m.step] = m.ok || TEARDOWN.has(m.step) ? 'ok' : 'failed';
  const setupStep = SETUP_STEP[m.step];
  if (!m.ok && setupStep) s.failure ??= { step: setupStep, code: m.code };
  if (m.ok && m.step === 'media') onMediaCreated(c, m.result);
  advance(c);
}

/**
 * The media channel looked up after its externalMedia got no answer: it exists (the reply was
 * lost) and is taken as created, or it does not (the request was lost) and is sent again.
 */
function onMediaFound(c: Ctx, m: Extract<Message, { type: 'ari' }>): void {
  const { s } = c;
  delete s.steps.media_find;
  if (s.steps.media !== 'pending') return;
  if (m.ok) {
    onAri(c, { ...m, step: 'media' });
    if (isInStasis(m.result)) onMediaStart(c, s.call!.ids.externalChannelId);
    return;
  }
  if (m.code === 'not_found') return sendAri(c, 'media', true);
  if (m.code === 'timeout' && retryTransient(c, 'media', m.code)) return;
  s.steps.media = 'failed';
  s.failure ??= { step: 'media', code: m.code };
  advance(c);
}

/** A step that timed out or found ARI unreachable is sent again after a pause, a few times. */
function retryTransient(c: Ctx, st: Step, code: string): boolean {
  const attempt = c.s.retries[st] ?? 0;
  const delay = TRANSIENT_RETRY_MS[attempt];
  if (!TRANSIENT.has(code) || delay === undefined) return false;
  c.s.retries[st] = attempt + 1;
  c.fx.push({ type: 'timer', name: `retry:${st}`, ms: delay });
  return true;
}

function onTimer(c: Ctx, name: TimerName): void {
  const { s } = c;
  if (name === 'retry:pointer' || name === 'retry:unpoint') {
    if (s.steps.pointer === 'pending' && name === 'retry:pointer') c.fx.push({ type: 'store', op: 'pointer', state: stateOf(c, s.call!.phase) });
    if (s.steps.unpoint === 'pending' && name === 'retry:unpoint' && s.unpointing) c.fx.push({ type: 'store', op: 'unpoint', sessionId: s.unpointing });
    return;
  }
  if (name === 'activate_retry') {
    if (s.phase === 'activating') c.fx.push({ type: 'store', op: 'activate', state: stateOf(c, 'active'), revision: s.call!.revision });
    return;
  }
  if (name.startsWith('retry:')) {
    const st = name.slice('retry:'.length) as Step;
    if (s.steps[st] !== 'pending') return;
    // externalMedia is looked up before it goes again (onMediaFound).
    return st === 'media' ? sendAri(c, 'media_find') : sendAri(c, st, true);
  }
  if (s.phase !== 'creating' || s.mediaInStasis || !s.call) return;
  if (name === 'media_timeout') {
    s.failure ??= { step: waitStep(c), code: 'timeout' };
    observe(c, { kind: 'timeout', what: waitStep(c) === 'media_connect' ? 'media connection' : 'media StasisStart' });
    return advance(c);
  }
  if (name === 'media_slow') {
    s.mediaSlow = true;
    observe(c, { kind: 'slow' });
    // Per call at debug: the media path monitor warns once when the path turns degraded.
    log(c, 'debug', 'media channel slow to come up', { sessionId: s.call.ids.sessionId, ms: c.env.settings.media.slowMs });
    return;
  }
  // media_check: the StasisStart may have been lost on its way: ask ARI, and keep asking.
  if (s.steps.media === 'ok' && s.steps.media_check === undefined) sendAri(c, 'media_check');
  c.fx.push({ type: 'timer', name: 'media_check', ms: c.env.settings.mediaCheckMs });
}

const isInStasis = (channel: unknown) =>
  typeof channel === 'object' && channel !== null && (channel as { dialplan?: { app_name?: string } }).dialplan?.app_name === 'Stasis';

// ---- requests -------------------------------------------------------------------------------

function sendAri(c: Ctx, st: Step, again = false): void {
  const { s, env } = c;
  const call = s.call!;
  const { node, channelId, bridgeId, externalChannelId, sessionId, app } = call.ids;
  if (!again) s.steps[st] = 'pending';
  const push = <N extends CommandName>(command: N, params: CommandParams<N>): void => {
    c.fx.push({ type: 'ari', step: st, node, command, params: params as CommandParams<CommandName> });
  };
  const media = env.settings.media;
  switch (st) {
    case 'answer': return push('channels.answer', { channelId });
    // Sent again, it may exist already: Asterisk's create-with-id updates a bridge only when no
    // type is given (a type answers 500), and without one it creates a mixing bridge.
    case 'bridge': return push('bridges.create', again ? { bridgeId, name: bridgeName(app, sessionId) } : { bridgeId, type: 'mixing', name: bridgeName(app, sessionId) });
    case 'media': return push('channels.externalMedia', externalMediaParams(media, externalChannelId, sessionId));
    case 'media_find':
    case 'media_check': return push('channels.get', { channelId: externalChannelId });
    case 'add': return push('bridges.addChannel', { bridgeId, channel: [channelId, externalChannelId] });
    case 'rm_media': return push('channels.hangup', { channelId: externalChannelId });
    case 'rm_bridge': return push('bridges.destroy', { bridgeId });
    case 'rm_old_media': return push('channels.hangup', { channelId: call.old!.externalChannelId });
    case 'rm_old_bridge': return push('bridges.destroy', { bridgeId: call.old!.bridgeId });
    case 'caller':
      return s.ending?.caller === 'continue' ? push('channels.continue', { channelId }) : push('channels.hangup', { channelId });
    case 'pointer':
    case 'unpoint':
    case 'note':
      return;
  }
}

// ---- helpers --------------------------------------------------------------------------------

function pending(s: MachineState, ...steps: Step[]): boolean {
  return steps.some((st) => s.steps[st] === 'pending');
}

function ids(state: CallState): CallIds {
  const { app, node, channelId, sessionId, bridgeId, externalChannelId } = state;
  return { app, node, channelId, sessionId, bridgeId, externalChannelId };
}

function known(found: StoredCall): Call {
  const f = found.state;
  return {
    ids: ids(f), entry: f.entry, caller: { number: f.callerNumber, name: f.callerName }, startedAt: f.startedAt,
    receivedAt: 0, revision: found.revision, phase: f.phase, owner: f.owner, own: false,
    ...(f.setupMs === undefined ? {} : { setupMs: f.setupMs }),
    ...(f.cause === undefined ? {} : { cause: f.cause }),
    ...(f.media === undefined ? {} : { media: { ...f.media } }),
  };
}

function stateOf(c: Ctx, phase: CallPhase): CallState {
  const call = c.s.call!;
  return {
    ...call.ids, phase, owner: call.owner, callerNumber: call.caller.number, callerName: call.caller.name,
    startedAt: call.startedAt, updatedAt: iso(c.env),
    ...(call.setupMs === undefined ? {} : { setupMs: call.setupMs }),
    ...(call.cause === undefined ? {} : { cause: call.cause }),
    ...(call.entry === undefined ? {} : { entry: call.entry }),
    ...(call.media === undefined ? {} : { media: call.media }),
  };
}

function log(c: Ctx, level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void {
  c.fx.push(fields ? { type: 'log', level, msg, fields } : { type: 'log', level, msg });
}

const iso = (env: Env) => new Date(env.now()).toISOString();
const round = (ms: number) => Math.round(ms * 100) / 100;
