// The ARI events only chan_websocket hangups send: the WebSocket close code as `tech_cause`
// (after `cause` in ChannelHangupRequest, after `cause_txt` in ChannelDestroyed), and the
// causes of its failures (19 no connection in time, 3 no route, 38 TCP dropped).

import { ariTime } from './ari-format.js';
import type { Channel } from './types.js';
import { channelJson, type SimChannel } from './sim-model.js';

export const Cause = {
  unknown: { cause: 0, text: 'Unknown' },
  noRoute: { cause: 3, text: 'No route to destination' },
  normal: { cause: 16, text: 'Normal Clearing' },
  noAnswer: { cause: 19, text: 'User alerting, no answer' },
  networkDown: { cause: 38, text: 'Network out of order' },
} as const;
export type Cause = (typeof Cause)[keyof typeof Cause];

export const wsEvents = {
  hangupRequest: (ch: SimChannel, cause: number, techCause: number) => ({
    cause,
    tech_cause: techCause,
    type: 'ChannelHangupRequest',
    timestamp: ariTime(),
    channel: channelJson(ch),
  }),
  destroyed: (channel: Channel, cause: Cause, techCause?: number) => ({
    type: 'ChannelDestroyed',
    timestamp: ariTime(),
    cause: cause.cause,
    cause_txt: cause.text,
    ...(techCause === undefined ? {} : { tech_cause: techCause }),
    channel,
  }),
} as const;
