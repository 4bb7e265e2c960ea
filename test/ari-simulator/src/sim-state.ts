// The simulated Asterisk core: live channels and bridges by id, and the two transitions every
// teardown path shares (leaving a bridge, leaving Stasis), so their event order is written once.

import { performance } from 'node:perf_hooks';
import type { AppSockets } from './app-sockets.js';
import { events } from './event-builders.js';
import { channelJson, ChannelKind, type SimBridge, type SimChannel } from './sim-model.js';
import type { CallRecord, EndedBy } from './types.js';
import { WebSocketMediaHub } from './websocket-media-hub.js';
import { INTERNAL_MESSAGE, SimError } from './sim-error.js';
import type { WebSocketMediaOptions } from './websocket-media-types.js';

/** How a channel leaves: an ARI DELETE, the far end hanging up, or POST /continue. */
export const EndReason = { ari: 'ari', farEnd: 'farEnd', continue: 'continue' } as const;
export type EndReason = (typeof EndReason)[keyof typeof EndReason];

/** A continued channel lingers (out of Stasis) this long before it is gone, as it runs on in the dialplan. */
const CONTINUE_LINGER_MS = 20;

export class SimState {
  readonly channels = new Map<string, SimChannel>();
  readonly bridges = new Map<string, SimBridge>();
  readonly calls = new Map<string, CallRecord>();
  readonly callEndListeners = new Set<(record: CallRecord) => void>();
  readonly timers = new Set<NodeJS.Timeout>();
  /** chan_websocket: its sessions, endpoint, dials and stall gate. */
  readonly websocket: WebSocketMediaHub;
  /** Set by the simulator: what a crash of Asterisk does to the sockets (see crash()). */
  onCrash: (reason: string, params: Record<string, string>) => void = () => {};
  /** Counts crashes: a request that waited across one must not create anything afterwards. */
  generation = 0;

  constructor(
    readonly sockets: AppSockets,
    readonly mediaConnectTimeoutMs: number,
    readonly asteriskId: string,
    websocket: WebSocketMediaOptions = {},
  ) {
    this.websocket = new WebSocketMediaHub(this, websocket);
  }

  /** Every event ends with asterisk_id and application, in that order. */
  emit(app: string, event: Record<string, unknown>): void {
    this.sockets.send(app, { ...event, asterisk_id: this.asteriskId, application: app });
  }

  /** Timers the simulator owns, cleared on stop(). */
  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  /** The channel leaves its bridge: [ChannelVarset BRIDGEPEER=""], ChannelLeftBridge. */
  leaveBridge(ch: SimChannel, clearPeer: boolean): void {
    const bridge = ch.bridge;
    if (bridge === undefined) return;
    if (clearPeer && ch.bridgePeer !== '') this.emit(ch.app, events.varset(ch, 'BRIDGEPEER', ''));
    ch.bridgePeer = '';
    const at = bridge.channels.indexOf(ch);
    if (at >= 0) bridge.channels.splice(at, 1);
    ch.bridge = undefined;
    this.emit(ch.app, events.leftBridge(bridge, ch));
  }

  /**
   * Takes a channel out of the simulation with the recorded sequence:
   * ChannelHangupRequest, [BRIDGEPEER, ChannelLeftBridge], StasisEnd, and for channels the app
   * created (externalMedia) STASISSTATUS=SUCCESS + ChannelDestroyed. Dialplan callers get no
   * ChannelDestroyed: without subscribeAll the app is unsubscribed at StasisEnd.
   */
  endChannel(ch: SimChannel, reason: EndReason): void {
    if (this.channels.get(ch.id) !== ch) return;
    if (!ch.inStasis) {
      // chan_websocket before Stasis (not connected, not answered) has its own DELETE sequence.
      if (reason === EndReason.ari && ch.mediaLink !== undefined) {
        ch.mediaLink.hangupBeforeStasis();
        return;
      }
      // Already left Stasis (continue): the app hears nothing more about it.
      this.forget(ch);
      return;
    }
    if (reason === EndReason.continue && ch.laterStasis.length > 0) return this.reenterStasis(ch);
    if (reason === EndReason.continue) {
      this.leaveBridge(ch, false);
      ch.inStasis = false;
      this.emit(ch.app, events.stasisEnd(ch));
      this.markEnded(ch, 'continue');
      this.later(CONTINUE_LINGER_MS, () => this.forget(ch));
      return;
    }
    this.emit(ch.app, reason === EndReason.ari ? events.hangupRequest(ch, 32, true) : events.hangupRequest(ch, 0, false));
    this.leaveBridge(ch, true);
    ch.inStasis = false;
    this.emit(ch.app, events.stasisEnd(ch));
    if (ch.kind === ChannelKind.media) {
      this.emit(ch.app, events.varset(ch, 'STASISSTATUS', 'SUCCESS'));
      this.emit(ch.app, events.destroyed(channelJson(ch, ch.dialDialplan ? { dialplan: ch.dialDialplan } : undefined)));
    }
    this.markEnded(ch, reason === EndReason.ari ? 'ari' : 'caller');
    this.forget(ch);
  }

  /**
   * `continue` into the next Stasis() of the caller's dialplan, as recorded: [BRIDGEPEER="",
   * ChannelLeftBridge], StasisEnd at the old priority, then at once StasisStart for the same id
   * with the next application's args, the priority one higher, same name, state and creationtime.
   */
  private reenterStasis(ch: SimChannel): void {
    const args = ch.laterStasis.shift() ?? [];
    this.leaveBridge(ch, true);
    this.emit(ch.app, events.stasisEnd(ch));
    ch.dialplan = { ...ch.dialplan, priority: ch.dialplan.priority + 1, app_data: [ch.app, ...args].join(',') };
    ch.record?.stasisStarts.push(performance.now());
    this.emit(ch.app, events.stasisStart(ch, args));
  }

  private markEnded(ch: SimChannel, by: EndedBy): void {
    const record = ch.record;
    if (record === undefined || record.endedAt !== undefined) return;
    record.endedAt = performance.now();
    record.endedBy = by;
    for (const fn of this.callEndListeners) fn(record);
  }

  /**
   * A request that kills a real Asterisk (segfault): every channel and bridge is gone at once,
   * without events; the simulator drops its sockets and counts it. Returns the error to throw.
   */
  crash(reason: string, params: Record<string, string>): SimError {
    for (const ch of [...this.channels.values()]) {
      this.markEnded(ch, 'crash');
      ch.media?.destroy();
    }
    this.websocket.abortAll('crash');
    for (const ch of [...this.channels.values()]) this.forget(ch);
    this.bridges.clear();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.generation += 1;
    this.onCrash(reason, params);
    return new SimError(500, INTERNAL_MESSAGE);
  }

  /** Removes the channel (and its media connection) without events. */
  forget(ch: SimChannel): void {
    if (this.channels.get(ch.id) === ch) this.channels.delete(ch.id);
    if (ch.bridge !== undefined) {
      const at = ch.bridge.channels.indexOf(ch);
      if (at >= 0) ch.bridge.channels.splice(at, 1);
      ch.bridge = undefined;
    }
    closeMedia(ch);
  }
}

/** Asterisk just closes the AudioSocket TCP connection on hangup (no 0x00 frame). */
export function closeMedia(ch: SimChannel): void {
  ch.mediaLink?.close();
  const socket = ch.media;
  if (socket === undefined) return;
  ch.mediaClosing = true;
  ch.media = undefined;
  socket.end();
  // A peer that never closes its side must not keep the socket forever.
  setTimeout(() => socket.destroy(), 2000).unref();
}
