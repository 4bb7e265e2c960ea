/**
 * How the controller asks Asterisk for each call's media channel (`externalMedia`): AudioSocket
 * over TCP, RTP over UDP, or chan_websocket (Asterisk 22.6+ / 20.16+), where either the media
 * server connects to Asterisk (`server`) or Asterisk dials it (`client`). The variables are
 * checked together: a combination Asterisk would refuse, or never bridge, is reported at start,
 * with every other problem. Variables of another transport or mode are ignored (not refused), so
 * one set of them (compose's) switches between transports with EXTERNAL_MEDIA_TRANSPORT alone.
 */
import { z } from 'zod';

export const MediaTransport = z.enum(['tcp', 'udp', 'websocket']);
export type MediaTransport = z.infer<typeof MediaTransport>;
export const MediaEncapsulation = z.enum(['audiosocket', 'rtp', 'none']);
export type MediaEncapsulation = z.infer<typeof MediaEncapsulation>;
/** chan_websocket: `server` = the media server connects to Asterisk; `client` = Asterisk dials it. */
export const WebSocketConnection = z.enum(['client', 'server']);
export type WebSocketConnection = z.infer<typeof WebSocketConnection>;

/**
 * Formats chan_websocket cuts into frames and times itself (what this backend relies on: a media
 * server may send any amount of audio). Opus, speex and g729 are passed through unframed; the
 * media server would have to frame and time them, so they are refused here.
 */
export const WEBSOCKET_FORMATS = [
  'slin', 'slin12', 'slin16', 'slin24', 'slin32', 'slin44', 'slin48', 'slin96', 'slin192', 'ulaw', 'alaw', 'g722',
] as const;

/** Asterisk gives up on a server-mode channel nobody connected to after ~31 s (cause 19, no StasisEnd). */
export const ASTERISK_WEBSOCKET_CONNECT_TIMEOUT_MS = 30_000;

/** A websocket_client.conf section name: no ':' (that is host:port), no '/' (a dialstring separator). */
export const WebSocketClientId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, 'must be a websocket_client.conf id (A-Z a-z 0-9 _ . -)')
  .refine((v) => v !== 'INCOMING', 'INCOMING is what server mode dials, not a websocket_client id');

const Millis = z.coerce.number().int().nonnegative().max(3_600_000);
const WsUrl = z.url({ protocol: /^wss?$/ });

export const mediaConfigFields = {
  AUDIOSOCKET_HOST: z.string().min(1).max(200).regex(/^[A-Za-z0-9._:[\]-]+$/).default('audiosocket'),
  AUDIOSOCKET_PORT: z.coerce.number().int().min(1).max(65535).default(7575),
  EXTERNAL_MEDIA_FORMAT: z.string().regex(/^[a-z0-9_]+$/).default('slin16'),
  /** Default: from the transport (tcp: audiosocket, udp: rtp, websocket: none), else audiosocket. */
  EXTERNAL_MEDIA_ENCAPSULATION: MediaEncapsulation.optional(),
  /** Default: from the encapsulation (audiosocket: tcp, rtp: udp, none: websocket), else tcp. */
  EXTERNAL_MEDIA_TRANSPORT: MediaTransport.optional(),
  /** websocket only, and then required. */
  EXTERNAL_MEDIA_CONNECTION: WebSocketConnection.optional(),
  /** websocket client mode: the websocket_client.conf entry Asterisk dials the media server with. */
  EXTERNAL_MEDIA_WEBSOCKET_CLIENT: WebSocketClientId.optional(),
  /**
   * websocket server mode: where media servers connect, Asterisk's HTTP server and its `/media`
   * path (`ws://asterisk:8088/media`); the connection id is appended. One URL for every node, or
   * `node=url` pairs, comma-separated, one per Asterisk.
   */
  EXTERNAL_MEDIA_WEBSOCKET_URL: z.string().max(4096).optional(),
  /** How long setup waits for the media channel's own StasisStart (AudioSocket, RTP). */
  MEDIA_STASIS_TIMEOUT_MS: Millis.min(1).default(5_000),
  /** websocket: how long setup waits for the media socket to connect and the channel to enter Stasis. */
  MEDIA_CONNECT_TIMEOUT_MS: Millis.min(1).default(10_000),
  /** A media channel slower than this to come up (or an ARI command timing out) marks the media path degraded. */
  MEDIA_DEGRADED_AFTER_MS: Millis.min(1).default(2_000),
};

const MediaFields = z.object(mediaConfigFields);
type MediaFields = z.output<typeof MediaFields>;

const TRANSPORT_OF = { audiosocket: 'tcp', rtp: 'udp', none: 'websocket' } as const;
const ENCAPSULATION_OF = { tcp: 'audiosocket', udp: 'rtp', websocket: 'none' } as const;

const known = <T extends string>(values: readonly T[], v: unknown): v is T => values.includes(v as T);

/** The transport and encapsulation asked for, each defaulted from the other. */
export function mediaPair(c: Pick<MediaFields, 'EXTERNAL_MEDIA_TRANSPORT' | 'EXTERNAL_MEDIA_ENCAPSULATION'>): { transport: MediaTransport; encapsulation: MediaEncapsulation } {
  const transport = c.EXTERNAL_MEDIA_TRANSPORT ?? (c.EXTERNAL_MEDIA_ENCAPSULATION ? TRANSPORT_OF[c.EXTERNAL_MEDIA_ENCAPSULATION] : 'tcp');
  return { transport, encapsulation: c.EXTERNAL_MEDIA_ENCAPSULATION ?? ENCAPSULATION_OF[transport] };
}

