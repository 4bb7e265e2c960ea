// In-memory channels and bridges, and their ARI JSON snapshots.

import type { Socket } from 'node:net';
import { ariTime } from './ari-format.js';
import type { Bridge, CallRecord, CallerId, Channel, ChannelState, DialplanCep } from './types.js';

export const ChannelKind = { caller: 'caller', media: 'media' } as const;
export type ChannelKind = (typeof ChannelKind)[keyof typeof ChannelKind];

export interface SimChannel {
  id: string;
  name: string;
  state: ChannelState;
  caller: CallerId;
  dialplan: DialplanCep;
  creationtime: string;
  app: string;
  kind: ChannelKind;
  /** True from the moment its StasisStart has been sent until it leaves Stasis. */
  inStasis: boolean;
  bridge: SimBridge | undefined;
  /** Current BRIDGEPEER value; '' when unset (Asterisk only clears it on the leaving side). */
  bridgePeer: string;
  record: CallRecord | undefined;
  /** externalMedia only: the dialplan location it returns to after Stasis (AppDial2). */
  dialDialplan: DialplanCep | undefined;
  media: Socket | undefined;
  /** Set when the simulator closes the media socket itself, so the close is not a peer hangup. */
  mediaClosing: boolean;
  /** Callers: the args of each further Stasis() in their dialplan; `continue` moves to the next. */
  laterStasis: string[][];
  /** chan_websocket channels: the media session, told when the channel goes. */
  mediaLink?: MediaLink;
}

/** A media driver with its own connection and hangup events (chan_websocket). */
export interface MediaLink {
  /** The channel is gone: end the media connection (chan_websocket: close frame 1000). */
  close(): void;
  /** ARI DELETE of the channel before it entered Stasis: the driver's own event sequence. */
  hangupBeforeStasis(): void;
}

export interface SimBridge {
  id: string;
  technology: string;
  bridgeType: string;
  name: string;
  creationtime: string;
  channels: SimChannel[];
  /** Apps that had a channel in the bridge: Asterisk subscribes them and sends them BridgeDestroyed. */
  apps: Set<string>;
}

export const NO_CALLER: CallerId = { name: '', number: '' };

/** Where an externalMedia channel sits before and after its Stasis (recorded: `AppDial2`). */
export const APP_DIAL: DialplanCep = { context: 'default', exten: 's', priority: 1, app_name: 'AppDial2', app_data: '(Outgoing Line)' };

/** A new externalMedia channel (any transport), Down and not yet in Stasis. */
export function newMediaChannel(id: string, name: string, app: string): SimChannel {
  return {
    id,
    name,
    state: 'Down',
    caller: { ...NO_CALLER },
    dialplan: { ...APP_DIAL },
    creationtime: ariTime(),
    app,
    kind: ChannelKind.media,
    inStasis: false,
    bridge: undefined,
    bridgePeer: '',
    record: undefined,
    dialDialplan: { ...APP_DIAL },
    media: undefined,
    mediaClosing: false,
    laterStasis: [],
  };
}

export function channelJson(ch: SimChannel, override?: Partial<Pick<Channel, 'state' | 'dialplan' | 'channelvars'>>): Channel {
  const json: Channel = {
    id: ch.id,
    name: ch.name,
    state: override?.state ?? ch.state,
    protocol_id: '',
    caller: { ...ch.caller },
    connected: { ...NO_CALLER },
    accountcode: '',
    dialplan: { ...(override?.dialplan ?? ch.dialplan) },
    creationtime: ch.creationtime,
    language: 'en',
  };
  if (override?.channelvars !== undefined) json.channelvars = override.channelvars;
  return json;
}

export function bridgeJson(b: SimBridge): Bridge {
  return {
    id: b.id,
    technology: b.technology,
    bridge_type: b.bridgeType,
    bridge_class: 'stasis',
    creator: 'Stasis',
    name: b.name,
    channels: b.channels.map((c) => c.id),
    creationtime: b.creationtime,
    video_mode: 'talker',
  };
}
