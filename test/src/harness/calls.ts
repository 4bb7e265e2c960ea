/** What tests read about calls over NATS: their lifecycle events and the shared call state. */
import { CallEvent, callStateKeys, jetStreamNames } from '@avb/contracts';
import type { NatsConnection } from 'nats';
import type { Collector } from './gateway-client.js';

/** The call events collected for one caller channel, validated against the contract. */
export const callEventsOf = (events: Collector, channelId: string): CallEvent[] =>
  events.json().map((e) => CallEvent.parse(e)).filter((e) => e.channelId === channelId);

/**
 * The keys of the calls in the shared state (bucket `avb_calls`), from the bucket stream's
 * subjects (a key deleted a moment ago may still show until its marker is purged). Not
 * kv.keys(): it waits for a "nothing pending" that a concurrent purge can swallow.
 */
export async function callKeys(nc: NatsConnection): Promise<string[]> {
  const jsm = await nc.jetstreamManager();
  const prefix = jetStreamNames.kvSubject('avb_calls', '');
  const info = await jsm.streams.info(jetStreamNames.kvStream('avb_calls'), { subjects_filter: `${prefix}${callStateKeys.calls()}` });
  return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length));
}
