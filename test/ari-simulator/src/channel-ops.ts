// Channel operations: a dialplan caller entering Stasis, answer, hangup from either side, continue.

import { performance } from 'node:perf_hooks';
import { ariTime, nextLocalChannelName, nextUniqueId } from './ari-format.js';
import { events } from './event-builders.js';
import { ChannelKind, type SimChannel } from './sim-model.js';
import { notFound, SimError } from './sim-error.js';
import { EndReason, type SimState } from './sim-state.js';
import type { CallRecord } from './types.js';

export interface PlaceCallOptions {
  app?: string;
  callerNumber?: string;
  callerName?: string;
  args?: string[];
  /**
   * The args of further `Stasis(app, ...)` applications that follow the first one in the caller's
   * dialplan (one entry per application): a `continue` sends the caller into the next one, where
   * it enters Stasis again with the same channel id (recorded in samples-22.10.1/reentry).
   */
  laterStasis?: string[][];
}

export function placeCall(state: SimState, opts: PlaceCallOptions = {}): CallRecord {
  const app = opts.app ?? 'ai_app';
  // Asterisk's Stasis() fails with exactly this when no WebSocket serves the app.
  if (!state.sockets.isActive(app)) throw new Error(`Stasis app '${app}' not active`);
  const args = opts.args ?? [];
  const id = nextUniqueId();
  const record: CallRecord = { channelId: id, app, startedAt: 0, bridgeIds: [], mediaChannelIds: [], stasisStarts: [] };
  const ch: SimChannel = {
    id,
    name: nextLocalChannelName('100', 'ai-in'),
    state: 'Ring',
    caller: { name: opts.callerName ?? '', number: opts.callerNumber ?? '' },
    dialplan: { context: 'ai-in', exten: '100', priority: 2, app_name: 'Stasis', app_data: [app, ...args].join(',') },
    creationtime: ariTime(),
    app,
    kind: ChannelKind.caller,
    inStasis: true,
    bridge: undefined,
    bridgePeer: '',
    record,
    dialDialplan: undefined,
    media: undefined,
    mediaClosing: false,
    laterStasis: (opts.laterStasis ?? []).map((a) => [...a]),
  };
  state.calls.set(id, record);
  // A long-running demo places calls for hours: keep the newest records only.
  if (state.calls.size > MAX_CALL_RECORDS) state.calls.delete(state.calls.keys().next().value as string);
  // While a chan_websocket client connection is in progress new callers wait (server-silent.json).
  state.websocket.stall.whenClear(() => {
    state.channels.set(id, ch);
    record.startedAt = performance.now();
    record.stasisStarts.push(record.startedAt);
    state.emit(app, events.stasisStart(ch, args));
  });
  return record;
}

/** Call records kept for tests and the benchmark; older ones are forgotten. */
export const MAX_CALL_RECORDS = 200_000;

/** The caller hangs up (SIP BYE / Local ;1 hangup). No-op when the channel is gone. */
export function hangupFromFarEnd(state: SimState, channelId: string): void {
  const ch = state.channels.get(channelId);
  if (ch !== undefined) state.endChannel(ch, EndReason.farEnd);
}

function findChannel(state: SimState, id: string): SimChannel {
  const ch = state.channels.get(id);
  if (ch === undefined) throw notFound.channel();
  return ch;
}

function findStasisChannel(state: SimState, id: string): SimChannel {
  const ch = findChannel(state, id);
  if (!ch.inStasis) throw new SimError(409, 'Channel not in a Stasis application');
  return ch;
}

export function getChannel(state: SimState, id: string): SimChannel {
  return findChannel(state, id);
}

/** Validates and returns the events to send after the 204 (Asterisk answers, then reports Up). */
export function answerChannel(state: SimState, id: string): () => void {
  const ch = findStasisChannel(state, id);
  if (ch.record !== undefined && ch.record.answeredAt === undefined) ch.record.answeredAt = performance.now();
  if (ch.state === 'Up') return () => {};
  ch.state = 'Up';
  return () => state.emit(ch.app, events.stateChange(ch));
}

const HANGUP_REASONS = new Set([
  'normal', 'busy', 'congestion', 'no_answer', 'timeout', 'rejected', 'unallocated',
  'normal_unspecified', 'number_incomplete', 'codec_mismatch', 'interworking', 'failure', 'answered_elsewhere',
]);

export function deleteChannel(state: SimState, id: string, params: Record<string, string>): () => void {
  const reason = params.reason;
  if (reason !== undefined && reason !== '' && !HANGUP_REASONS.has(reason)) {
    throw new SimError(400, 'Invalid reason for hangup provided');
  }
  const ch = findChannel(state, id);
  return () => state.endChannel(ch, EndReason.ari);
}

export function continueChannel(state: SimState, id: string): () => void {
  const ch = findStasisChannel(state, id);
  return () => state.endChannel(ch, EndReason.continue);
}
