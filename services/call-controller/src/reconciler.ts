/**
 * Compares what Asterisk has with the shared call state, for one node, and repairs the
 * difference: calls whose caller no longer exists are ended (after an Asterisk restart that is
 * every call of the node), and so are established calls whose media channel is gone, bridges and media channels this app created whose call is gone are
 * removed, callers waiting in Stasis(<app>) with no call get one (their StasisStart never
 * reached a controller), and live calls' entries are refreshed so they do not expire.
 *
 * Asterisk is listed before the state is read: a resource in the list was created after its
 * call was recorded, so its call is in the state unless it already ended. Anything younger than
 * the grace period is left alone: a setup may still be working on it.
 */
import { sessionOfBridgeName, type Bridge, type Channel } from '@avb/contracts';
import type { AriPort } from './call-actor.js';
import type { CallActors } from './call-actors.js';
import type { CallIntake } from './call-intake.js';
import type { StoredCall } from './call-machine.js';
import { isMediaChannel } from './event-decoder.js';

export interface ReconcileReport {
  node: string;
  calls: number;
  callsEnded: number;
  bridgesRemoved: number;
  mediaChannelsRemoved: number;
  /** Callers found waiting in Stasis with no call, handed to a new call. */
  callersAdopted: number;
  refreshed: number;
}

export interface ReconcilerOptions {
  app: string;
  ari: AriPort;
  store: { list(node: string): Promise<StoredCall[]>; refresh(call: StoredCall): Promise<boolean> };
  actors: CallActors;
  intake: CallIntake;
  graceMs: number;
  /** Entries older than this are rewritten so they do not expire. */
  refreshAfterMs: number;
}

export async function reconcileNode(node: string, opts: ReconcilerOptions): Promise<ReconcileReport> {
  const { ari, store, actors, app, graceMs } = opts;
  const listedAt = Date.now();
  const [channels, bridges] = await Promise.all([
    ari.send(node, 'channels.list', {}),
    ari.send(node, 'bridges.list', {}),
  ]);
  const calls = await store.list(node);
  const report: ReconcileReport = { node, calls: calls.length, callsEnded: 0, bridgesRemoved: 0, mediaChannelsRemoved: 0, callersAdopted: 0, refreshed: 0 };
  const old = (iso: string | undefined) => iso !== undefined && parseAriTime(iso) < listedAt - graceMs;

  const channelIds = new Set(channels.map((c) => c.id));
  const work: Array<Promise<unknown>> = [];
  for (const call of calls) {
    const s = call.state;
    if (actors.has(node, s.channelId)) continue; // being set up or torn down here
    if (!channelIds.has(s.channelId)) {
      if (!old(s.updatedAt)) continue;
      opts.intake.endStored(call, 'caller_gone', 'caller');
      report.callsEnded += 1;
    } else if (s.phase === 'active' && !channelIds.has(s.externalChannelId) && old(s.updatedAt)) {
      // Its media channel went without its end being seen (e.g. the session pointer was lost).
      opts.intake.endStored(call, 'media_gone', 'media');
      report.callsEnded += 1;
    } else if (Date.parse(s.updatedAt) < listedAt - opts.refreshAfterMs) {
      work.push(store.refresh(call).then((ok) => ok && (report.refreshed += 1), () => undefined));
    }
  }
  const callers = new Set(calls.map((c) => c.state.channelId));
  for (const channel of channels) {
    if (!isWaitingCaller(app, channel) || callers.has(channel.id) || !old(channel.creationtime)) continue;
    opts.intake.adopt(node, channel, performance.now());
    report.callersAdopted += 1;
  }

  const bridgeIds = new Set(calls.map((c) => c.state.bridgeId));
  const mediaIds = new Set(calls.map((c) => c.state.externalChannelId));
  for (const bridge of bridges) {
    if (!isOrphanBridge(app, bridge, bridgeIds) || !old(bridge.creationtime)) continue;
    report.bridgesRemoved += 1;
    work.push(removeQuietly(() => ari.send(node, 'bridges.destroy', { bridgeId: bridge.id })));
  }
  for (const channel of channels) {
    if (!isOrphanMedia(app, channel, mediaIds) || !old(channel.creationtime)) continue;
    report.mediaChannelsRemoved += 1;
    work.push(removeQuietly(() => ari.send(node, 'channels.hangup', { channelId: channel.id })));
  }
  await Promise.all(work);
  return report;
}

const isOrphanBridge = (app: string, bridge: Bridge, known: Set<string>) =>
  sessionOfBridgeName(app, bridge.name) !== undefined && !known.has(bridge.id);

const isOrphanMedia = (app: string, channel: Channel, known: Set<string>) =>
  isMediaChannel(app, channel) && !known.has(channel.id);

/** A caller in our Stasis app: `Stasis(<app>[,args])` running, not one of our media channels. */
const isWaitingCaller = (app: string, channel: Channel) =>
  channel.dialplan.app_name === 'Stasis' && (channel.dialplan.app_data ?? '').split(',')[0] === app && !isMediaChannel(app, channel);

async function removeQuietly(run: () => Promise<unknown>): Promise<void> {
  await run().catch(() => undefined); // gone already, or retried at the next run
}

/** ARI writes `2026-11-24T00:03:35.117+0000`; Date.parse wants the offset with a colon. */
export function parseAriTime(value: string): number {
  const t = Date.parse(value.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isNaN(t) ? 0 : t;
}
