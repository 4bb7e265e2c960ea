/**
 * The media side of a call, per transport (pure; the call machine decides when): the externalMedia
 * request, and what a chan_websocket channel's reply says about its connection. AudioSocket and
 * RTP name the media server in the request and their channel enters Stasis by itself; with
 * chan_websocket the channel stays Down until its socket is connected: server mode by the media
 * server, to the URL made of the node's media URL and the connection id of the reply.
 */
import type { CommandParams, WebSocketMedia } from '@avb/contracts';

interface Common {
  format: string;
  /** How long setup waits for the media channel's StasisStart (websocket: its socket's connection too). */
  stasisTimeoutMs: number;
  /** A media channel slower than this to come up is reported as a degraded media path (unset: never). */
  slowMs?: number;
}

export type MediaSettings = Common & (
  | { transport: 'tcp' | 'udp'; encapsulation: 'audiosocket' | 'rtp'; externalHost: string }
  /** `urls`: the media URL base per node; `*` for every node. */
  | { transport: 'websocket'; encapsulation: 'none'; connection: 'server'; urls: Record<string, string> }
  | { transport: 'websocket'; encapsulation: 'none'; connection: 'client'; clientId: string }
);

export const isWebSocket = (m: MediaSettings): m is Extract<MediaSettings, { transport: 'websocket' }> => m.transport === 'websocket';

/** The externalMedia params of a call: the channel's id is the session UUID, which also goes in `data`. */
export function externalMediaParams(m: MediaSettings, channelId: string, sessionId: string): CommandParams<'channels.externalMedia'> {
  const common = { channelId, format: m.format, data: sessionId };
  if (!isWebSocket(m)) return { ...common, external_host: m.externalHost, encapsulation: m.encapsulation, transport: m.transport };
  const ws = { ...common, transport: 'websocket', encapsulation: 'none' } as const;
  return m.connection === 'server'
    ? { ...ws, connection_type: 'server', external_host: 'INCOMING' }
    : { ...ws, connection_type: 'client', external_host: m.clientId };
}

/**
 * What a chan_websocket externalMedia reply says about its connection; undefined for other
 * transports, `missing` when server mode's connection id is not in it (nobody could connect).
 */
export function websocketMediaOf(m: MediaSettings, node: string, reply: unknown): WebSocketMedia | 'missing' | undefined {
  if (!isWebSocket(m)) return undefined;
  if (m.connection === 'client') return { connection: 'client', connectionId: m.clientId };
  const vars = (reply as { channelvars?: Record<string, unknown> } | null)?.channelvars;
  const id = vars?.MEDIA_WEBSOCKET_CONNECTION_ID;
  if (typeof id !== 'string' || !/^[A-Za-z0-9-]{1,128}$/.test(id)) return 'missing';
  const base = m.urls[node] ?? m.urls['*'];
  return base === undefined ? { connection: 'server', connectionId: id } : { connection: 'server', connectionId: id, url: `${base}/${id}` };
}
