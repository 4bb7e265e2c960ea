// POST /channels/externalMedia with transport=websocket: the reply comes first (state Down,
// MEDIA_WEBSOCKET_* channelvars), then server mode waits for /media/<id> and client mode dials.
// The requests that crash 22.10.1 (a channelId in use, an unknown control format) crash the
// simulator instead of being answered.

import { randomUUID } from 'node:crypto';
import { nextRtpTag, nextUniqueId } from './ari-format.js';
import type { RestResult } from './rest-routes.js';
import { channelJson, newMediaChannel } from './sim-model.js';
import { INTERNAL_MESSAGE, SimError } from './sim-error.js';
import type { SimState } from './sim-state.js';
import { WsMediaMode } from './websocket-media-types.js';
import { validateWebSocket } from './websocket-params.js';

export async function createWebSocketMedia(
  state: SimState,
  params: Record<string, string>,
  app: string,
  format: string,
): Promise<RestResult> {
  const hub = state.websocket;
  const req = validateWebSocket(params, app, format, hub.clientIds());
  // A client-mode connection in progress holds up every new channel (server-silent.json).
  const generation = state.generation;
  await hub.stall.pass();
  if (state.generation !== generation) throw new SimError(500, INTERNAL_MESSAGE);
  if (typeof req.controlFormat !== 'string') {
    throw state.crash(`transport_data f(${req.controlFormat.unsupported}): unknown control message format`, params);
  }
  if (req.channelId !== '' && state.channels.has(req.channelId)) {
    throw state.crash(`channelId '${req.channelId}' is already in use`, params);
  }
  const ch = newMediaChannel(req.channelId !== '' ? req.channelId : nextUniqueId(), `WebSocket/${req.externalHost}/${nextRtpTag()}`, app);
  const connectionId = req.mode === WsMediaMode.server ? randomUUID() : req.externalHost;
  const channelvars = {
    MEDIA_WEBSOCKET_CONNECTION_ID: connectionId,
    MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE: String(req.optimalFrameSize),
  };
  state.channels.set(ch.id, ch);
  const session = hub.open(
    ch,
    {
      mode: req.mode,
      connectionId,
      controlFormat: req.controlFormat,
      autoAnswer: req.autoAnswer,
      data: req.data,
      dialstring: req.dialstring,
      optimalFrameSize: req.optimalFrameSize,
      channelVariables: channelvars,
    },
    format,
    req.uriParams,
  );
  const after = req.mode === WsMediaMode.server ? () => hub.awaitConnection(session) : () => hub.dial(session);
  return { status: 200, body: channelJson(ch, { channelvars }), after };
}
