// POST /channels/externalMedia: Asterisk's validation order and messages, a real AudioSocket
// connection for encapsulation=audiosocket, and the Dial/StateChange/Varset/StasisStart sequence.
// transport=websocket goes to websocket-external-media.ts after the shared checks.

import type { Socket } from 'node:net';
import { isUuid, nextRtpTag, nextUniqueId } from './ari-format.js';
import { uuidFrame } from './audiosocket-frame.js';
import { events } from './event-builders.js';
import { connectMedia, parseHostPort, type HostPort } from './media-connect.js';
import { APP_DIAL, channelJson, newMediaChannel, type SimChannel } from './sim-model.js';
import { INTERNAL_MESSAGE, SimError } from './sim-error.js';
import { EndReason, type SimState } from './sim-state.js';
import type { RestResult } from './rest-routes.js';
import { createWebSocketMedia } from './websocket-external-media.js';

const FORMATS = new Set([
  'ulaw', 'alaw', 'gsm', 'g722', 'g726', 'g726aal2', 'g729', 'ilbc', 'lpc10', 'adpcm', 'opus', 'speex', 'speex16',
  'speex32', 'siren7', 'siren14', 'g719', 'testlaw',
  'slin', 'slin12', 'slin16', 'slin24', 'slin32', 'slin44', 'slin48', 'slin96', 'slin192',
]);

interface MediaRequest {
  app: string;
  target: HostPort;
  externalHost: string;
  encapsulation: 'rtp' | 'audiosocket';
  format: string;
  data: string;
  channelId: string;
}

interface CommonRequest {
  app: string;
  externalHost: string;
  format: string;
  encapsulation: string;
  transport: string;
}

/** The checks every transport shares, in Asterisk's order. */
function validateCommon(params: Record<string, string>): CommonRequest {
  const app = params.app ?? '';
  if (app === '') throw new SimError(400, 'app cannot be empty');
  const externalHost = params.external_host ?? '';
  const transport = params.transport || 'udp';
  const connectionType = params.connection_type || 'client';
  if (externalHost === '' && !(transport === 'websocket' && connectionType === 'server')) {
    throw new SimError(400, 'external_host is required for all but websocket server connections');
  }
  const format = params.format ?? '';
  if (format === '') throw new SimError(400, 'format cannot be empty');
  const encapsulation = params.encapsulation || 'rtp';
  if (connectionType === 'server' && transport !== 'websocket') {
    throw new SimError(400, "'server' connection_type can only be used with the websocket transport");
  }
  if (transport === 'websocket' && encapsulation !== 'none') {
    throw new SimError(400, "encapsulation must be 'none' for websocket transport");
  }
  return { app, externalHost, format, encapsulation, transport };
}

function validate(params: Record<string, string>, common: CommonRequest): MediaRequest {
  const { app, externalHost, format, encapsulation, transport } = common;
  if (encapsulation === 'audiosocket' && transport !== 'tcp') {
    throw new SimError(400, "transport must be 'tcp' for audiosocket encapsulation");
  }
  if (encapsulation === 'rtp' && transport !== 'udp') throw new SimError(400, "transport must be 'udp' for rtp encapsulation");
  if (encapsulation !== 'rtp' && encapsulation !== 'audiosocket') {
    throw new SimError(501, 'The encapsulation and/or transport is not supported');
  }
  const target = parseHostPort(externalHost);
  if (target === undefined) {
    throw new SimError(400, 'external_host must be <host>:<port> for all transports other than websocket');
  }
  if (!FORMATS.has(format)) throw new SimError(500, INTERNAL_MESSAGE);
  const data = params.data ?? '';
  if (encapsulation === 'audiosocket') {
    if (data === '') throw new SimError(400, 'data can not be empty');
    if (!isUuid(data)) throw new SimError(500, INTERNAL_MESSAGE);
  }
  return { app, target, externalHost, encapsulation, format, data, channelId: params.channelId ?? '' };
}

