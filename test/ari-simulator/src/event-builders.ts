// ARI event bodies with the key order of the Asterisk 22 recordings: some fields precede `type`
// (cause, variable), the rest follow `timestamp`, and asterisk_id/application always close.

import { ariTime } from './ari-format.js';
import { bridgeJson, channelJson, type SimBridge, type SimChannel } from './sim-model.js';
import type { AriEvent, Channel } from './types.js';


function build(head: Record<string, unknown>, type: string, body: Record<string, unknown>): Record<string, unknown> {
  return { ...head, type, timestamp: ariTime(), ...body };
}

export const events = {
  stasisStart: (ch: SimChannel, args: string[]) => build({}, 'StasisStart', { args, channel: channelJson(ch) }),
  stasisEnd: (ch: SimChannel) => build({}, 'StasisEnd', { channel: channelJson(ch) }),
  stateChange: (ch: SimChannel) => build({}, 'ChannelStateChange', { channel: channelJson(ch) }),
  varset: (ch: SimChannel, variable: string, value: string) =>
    build({ variable, value }, 'ChannelVarset', { channel: channelJson(ch) }),
  /** cause 0 for a hangup from the far end; cause 32 + soft for an ARI DELETE. */
  hangupRequest: (ch: SimChannel, cause: number, soft: boolean) =>
    build(soft ? { cause, soft } : { cause }, 'ChannelHangupRequest', { channel: channelJson(ch) }),
  destroyed: (channel: Channel) =>
    build({}, 'ChannelDestroyed', { cause: 16, cause_txt: 'Normal Clearing', channel }),
  dial: (peer: Channel, dialstatus: string, dialstring: string) =>
    build({}, 'Dial', { dialstatus, forward: '', dialstring, peer }),
  enteredBridge: (b: SimBridge, ch: SimChannel) =>
    build({}, 'ChannelEnteredBridge', { bridge: bridgeJson(b), channel: channelJson(ch) }),
  leftBridge: (b: SimBridge, ch: SimChannel) =>
    build({}, 'ChannelLeftBridge', { bridge: bridgeJson(b), channel: channelJson(ch) }),
  bridgeDestroyed: (b: SimBridge) => build({}, 'BridgeDestroyed', { bridge: bridgeJson(b) }),
} as const;

/** ApplicationReplaced is the one event whose application precedes asterisk_id. */
export function applicationReplaced(app: string, asteriskId: string): AriEvent {
  return { type: 'ApplicationReplaced', timestamp: ariTime(), application: app, asterisk_id: asteriskId };
}
