// Public wire shapes (ARI JSON as Asterisk 22 sends it) and the simulator's public records.
// Kept standalone on purpose: the simulator must not depend on the code it is used to test.

import type { WebSocketMediaOptions } from './websocket-media-types.js';

export interface CallerId {
  name: string;
  number: string;
}

export interface DialplanCep {
  context: string;
  exten: string;
  priority: number;
  app_name: string;
  app_data: string;
}

export const ChannelState = { down: 'Down', ring: 'Ring', up: 'Up' } as const;
export type ChannelState = (typeof ChannelState)[keyof typeof ChannelState];

/** An ARI Channel, keys in the order Asterisk serialises them. */
export interface Channel {
  id: string;
  name: string;
  state: ChannelState;
  protocol_id: string;
  caller: CallerId;
  connected: CallerId;
  accountcode: string;
  dialplan: DialplanCep;
  creationtime: string;
  language: string;
  channelvars?: Record<string, string>;
}

/** An ARI Bridge, keys in the order Asterisk serialises them. */
export interface Bridge {
  id: string;
  technology: string;
  bridge_type: string;
  bridge_class: string;
  creator: string;
  name: string;
  channels: string[];
  creationtime: string;
  video_mode: string;
}

export type AriEvent = Record<string, unknown>;

export const EndedBy = { caller: 'caller', ari: 'ari', continue: 'continue', crash: 'crash' } as const;
export type EndedBy = (typeof EndedBy)[keyof typeof EndedBy];

/** One per caller channel placed with placeCall/runLoad; times are performance.now(). */
export interface CallRecord {
  channelId: string;
  app: string;
  startedAt: number;
  answeredAt?: number;
  bridgedAt?: number;
  bridgeIds: string[];
  mediaChannelIds: string[];
  endedAt?: number;
  endedBy?: EndedBy;
  /** When each StasisStart of the caller was sent: more than one when it re-entered Stasis. */
  stasisStarts: number[];
}

export interface SimulatorOptions extends WebSocketMediaOptions {
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  latencyMs?: number;
  asteriskId?: string;
  mediaConnectTimeoutMs?: number;
  /** Cap on `requests` and `sentFrames` entries each (oldest dropped); 0 turns both logs off. Default 200000. */
  logLimit?: number;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  /** When the reply was sent (performance.now()). */
  at: number;
  /** When the request arrived, so a client's sequential round trips can be counted. */
  receivedAt: number;
}

export interface FrameLogEntry {
  app: string;
  data: string;
  at: number;
}