/**
 * Creates the media channel. Returns the reply body (state Down, as recorded); the events up to
 * StasisStart have been sent by then, since Asterisk's client sees them before or with the reply.
 */
export async function createExternalMedia(state: SimState, params: Record<string, string>): Promise<RestResult> {
  const common = validateCommon(params);
  if (common.transport === 'websocket') return createWebSocketMedia(state, params, common.app, common.format);
  const req = validate(params, common);
  // A chan_websocket client connection in progress holds up new channels (server-silent.json).
  const generation = state.generation;
  await state.websocket.stall.pass();
  if (state.generation !== generation) throw new SimError(500, INTERNAL_MESSAGE);
  if (req.encapsulation === 'rtp' && req.channelId !== '' && state.channels.has(req.channelId)) {
    throw new SimError(500, INTERNAL_MESSAGE);
  }
  let socket: Socket | undefined;
  if (req.encapsulation === 'audiosocket') {
    try {
      socket = await connectMedia(req.target, state.mediaConnectTimeoutMs);
    } catch (err) {
      throw new SimError(500, INTERNAL_MESSAGE, { cause: err });
    }
    socket.write(uuidFrame(req.data));
    // Asterisk only finds the duplicate id after it has connected to the media server.
    if (req.channelId !== '' && state.channels.has(req.channelId)) {
      socket.destroy();
      throw new SimError(500, INTERNAL_MESSAGE);
    }
  }
  const ch = mediaChannelFor(req);
  const channelvars: Record<string, string> =
    req.encapsulation === 'audiosocket'
      ? { AUDIOSOCKET_SERVICE: req.externalHost, AUDIOSOCKET_UUID: req.data }
      : { UNICASTRTP_LOCAL_PORT: String(10000 + 2 * Math.floor(Math.random() * 5000)), UNICASTRTP_LOCAL_ADDRESS: '127.0.0.1' };
  if (!state.sockets.isActive(req.app)) {
    // Stasis() fails at once for an inactive app: 200 anyway, channel already hung up.
    socket?.destroy();
    return { status: 200, body: channelJson(ch, { channelvars: { STASISSTATUS: 'FAILED', ...channelvars } }) };
  }
  const reply = channelJson(ch, { channelvars });
  state.channels.set(ch.id, ch);
  if (socket !== undefined) attachMediaSocket(state, ch, socket);
  const dialstring = req.encapsulation === 'audiosocket' ? `${req.externalHost}/${req.data}` : `${req.externalHost}/c(${req.format})`;
  state.emit(ch.app, events.dial(channelJson(ch), '', dialstring));
  ch.state = 'Up';
  state.emit(ch.app, events.stateChange(ch));
  state.emit(ch.app, events.dial(channelJson(ch), 'ANSWER', dialstring));
  ch.dialplan = { ...APP_DIAL, app_name: 'Stasis', app_data: req.data === '' ? req.app : `${req.app},${req.data}` };
  state.emit(ch.app, events.varset(ch, 'STASISSTATUS', ''));
  ch.inStasis = true;
  state.emit(ch.app, events.stasisStart(ch, req.data === '' ? [] : [req.data]));
  return { status: 200, body: reply };
}

function mediaChannelFor(req: MediaRequest): SimChannel {
  const name =
    req.encapsulation === 'audiosocket'
      ? `AudioSocket/${req.externalHost}-${req.data}`
      : `UnicastRTP/${req.externalHost}-${nextRtpTag()}`;
  return newMediaChannel(req.channelId !== '' ? req.channelId : nextUniqueId(), name, req.app);
}

/** Reads and discards the peer's audio; the peer closing hangs the channel up. */
function attachMediaSocket(state: SimState, ch: SimChannel, socket: Socket): void {
  ch.media = socket;
  socket.on('error', () => {});
  socket.on('close', () => {
    if (!ch.mediaClosing) {
      ch.media = undefined;
      state.endChannel(ch, EndReason.farEnd);
    }
  });
  socket.resume();
}
