// Bridge operations: create (or fetch by id), add/remove channels, destroy.

import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { ariTime } from './ari-format.js';
import { events } from './event-builders.js';
import { ChannelKind, type SimBridge, type SimChannel } from './sim-model.js';
import { notFound, SimError } from './sim-error.js';
import type { SimState } from './sim-state.js';

const BRIDGE_TYPE_FLAGS = new Set(['mixing', 'holding', 'dtmf_events', 'proxy_media', 'video_sfu', 'video_single', 'sdp_label']);

export function findBridge(state: SimState, id: string): SimBridge {
  const bridge = state.bridges.get(id);
  if (bridge === undefined) throw notFound.bridge();
  return bridge;
}

/** POST /bridges (bridgeId optional) and POST /bridges/{id}: the latter returns an existing bridge unchanged. */
export function createBridge(state: SimState, params: Record<string, string>, pathId: string | undefined): SimBridge {
  const type = params.type ?? '';
  const name = params.name ?? '';
  const requestedId = pathId ?? params.bridgeId;
  if (requestedId !== undefined && requestedId !== '') {
    const existing = state.bridges.get(requestedId);
    if (existing !== undefined) {
      if (pathId === undefined) throw new SimError(409, `Bridge with id '${requestedId}' already exists`);
      // Asterisk's createWithId is an update that refuses to change the type or name.
      if (type !== '') throw new SimError(500, 'Supplying a bridge type when updating a bridge is not allowed.');
      if (name !== '' && name !== existing.name) throw new SimError(500, 'Changing bridge name is not implemented');
      return existing;
    }
  }
  const flags = type === '' ? ['mixing'] : type.split(',').map((f) => f.trim());
  if (flags.some((f) => !BRIDGE_TYPE_FLAGS.has(f))) {
    // stasis_app_bridge_create() returns NULL and resource_bridges.c reports it as a 500.
    throw new SimError(500, `Unable to create bridge. Possible duplicate bridge id '${requestedId || '(null)'}'`);
  }
  const holding = flags.includes('holding');
  const bridge: SimBridge = {
    id: requestedId !== undefined && requestedId !== '' ? requestedId : randomUUID(),
    technology: holding ? 'holding_bridge' : 'simple_bridge',
    bridgeType: holding ? 'holding' : 'mixing',
    name,
    creationtime: ariTime(),
    channels: [],
    apps: new Set(),
  };
  state.bridges.set(bridge.id, bridge);
  return bridge;
}

/** Resolves the `channel` list the way resource_bridges.c does: 400 unknown, 422 not in Stasis. */
function resolveChannels(state: SimState, list: string | undefined): SimChannel[] {
  const ids = (list ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (ids.length === 0) throw new SimError(400, 'Missing parameter channel');
  return ids.map((id) => {
    const ch = state.channels.get(id);
    if (ch === undefined) throw new SimError(400, 'Channel not found');
    if (!ch.inStasis) throw new SimError(422, 'Channel not in Stasis application');
    return ch;
  });
}

/**
 * ChannelEnteredBridge per channel (a channel in another bridge is moved: ChannelLeftBridge there
 * first, no BridgeDestroyed), then ChannelVarset BRIDGEPEER for every member whose peer changed.
 */
export function addChannels(state: SimState, bridgeId: string, list: string | undefined): void {
  const bridge = findBridge(state, bridgeId);
  const channels = resolveChannels(state, list);
  for (const ch of channels) {
    if (ch.bridge === bridge) continue;
    if (ch.bridge !== undefined) state.leaveBridge(ch, true);
    bridge.channels.push(ch);
    ch.bridge = bridge;
    bridge.apps.add(ch.app);
    if (ch.record !== undefined && !ch.record.bridgeIds.includes(bridge.id)) ch.record.bridgeIds.push(bridge.id);
    state.emit(ch.app, events.enteredBridge(bridge, ch));
  }
  if (bridge.channels.length >= 2) {
    for (const ch of bridge.channels) {
      const peer = bridge.channels.filter((c) => c !== ch).map((c) => c.name).join(',');
      if (ch.bridgePeer === peer) continue;
      ch.bridgePeer = peer;
      state.emit(ch.app, events.varset(ch, 'BRIDGEPEER', peer));
    }
  }
  noteMediaPairing(bridge);
}

/** Fills CallRecord.bridgedAt/mediaChannelIds for callers sharing the bridge with externalMedia channels. */
function noteMediaPairing(bridge: SimBridge): void {
  const media = bridge.channels.filter((c) => c.kind === ChannelKind.media);
  if (media.length === 0) return;
  for (const ch of bridge.channels) {
    const record = ch.record;
    if (record === undefined) continue;
    if (record.bridgedAt === undefined) record.bridgedAt = performance.now();
    for (const m of media) if (!record.mediaChannelIds.includes(m.id)) record.mediaChannelIds.push(m.id);
  }
}

export function removeChannels(state: SimState, bridgeId: string, list: string | undefined): void {
  const bridge = findBridge(state, bridgeId);
  const channels = resolveChannels(state, list);
  if (channels.some((ch) => ch.bridge !== bridge)) throw new SimError(422, 'Channel not in this bridge');
  for (const ch of channels) state.leaveBridge(ch, true);
}

/** Validates now; the returned function sends ChannelLeftBridge for members, then BridgeDestroyed. */
export function destroyBridge(state: SimState, bridgeId: string): () => void {
  const bridge = findBridge(state, bridgeId);
  state.bridges.delete(bridgeId);
  return () => {
    for (const ch of [...bridge.channels]) state.leaveBridge(ch, true);
    for (const app of bridge.apps) state.emit(app, events.bridgeDestroyed(bridge));
  };
}

