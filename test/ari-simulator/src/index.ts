// Public entry of @avb/ari-simulator.

export { AriSimulator } from './ari-simulator.js';
export { AudioSocketEcho } from './audiosocket-echo.js';
export { EchoConnectError, WebSocketEcho, type WebSocketEchoSession } from './websocket-echo.js';
export { parseMediaStart, type MediaStartFields } from './media-start.js';
export { CallerAudio, WsMediaEnd, WsMediaMode } from './websocket-media-types.js';
export type {
  CrashRecord,
  MediaStallRecord,
  WebSocketClientConfig,
  WebSocketMediaOptions,
  WebSocketMediaRecord,
} from './websocket-media-types.js';
export type { FaultMatch, FaultResponse } from './fault-rules.js';
export type { LoadOptions } from './load-runner.js';
export type { PlaceCallOptions } from './channel-ops.js';
export type {
  AriEvent,
  Bridge,
  CallRecord,
  CallerId,
  Channel,
  ChannelState,
  DialplanCep,
  EndedBy,
  FrameLogEntry,
  RequestLogEntry,
  SimulatorOptions,
} from './types.js';