/**
 * The media URL base per node from EXTERNAL_MEDIA_WEBSOCKET_URL (`*` = every node), or the
 * problem with it.
 */
export function parseMediaUrls(raw: string): { ok: true; urls: Record<string, string> } | { ok: false; problem: string } {
  const urls: Record<string, string> = {};
  for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const pair = eq > 0 && !part.slice(0, eq).includes(':');
    const node = pair ? part.slice(0, eq) : '*';
    const url = pair ? part.slice(eq + 1) : part;
    if (!/^[A-Za-z0-9_-]+$/.test(node) && node !== '*') return { ok: false, problem: `'${node}' is not a node name` };
    if (!WsUrl.safeParse(url).success) return { ok: false, problem: `'${url}' is not a ws:// or wss:// URL` };
    if (/[?#]/.test(url)) return { ok: false, problem: `'${url}': the connection id is appended to the path, so no query or fragment` };
    if (urls[node] !== undefined) return { ok: false, problem: `${node === '*' ? 'more than one URL for every node' : `node ${node} named twice`}` };
    urls[node] = url.replace(/\/+$/, '');
  }
  if (Object.keys(urls).length === 0) return { ok: false, problem: 'empty' };
  return { ok: true, urls };
}

/** Cross-field rules of the media variables (safe on partly invalid input: unknown values are skipped). */
export function checkMediaConfig(c: MediaFields, ctx: z.RefinementCtx): void {
  const problem = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  const t = c.EXTERNAL_MEDIA_TRANSPORT;
  const e = c.EXTERNAL_MEDIA_ENCAPSULATION;
  if (t !== undefined && !known(MediaTransport.options, t)) return;
  if (e !== undefined && !known(MediaEncapsulation.options, e)) return;
  const { transport, encapsulation } = mediaPair(c);
  if (TRANSPORT_OF[encapsulation] !== transport) {
    const needs = encapsulation === 'none' ? 'websocket' : TRANSPORT_OF[encapsulation];
    problem('EXTERNAL_MEDIA_ENCAPSULATION', `${encapsulation} goes with EXTERNAL_MEDIA_TRANSPORT=${needs}, not ${transport}`
      + (transport === 'websocket' ? " (chan_websocket takes encapsulation 'none')" : ''));
  }
  if (transport !== 'websocket') return;
  const conn = c.EXTERNAL_MEDIA_CONNECTION;
  if (typeof c.EXTERNAL_MEDIA_FORMAT === 'string' && !known(WEBSOCKET_FORMATS, c.EXTERNAL_MEDIA_FORMAT)) {
    problem('EXTERNAL_MEDIA_FORMAT', `chan_websocket frames only ${WEBSOCKET_FORMATS.join(', ')}; ${c.EXTERNAL_MEDIA_FORMAT} would reach the media server unframed`);
  }
  if (conn === undefined) {
    problem('EXTERNAL_MEDIA_CONNECTION', 'required with EXTERNAL_MEDIA_TRANSPORT=websocket: server (the media server connects to Asterisk, '
      + 'EXTERNAL_MEDIA_WEBSOCKET_URL) or client (Asterisk dials it, EXTERNAL_MEDIA_WEBSOCKET_CLIENT)');
    return;
  }
  if (conn === 'client' && c.EXTERNAL_MEDIA_WEBSOCKET_CLIENT === undefined) {
    problem('EXTERNAL_MEDIA_WEBSOCKET_CLIENT', 'required in client mode: the websocket_client.conf id Asterisk dials the media server with');
  }
  if (conn === 'server') {
    if (c.EXTERNAL_MEDIA_WEBSOCKET_URL === undefined) {
      problem('EXTERNAL_MEDIA_WEBSOCKET_URL', 'required in server mode: where media servers connect, e.g. ws://asterisk:8088/media');
    } else {
      const parsed = parseMediaUrls(c.EXTERNAL_MEDIA_WEBSOCKET_URL);
      if (!parsed.ok) problem('EXTERNAL_MEDIA_WEBSOCKET_URL', `${parsed.problem}; give ws://host:8088/media, or node=url pairs`);
    }
    if (typeof c.MEDIA_CONNECT_TIMEOUT_MS === 'number' && c.MEDIA_CONNECT_TIMEOUT_MS >= ASTERISK_WEBSOCKET_CONNECT_TIMEOUT_MS) {
      problem('MEDIA_CONNECT_TIMEOUT_MS', `must be below ${ASTERISK_WEBSOCKET_CONNECT_TIMEOUT_MS}: Asterisk drops a channel nobody connected to after ~31 s without telling the app`);
    }
  }
}

/** Fills in the transport and encapsulation each defaulted from the other. */
export function withMediaDefaults<T extends MediaFields>(c: T): Omit<T, 'EXTERNAL_MEDIA_TRANSPORT' | 'EXTERNAL_MEDIA_ENCAPSULATION'> & {
  EXTERNAL_MEDIA_TRANSPORT: MediaTransport;
  EXTERNAL_MEDIA_ENCAPSULATION: MediaEncapsulation;
} {
  const { transport, encapsulation } = mediaPair(c);
  return { ...c, EXTERNAL_MEDIA_TRANSPORT: transport, EXTERNAL_MEDIA_ENCAPSULATION: encapsulation };
}
