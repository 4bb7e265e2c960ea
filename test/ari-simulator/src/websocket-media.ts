// One chan_websocket media channel once its socket is up: MEDIA_START, the answer and Stasis
// entry, 50 frames/s of the caller's audio while bridged, the media server's audio played out
// of the queue, control commands, and every hangup order with the recorded events and close codes.

import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { pushCapped } from './capped-log.js';
import { events } from './event-builders.js';
import type { MediaClock } from './media-clock.js';
import { PlayoutQueue, type PlayoutNote } from './media-playout.js';
import { channelJson, type MediaLink, type SimChannel } from './sim-model.js';
import type { SimState } from './sim-state.js';
import { CallerAudioSource } from './caller-audio.js';
import { Cause } from './websocket-events.js';
import { deleteBeforeStasis, destroyUnconnected, DriverHangup, hangUpFromDriver } from './websocket-hangups.js';
import {
  applyQueueCommand,
  Command,
  formatError,
  formatMediaStart,
  formatNote,
  formatStatus,
  parseControl,
  type ControlFormat,
} from './websocket-media-control.js';
import { WsMediaEnd, WsMediaMode, type CallerAudio, type WebSocketMediaRecord } from './websocket-media-types.js';
import { WsPeer } from './ws-peer.js';

export interface SessionHost {
  readonly state: SimState;
  readonly clock: MediaClock;
  readonly callerAudio: CallerAudio;
  sessionEnded(session: WsMediaSession): void;
}

export interface SessionSpec {
  mode: WsMediaMode;
  connectionId: string;
  controlFormat: ControlFormat;
  autoAnswer: boolean;
  data: string;
  dialstring: string;
  optimalFrameSize: number;
  channelVariables: Record<string, string>;
}

/** A media server that stops reading gets no more audio once this much is unsent. */
const MAX_BACKLOG = 256 * 1024;
const TEXT_LOG = 200;

export class WsMediaSession implements MediaLink {
  private peer: WsPeer | undefined;
  private readonly queue: PlayoutQueue;
  private readonly caller: CallerAudioSource;
  private dialSent = false;
  private endedBy: WsMediaEnd | undefined;
  /** The close code sent when the channel goes (1000; 1001 answering the peer's close). */
  private closeCode = 1000;
  private readonly ticker = { tick: () => this.tick() };

  constructor(
    private readonly host: SessionHost,
    readonly ch: SimChannel,
    readonly spec: SessionSpec,
    readonly record: WebSocketMediaRecord,
  ) {
    this.queue = new PlayoutQueue(spec.optimalFrameSize);
    this.caller = new CallerAudioSource(host.callerAudio, record.format, spec.optimalFrameSize);
    ch.mediaLink = this;
  }

  get connected(): boolean {
    return this.peer !== undefined;
  }

  get ended(): boolean {
    return this.endedBy !== undefined;
  }

  /** `Dial` with dialstatus "": after the reply in server mode, after MEDIA_START in client mode. */
  announceDial(): void {
    if (this.dialSent) return;
    this.dialSent = true;
    this.emit(events.dial(channelJson(this.ch), '', this.spec.dialstring));
  }

  /** The handshake is done: MEDIA_START first, then (auto-answer) Up and Stasis within ~1 ms. */
  attach(socket: Duplex, role: 'server' | 'client', head: Buffer): void {
    this.peer = new WsPeer(socket, role, head, {
      text: (data) => this.onText(data),
      binary: (data) => this.onBinary(data),
      closed: (code) => this.onPeerClosed(code),
      dropped: () => this.onDropped(),
    });
    this.record.connectedAt = performance.now();
    this.sendText(
      formatMediaStart(this.spec.controlFormat, {
        connectionId: this.spec.connectionId,
        channel: this.ch.name,
        channelId: this.ch.id,
        format: this.record.format,
        optimalFrameSize: this.spec.optimalFrameSize,
        channelVariables: this.spec.channelVariables,
      }),
    );
    if (this.spec.mode === WsMediaMode.client) this.announceDial();
    if (this.spec.autoAnswer) this.answer();
  }

  // --- MediaLink: the channel is leaving through SimState (ARI DELETE, stop)

  close(): void {
    this.finish(WsMediaEnd.app);
    if (this.peer?.closable === true) this.record.closeCodeSent = this.closeCode;
    this.peer?.close(this.closeCode);
  }

  /** DELETE before Stasis (never connected, or not answered): recorded Dial NOANSWER sequence. */
  hangupBeforeStasis(): void {
    const ch = this.ch;
    if (this.record.answeredAt !== undefined) {
      // It was in Stasis and left it (continue): nothing more is sent about it.
      this.host.state.forget(ch);
      return;
    }
    this.announceDial();
    deleteBeforeStasis(this.host.state, ch, this.spec.dialstring);
  }

  // --- ends that start on the media side

  /** Server mode, nobody connected (no-connect-timeout.json): only ChannelDestroyed, cause 19. */
  connectTimedOut(): void {
    this.endUnconnected(Cause.noAnswer, WsMediaEnd.connectTimeout);
  }

