// The event sequences of chan_websocket's own hangups, one per recorded order, so the session
// only picks which one applies. DELETE after Stasis is SimState.endChannel's usual sequence.

import { events } from './event-builders.js';
import { channelJson, type SimChannel } from './sim-model.js';
import type { SimState } from './sim-state.js';
import { Cause, wsEvents } from './websocket-events.js';

export interface DriverHangup {
  cause: number;
  /** The close code behind it, reported as tech_cause. */
  techCause: number;
  destroyed: (bridged: boolean) => Cause;
}

export const DriverHangup = {
  /** hangup-b: the media server closed; ChannelDestroyed cause 0 "Unknown" when it was not bridged. */
  peerClosed: { cause: 16, techCause: 1001, destroyed: (bridged: boolean) => (bridged ? Cause.normal : Cause.unknown) },
  /** hangup-b2: the TCP connection dropped. */
  dropped: { cause: 38, techCause: 1001, destroyed: () => Cause.networkDown },
  /** The media server sent HANGUP (control-plain.json). */
  hangupCommand: { cause: 16, techCause: 1000, destroyed: () => Cause.normal },
} as const satisfies Record<string, DriverHangup>;

/** ChannelDestroyed shows the dialplan the channel returns to (AppDial2). */
function destroyedSnapshot(ch: SimChannel) {
  return channelJson(ch, ch.dialDialplan !== undefined ? { dialplan: ch.dialDialplan } : undefined);
}

/** ChannelHangupRequest(cause, tech_cause), [BRIDGEPEER, ChannelLeftBridge], StasisEnd, STASISSTATUS, ChannelDestroyed. */
export function hangUpFromDriver(state: SimState, ch: SimChannel, dialstring: string, h: DriverHangup): void {
  state.emit(ch.app, wsEvents.hangupRequest(ch, h.cause, h.techCause));
  if (ch.inStasis) {
    const bridged = ch.bridge !== undefined;
    state.leaveBridge(ch, true);
    ch.inStasis = false;
    state.emit(ch.app, events.stasisEnd(ch));
    state.emit(ch.app, events.varset(ch, 'STASISSTATUS', 'SUCCESS'));
    state.emit(ch.app, wsEvents.destroyed(destroyedSnapshot(ch), h.destroyed(bridged), h.techCause));
  } else {
    // Connected but not answered (transport_data=n): not recorded; the Dial ends as on a DELETE.
    state.emit(ch.app, events.dial(channelJson(ch), 'NOANSWER', dialstring));
    state.emit(ch.app, wsEvents.destroyed(destroyedSnapshot(ch), h.destroyed(false), h.techCause));
  }
  state.forget(ch);
}

/** DELETE before Stasis (externalMedia-errors.json): hangup (32, soft), Dial NOANSWER, ChannelDestroyed 16. */
export function deleteBeforeStasis(state: SimState, ch: SimChannel, dialstring: string): void {
  state.emit(ch.app, events.hangupRequest(ch, 32, true));
  state.emit(ch.app, events.dial(channelJson(ch), 'NOANSWER', dialstring));
  state.emit(ch.app, wsEvents.destroyed(destroyedSnapshot(ch), Cause.normal));
  state.forget(ch);
}

/** No connection in time (cause 19) or every client try failed (cause 3): ChannelDestroyed alone. */
export function destroyUnconnected(state: SimState, ch: SimChannel, cause: Cause): void {
  state.emit(ch.app, wsEvents.destroyed(destroyedSnapshot(ch), cause));
  state.forget(ch);
}
