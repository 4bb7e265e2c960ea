// Everything chan_websocket shares across channels: the websocket_client entries (with their
// sticky v() params), the /media/<id> endpoint of server mode, the outbound dials of client mode,
// the connect timeout, the 20 ms clock, the stall gate and the per-channel records.

import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { MediaClock } from './media-clock.js';
import { StallGate } from './media-stall.js';
import type { SimChannel } from './sim-model.js';
import type { SimState } from './sim-state.js';
import { dialWebSocket } from './websocket-client-dial.js';
import { WsMediaSession, type SessionHost, type SessionSpec } from './websocket-media.js';
import {
  CallerAudio,
  WsMediaEnd,
  WsMediaMode,
  type WebSocketClientConfig,
  type WebSocketMediaOptions,
  type WebSocketMediaRecord,
} from './websocket-media-types.js';
import { MediaUpgradeRejection, readUpgrade, writeRejection, writeSwitchingProtocols } from './ws-handshake.js';

/** Records kept for tests and long demos; older ones are forgotten. */
const MAX_RECORDS = 200_000;
const MEDIA_PROTOCOL = 'media';

interface ClientEntry {
  config: WebSocketClientConfig;
  /** The last v() params given for this id: later calls without v() reuse them (uri-params-sticky.json). */
  uriParams: string | undefined;
}

export class WebSocketMediaHub implements SessionHost {
  readonly records = new Map<string, WebSocketMediaRecord>();
  readonly stall = new StallGate();
  readonly clock = new MediaClock();
  readonly callerAudio: CallerAudio;
  readonly connectTimeoutMs: number;
  readonly retryMs: number;
  private readonly clients = new Map<string, ClientEntry>();
  /** Server mode: sessions by connection id, from the reply until the channel is gone. */
  private readonly byConnection = new Map<string, WsMediaSession>();
  private readonly live = new Set<WsMediaSession>();
  private readonly timers = new Map<WsMediaSession, NodeJS.Timeout>();
  private readonly dials = new Map<WsMediaSession, AbortController>();
  private readonly sockets = new Set<Duplex>();

  constructor(
    readonly state: SimState,
    opts: WebSocketMediaOptions,
  ) {
    this.callerAudio = opts.websocketCallerAudio ?? CallerAudio.tone;
    this.connectTimeoutMs = opts.websocketConnectTimeoutMs ?? 31_270;
    this.retryMs = opts.websocketRetryMs ?? 500;
    for (const [id, config] of Object.entries(opts.websocketClients ?? {})) this.clients.set(id, { config, uriParams: undefined });
  }

  clientIds(): ReadonlySet<string> {
    return new Set(this.clients.keys());
  }

  /** Registers a new channel's session; `uriParams` (client mode) replaces the sticky ones when given. */
  open(ch: SimChannel, spec: SessionSpec, format: string, uriParams: string | undefined): WsMediaSession {
    const record: WebSocketMediaRecord = {
      channelId: ch.id,
      channelName: ch.name,
      mode: spec.mode,
      connectionId: spec.connectionId,
      format,
      optimalFrameSize: spec.optimalFrameSize,
      controlFormat: spec.controlFormat,
      dialedUrls: [],
      createdAt: performance.now(),
      framesSent: 0,
      bytesSent: 0,
      framesReceived: 0,
      bytesReceived: 0,
      framesPlayed: 0,
      textSent: [],
      textReceived: [],
    };
    this.records.set(ch.id, record);
    if (this.records.size > MAX_RECORDS) this.records.delete(this.records.keys().next().value as string);
    const session = new WsMediaSession(this, ch, spec, record);
    this.live.add(session);
    if (spec.mode === WsMediaMode.server) this.byConnection.set(spec.connectionId, session);
    const client = this.clients.get(spec.connectionId);
    if (spec.mode === WsMediaMode.client && client !== undefined && uriParams !== undefined) client.uriParams = uriParams;
    return session;
  }

  /** Server mode, after the reply: Dial "", and the ~31 s until nobody-connected ends it. */
  awaitConnection(session: WsMediaSession): void {
    session.announceDial();
    const timer = setTimeout(() => {
      this.timers.delete(session);
      if (!session.connected) session.connectTimedOut();
    }, this.connectTimeoutMs);
    this.timers.set(session, timer);
  }

  /** Client mode, after the reply: dial the websocket_client, holding the stall gate until done. */
  dial(session: WsMediaSession): void {
    const client = this.clients.get(session.spec.connectionId);
    if (client === undefined) return;
    const url = new URL(client.config.uri);
    if (client.uriParams !== undefined && client.uriParams !== '') {
      url.search = url.search === '' ? `?${client.uriParams}` : `${url.search}&${client.uriParams}`;
    }
    const abort = new AbortController();
    this.dials.set(session, abort);
    this.stall.hold(session.ch.id, session.spec.connectionId);
    void dialWebSocket({
      url,
      protocols: client.config.protocols ?? MEDIA_PROTOCOL,
      retryMs: this.retryMs,
      signal: abort.signal,
      onTry: (href) => session.record.dialedUrls.push(href),
    }).then((dialed) => {
      this.dials.delete(session);
      if (abort.signal.aborted || session.ended) {
        dialed?.socket.destroy();
      } else if (dialed === undefined) {
        session.connectFailed();
      } else {
        this.track(dialed.socket);
        session.attach(dialed.socket, 'client', dialed.head);
      }
      this.stall.release(session.ch.id);
    });
  }

  /** GET /media/<connection id> on the ARI port (no auth, as recorded). */
  acceptUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, rawPath: string): void {
    const upgrade = readUpgrade(req);
    if (upgrade === undefined) return writeRejection(socket, MediaUpgradeRejection.badRequest);
    let protocol: string | undefined;
    if (upgrade.protocols !== undefined) {
      if (!upgrade.protocols.includes(MEDIA_PROTOCOL)) return writeRejection(socket, MediaUpgradeRejection.badRequest);
      protocol = MEDIA_PROTOCOL;
    }
    let id: string;
    try {
      id = decodeURIComponent(rawPath.slice('/media/'.length));
    } catch {
      return writeRejection(socket, MediaUpgradeRejection.notFound);
    }
    const session = this.byConnection.get(id);
    if (session === undefined || session.ended) return writeRejection(socket, MediaUpgradeRejection.notFound);
    if (session.connected) return writeRejection(socket, MediaUpgradeRejection.conflict);
    clearTimeout(this.timers.get(session));
    this.timers.delete(session);
    writeSwitchingProtocols(socket, upgrade.key, protocol);
    if ('setNoDelay' in socket) (socket as { setNoDelay(v: boolean): void }).setNoDelay(true);
    this.track(socket);
    session.attach(socket, 'server', head);
  }

  sessionEnded(session: WsMediaSession): void {
    this.live.delete(session);
    if (this.byConnection.get(session.spec.connectionId) === session) this.byConnection.delete(session.spec.connectionId);
    clearTimeout(this.timers.get(session));
    this.timers.delete(session);
    this.dials.get(session)?.abort();
  }

  /** Stop or crash: every media socket goes without a close frame, every dial and timer ends. */
  abortAll(by: WsMediaEnd): void {
    for (const session of [...this.live]) session.abort(by);
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.stall.releaseAll();
    this.clock.stop();
  }

  stop(): void {
    this.abortAll(WsMediaEnd.stopped);
  }

  private track(socket: Duplex): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }
}
