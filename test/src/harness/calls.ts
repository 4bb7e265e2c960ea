/** What tests read about calls over NATS: their lifecycle events and the shared call state. */
import { CallEvent } from '@avb/contracts';
import type { NatsConnection } from 'nats';
import type { Collector } from './gateway-client.js';

/** The call events collected for one caller channel, validated against the contract. */
export const callEventsOf = (events: Collector, channelId: string): CallEvent[] =>
  events.json().map((e) => CallEvent.parse(e)).filter((e) => e.channelId === channelId);

/**
 * The keys of the calls in the shared state (bucket `avb_calls`). A key written while the
 * listing runs can be listed twice, so they are deduplicated.
 */
export async function callKeys(nc: NatsConnection): Promise<string[]> {
  const kv = await nc.jetstream().views.kv('avb_calls');
  const keys = new Set<string>();
  for await (const k of await kv.keys('call.>')) keys.add(k);
  return [...keys];
}
