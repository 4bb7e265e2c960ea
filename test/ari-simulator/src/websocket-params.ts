// externalMedia's websocket half: which mode a request selects, its checks in Asterisk's
// messages (externalMedia-errors.json of both modes), transport_data options and the dialstring.

import { INTERNAL_MESSAGE, SimError } from './sim-error.js';
import type { ControlFormat } from './websocket-media-control.js';
import { WsMediaMode } from './websocket-media-types.js';

export interface WsMediaRequest {
  app: string;
  mode: WsMediaMode;
  /** `INCOMING` in server mode, the websocket_client id in client mode. */
  externalHost: string;
  format: string;
  optimalFrameSize: number;
  data: string;
  channelId: string;
  /** `f(...)`: only plain and json exist; anything else crashes 22.10.1 (crash-bad-control-format.json). */
  controlFormat: ControlFormat | { unsupported: string };
  /** `n` turns auto-answer off: the channel stays Down until the media server sends ANSWER. */
  autoAnswer: boolean;
  /** `v(a=b,c=d)` as `a=b&c=d`; undefined when the request has no v(). */
  uriParams: string | undefined;
  direction: string;
  /** What Dial events show: external_host, then `/` and transport_data, then `d(<direction>)`. */
  dialstring: string;
}

/** 20 ms of audio in bytes for the formats chan_websocket frames by size. */
const FRAME_BYTES: Record<string, number> = {
  ulaw: 160, alaw: 160, g722: 160,
  slin: 320, slin12: 480, slin16: 640, slin24: 960, slin32: 1280, slin44: 1764, slin48: 1920, slin96: 3840, slin192: 7680,
};

const DIRECTIONS = new Set(['both', 'in', 'out']);

export const INCOMING = 'INCOMING';

/** `f(json)v(call_id=abc,lang=en)n` -> option letters and their arguments (unknown letters are kept, unused). */
export function parseTransportData(text: string): Map<string, string> {
  const options = new Map<string, string>();
  let at = 0;
  while (at < text.length) {
    const letter = text.charAt(at);
    at += 1;
    if (!/[a-z]/i.test(letter)) continue;
    let arg = '';
    if (text.charAt(at) === '(') {
      const close = text.indexOf(')', at);
      const end = close < 0 ? text.length : close;
      arg = text.slice(at + 1, end);
      at = end + 1;
    }
    options.set(letter, arg);
  }
  return options;
}

/**
 * After the checks every transport shares (app, external_host, format, connection_type, encapsulation).
 * `clients` are the configured websocket_client ids.
 */
export function validateWebSocket(
  params: Record<string, string>,
  app: string,
  format: string,
  clients: ReadonlySet<string>,
): WsMediaRequest {
  const connectionType = params.connection_type || 'client';
  const externalHost = params.external_host || INCOMING;
  // Server mode is INCOMING; any other host is a websocket_client id chan_websocket dials.
  const mode = connectionType === 'server' && externalHost === INCOMING ? WsMediaMode.server : WsMediaMode.client;
  const direction = params.direction || 'both';
  if (!DIRECTIONS.has(direction)) throw new SimError(400, 'Invalid direction specified');
  if (mode === WsMediaMode.client && !clients.has(externalHost)) {
    throw new SimError(400, 'external_host must be a valid websocket_client connection id.');
  }
  const optimalFrameSize = FRAME_BYTES[format];
  if (optimalFrameSize === undefined) throw new SimError(500, INTERNAL_MESSAGE);
  const transportData = params.transport_data ?? '';
  const options = parseTransportData(transportData);
  const v = options.get('v');
  // URI parameters only mean something when Asterisk dials: with INCOMING the request fails.
  if (v !== undefined && mode === WsMediaMode.server) throw new SimError(500, INTERNAL_MESSAGE);
  const f = options.get('f') ?? 'plain';
  let dialstring = transportData === '' ? externalHost : `${externalHost}/${transportData}`;
  if (direction !== 'both') dialstring += `${transportData === '' ? '/' : ''}d(${direction})`;
  return {
    app,
    mode,
    externalHost,
    format,
    optimalFrameSize,
    data: params.data ?? '',
    channelId: params.channelId ?? '',
    controlFormat: f === 'plain' || f === 'json' ? f : { unsupported: f },
    autoAnswer: !options.has('n'),
    uriParams: v === undefined ? undefined : v.split(',').map((p) => p.trim()).filter((p) => p !== '').join('&'),
    direction,
    dialstring,
  };
}
