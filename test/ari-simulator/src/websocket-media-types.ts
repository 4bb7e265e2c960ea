// Public shapes of the chan_websocket simulation: its options, and what it records per media
// channel and per stall, so tests can check frames, close codes and the traps.

/** One websocket_client.conf entry (connection_type = per_call_config). */
export interface WebSocketClientConfig {
  /** e.g. `ws://127.0.0.1:8787/media`; `v(...)` params from transport_data are added as its query. */
  uri: string;
  /** The `protocols` option, sent as Sec-WebSocket-Protocol; default `media`, '' for none. */
  protocols?: string;
}

/**
 * What the simulated caller puts into the bridge, i.e. what the media server receives:
 * `tone` (a Playtones caller: 50 frames/s while bridged, first one zeros), `echo` (an Echo()
 * caller: the audio the media server had played comes back), `silent` (nothing).
 */
export const CallerAudio = { tone: 'tone', echo: 'echo', silent: 'silent' } as const;
export type CallerAudio = (typeof CallerAudio)[keyof typeof CallerAudio];

export interface WebSocketMediaOptions {
  /** websocket_client ids for client mode (`external_host=<id>`). */
  websocketClients?: Record<string, WebSocketClientConfig>;
  /** Server mode: a media channel nobody connects to is destroyed (cause 19) after this. Default 31270, as recorded. */
  websocketConnectTimeoutMs?: number;
  /** Client mode: pause between the 4 connection tries. Default 500, as recorded. */
  websocketRetryMs?: number;
  /** Default `tone`. */
  websocketCallerAudio?: CallerAudio;
}

export const WsMediaMode = { server: 'server', client: 'client' } as const;
export type WsMediaMode = (typeof WsMediaMode)[keyof typeof WsMediaMode];

/** How a chan_websocket media channel ended. */
export const WsMediaEnd = {
  /** ARI DELETE (close 1000 after ChannelDestroyed). */
  app: 'app',
  /** The media server sent a close frame (answered with 1001). */
  mediaClosed: 'mediaClosed',
  /** The media server's TCP connection went away without a close frame (cause 38). */
  mediaDropped: 'mediaDropped',
  /** The media server sent HANGUP (close 1000). */
  hangupCommand: 'hangupCommand',
  /** Server mode: nobody connected in time (cause 19). */
  connectTimeout: 'connectTimeout',
  /** Client mode: 4 failed connection tries (cause 3). */
  connectFailed: 'connectFailed',
  /** Stasis() failed: no WebSocket served the app when the channel answered. */
  stasisFailed: 'stasisFailed',
  crash: 'crash',
  stopped: 'stopped',
} as const;
export type WsMediaEnd = (typeof WsMediaEnd)[keyof typeof WsMediaEnd];

/** One per chan_websocket channel, kept after it ends. Times are performance.now(). */
export interface WebSocketMediaRecord {
  channelId: string;
  channelName: string;
  mode: WsMediaMode;
  /** Server mode: the fresh UUID of /media/<id>; client mode: the websocket_client id. */
  connectionId: string;
  format: string;
  optimalFrameSize: number;
  controlFormat: 'plain' | 'json';
  /** Client mode: the URL of every connection try, in order. */
  dialedUrls: string[];
  createdAt: number;
  /** The media socket's handshake completed. */
  connectedAt?: number;
  /** The channel answered (StasisStart sent). */
  answeredAt?: number;
  endedAt?: number;
  endedBy?: WsMediaEnd;
  /** The close code the simulator sent (1000 after a DELETE or HANGUP, 1001 answering the peer). */
  closeCodeSent?: number;
  /** The close code the media server sent, when it closed first. */
  closeCodeReceived?: number;
  /** Binary frames the simulator sent (the caller's audio), and their bytes. */
  framesSent: number;
  bytesSent: number;
  /** Binary messages the media server sent, and their bytes. */
  framesReceived: number;
  bytesReceived: number;
  /** Frames taken off the playout queue at 50/s (what the caller heard). */
  framesPlayed: number;
  /** Text frames each way, verbatim (MEDIA_START first), capped at 200 each. */
  textSent: string[];
  textReceived: string[];
}

/** A client-mode connection in progress: while one lasts, channel creation waits (recorded trap). */
export interface MediaStallRecord {
  channelId: string;
  clientId: string;
  startedAt: number;
  endedAt?: number;
}

/** An externalMedia request that crashes a real 22.10.1 (the simulator resets and counts it). */
export interface CrashRecord {
  at: number;
  reason: string;
  params: Record<string, string>;
}
