/**
 * Turns Stasis events into messages for the call actors, one entry point per event type:
 *   caller StasisStart  durable consumer only          -> `start` to the caller channel's actor
 *   media StasisStart   core subscription + durable copy -> `media_start` to the actor watching it
 *                       (only the instance that created the media channel waits for it; any
 *                       instance may get the durable copy, so both are posted and the machine
 *                       takes the first; a lost one is covered by the machine asking ARI)
 *   StasisEnd           durable consumer only          -> `end` to the actor of the caller, or of
 *                       the media channel (a new one keyed by the media channel when none here)
 * Routing only: whether an event matters, and what it does, is the machine's business.
 */
import type { StasisEnd, StasisStart } from '@avb/contracts';
import type { Delivery } from './call-actor.js';
import type { CallActors } from './call-actors.js';
import { entryOf, type StoredCall } from './call-machine.js';
import { isMediaChannel, isMediaStasisStart } from './event-decoder.js';

export interface CallIntake {
  /** `seq`: the event stream's sequence number of the message; `storedAgoMs`: its age when delivered. */
  onStasisStart(node: string, event: StasisStart, delivery: Delivery, seq: number, receivedAt: number, storedAgoMs: number): void;
  onStasisEnd(node: string, event: StasisEnd, delivery: Delivery, seq: number): void;
  /** The core (non-durable) copy of a StasisStart. */
  onCoreStasisStart(node: string, event: StasisStart): void;
  /** Reconciliation: the caller (or the media channel) of a stored call is gone. */
  endStored(stored: StoredCall, cause: string, who: 'caller' | 'media'): void;
  /** Reconciliation: a caller sits in Stasis with no call; one is started unless one exists. */
  adopt(node: string, caller: StasisStart['channel'], receivedAt: number): void;
  /** From now on new callers are handed back (nak) for other instances to take. */
  stopNewCalls(): void;
}

/** A delivery nobody needs to settle: reconciliation's own work. */
const NO_DELIVERY: Delivery = { redelivered: true, ack() {}, nak() {}, working() {} };

export function createCallIntake(app: string, actors: CallActors): CallIntake {
  let accepting = true;
  const callerOf = (channel: StasisStart['channel']) => ({ number: channel.caller.number, name: channel.caller.name });
  return {
    onStasisStart(node, event, delivery, seq, receivedAt, storedAgoMs) {
      const channel = event.channel;
      if (isMediaStasisStart(event)) {
        actors.postToMedia(node, channel.id, { type: 'media_start', channelId: channel.id });
        return delivery.ack();
      }
      if (!accepting && !actors.has(node, channel.id)) return delivery.nak();
      actors.post(node, channel.id, {
        type: 'start', delivery: actors.hold(delivery), node, channelId: channel.id,
        caller: callerOf(channel), entry: entryOf(channel.dialplan, seq), receivedAt, storedAgoMs,
      });
    },
    onStasisEnd(node, event, delivery, seq) {
      const channel = event.channel;
      const media = isMediaChannel(app, channel);
      const message = {
        type: 'end', delivery: actors.hold(delivery), node, channelId: channel.id,
        who: media ? 'media' : 'caller', ...(media ? {} : { entry: entryOf(channel.dialplan, seq) }),
      } as const;
      if (media && actors.postToMedia(node, channel.id, message)) return;
      actors.post(node, channel.id, message);
    },
    onCoreStasisStart(node, event) {
      if (isMediaStasisStart(event)) actors.postToMedia(node, event.channel.id, { type: 'media_start', channelId: event.channel.id });
    },
    endStored(stored, cause, who) {
      const { node, channelId } = stored.state;
      if (actors.has(node, channelId)) return; // being worked on here
      actors.post(node, channelId, { type: 'end_stored', stored, cause, who });
    },
    adopt(node, caller, receivedAt) {
      if (!accepting || actors.has(node, caller.id)) return;
      actors.post(node, caller.id, {
        type: 'start', delivery: actors.hold(NO_DELIVERY), node, channelId: caller.id,
        caller: callerOf(caller), entry: entryOf(caller.dialplan), receivedAt, adopt: true,
      });
    },
    stopNewCalls() {
      accepting = false;
    },
  };
}