  /** Client mode, every try failed: only ChannelDestroyed, cause 3. */
  connectFailed(): void {
    this.endUnconnected(Cause.noRoute, WsMediaEnd.connectFailed);
  }

  /** Crash or stop: the socket goes without a close frame and no events are sent. */
  abort(by: WsMediaEnd): void {
    this.finish(by);
    this.peer?.terminate();
  }

  tick(): void {
    const peer = this.peer;
    if (peer === undefined || !peer.open || this.ch.state !== 'Up') return;
    const { frame, notes } = this.queue.tick();
    if (frame !== undefined) this.record.framesPlayed += 1;
    this.sendNotes(notes);
    const out = this.caller.next(this.ch, frame);
    if (out === undefined || peer.backlog > MAX_BACKLOG) return;
    peer.sendBinary(out);
    this.record.framesSent += 1;
    this.record.bytesSent += out.length;
  }

  private answer(): void {
    const ch = this.ch;
    if (ch.state === 'Up' || this.ended) return;
    const state = this.host.state;
    ch.state = 'Up';
    this.emit(events.stateChange(ch));
    this.emit(events.dial(channelJson(ch), 'ANSWER', this.spec.dialstring));
    if (!state.sockets.isActive(ch.app)) {
      // Stasis() fails: the channel is hung up with nobody to tell.
      this.endedBy = WsMediaEnd.stasisFailed;
      state.forget(ch);
      return;
    }
    const data = this.spec.data;
    ch.dialplan = { ...ch.dialplan, app_name: 'Stasis', app_data: data === '' ? ch.app : `${ch.app},${data}` };
    this.emit(events.varset(ch, 'STASISSTATUS', ''));
    ch.inStasis = true;
    this.emit(events.stasisStart(ch, data === '' ? [] : [data]));
    this.record.answeredAt = performance.now();
    this.host.clock.add(this.ticker);
  }

  private onText(text: string): void {
    pushCapped(this.record.textReceived, text, TEXT_LOG);
    const parsed = parseControl(this.spec.controlFormat, text);
    if (parsed.kind === 'error') this.sendText(formatError(this.spec.controlFormat, this.ch.id, parsed.text));
    if (parsed.kind !== 'command') return;
    const q = this.queue;
    switch (parsed.command) {
      case Command.answer:
        return this.answer();
      case Command.hangup:
        return this.hangUp(DriverHangup.hangupCommand, WsMediaEnd.hangupCommand);
      case Command.getStatus:
        return this.sendText(
          formatStatus(this.spec.controlFormat, this.ch.id, { length: q.length, full: q.full, bulk: q.bulk, paused: q.paused }),
        );
      case Command.setDirection:
        // Accepted in JSON and not modelled: the recordings show no effect on the frames.
        return;
      default:
        return this.sendNotes(applyQueueCommand(q, parsed.command, parsed.arg));
    }
  }

  private onBinary(data: Buffer): void {
    this.record.framesReceived += 1;
    this.record.bytesReceived += data.length;
    this.sendNotes(this.queue.enqueue(data));
  }

  /** hangup-b: close 1000 -> cause 16 (0 "Unknown" when not bridged), tech_cause 1001; answered with 1001. */
  private onPeerClosed(code: number): void {
    this.record.closeCodeReceived = code;
    this.closeCode = 1001;
    this.hangUp(DriverHangup.peerClosed, WsMediaEnd.mediaClosed);
  }

  /** hangup-b2: the TCP connection dropped: cause 38 everywhere, tech_cause 1001. */
  private onDropped(): void {
    if (this.ended) return;
    this.hangUp(DriverHangup.dropped, WsMediaEnd.mediaDropped);
  }

  /** The driver hangs its channel up (peer close, drop, HANGUP), unless it is already gone. */
  private hangUp(h: DriverHangup, by: WsMediaEnd): void {
    const state = this.host.state;
    if (this.ended || state.channels.get(this.ch.id) !== this.ch) return;
    this.endedBy = by;
    hangUpFromDriver(state, this.ch, this.spec.dialstring, h);
  }

  private endUnconnected(cause: Cause, by: WsMediaEnd): void {
    const state = this.host.state;
    if (this.ended || state.channels.get(this.ch.id) !== this.ch) return;
    this.endedBy = by;
    destroyUnconnected(state, this.ch, cause);
  }

  private finish(by: WsMediaEnd): void {
    this.endedBy ??= by;
    if (this.record.endedBy !== undefined) return;
    this.record.endedBy = this.endedBy;
    this.record.endedAt = performance.now();
    this.host.clock.delete(this.ticker);
    this.host.sessionEnded(this);
  }

  private sendNotes(notes: PlayoutNote[]): void {
    for (const note of notes) this.sendText(formatNote(this.spec.controlFormat, this.ch.id, note));
  }

  private sendText(text: string): void {
    if (this.peer === undefined || !this.peer.open) return;
    this.peer.sendText(text);
    pushCapped(this.record.textSent, text, TEXT_LOG);
  }

  private emit(event: Record<string, unknown>): void {
    this.host.state.emit(this.ch.app, event);
  }
}
