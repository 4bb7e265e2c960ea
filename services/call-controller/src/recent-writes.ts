/**
 * What this instance last wrote of each call, kept beside the shared state so the end of a call
 * set up here needs no read: a caller's StasisEnd comes, with one controller, always to the
 * instance that activated the call (with N, to it one time in N), and the media channel's
 * StasisEnd after the claim here. Two KV reads of the ~25 NATS operations of a call.
 *
 * A copy is only a hint: the machine asks for it (`recent`) only where what it decides is then
 * written with compare-and-set (ending a call claims it at the revision read). A copy gone stale
 * (another instance refreshed, took over or ended the call) loses that compare-and-set, is
 * forgotten here, and the read that follows goes to the bucket. A session this instance removed
 * never comes back (session UUIDs are not reused), so "removed here" is always true.
 *
 * Bounded: the oldest entries go first (each map keeps insertion order), so a call ended
 * elsewhere costs its entry only until it is pushed out.
 */
import type { CallState } from '@avb/contracts';
import type { StorePort } from './call-actor.js';
import type { StoredCall } from './call-machine.js';

/** Calls remembered at most (a JSON string and a number each: about 0.5 KiB). */
export const RECENT_CALLS = 20_000;
/** Removed sessions remembered at most. */
export const RECENT_REMOVED = 20_000;

const keyOf = (node: string, channelId: string) => `${node}/${channelId}`;

function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as string);
}

/** `store` with the reads a recent write of this instance answers; `isConflict` tells a lost compare-and-set. */
export function withRecentWrites(store: StorePort, isConflict: (err: unknown) => boolean): StorePort {
  const written = new Map<string, { json: string; revision: number }>();
  const removed = new Map<string, true>();
  const wrote = (state: CallState) => (revision: number) => {
    remember(written, keyOf(state.node, state.channelId), { json: JSON.stringify(state), revision }, RECENT_CALLS);
    return revision;
  };
  const lost = (state: CallState) => (err: unknown) => {
    if (isConflict(err)) written.delete(keyOf(state.node, state.channelId));
    throw err;
  };
  return {
    create: (state) => store.create(state).then(wrote(state)),
    update: (state, revision) => store.update(state, revision).then(wrote(state), lost(state)),
    async remove(state, revision) {
      const key = keyOf(state.node, state.channelId);
      await store.remove(state, revision).catch(lost(state));
      // The claim is the compare-and-set: from here the call is gone, whatever the purges did.
      written.delete(key);
      remember(removed, state.sessionId, true, RECENT_REMOVED);
    },
    get(node, channelId, opts) {
      const copy = opts?.recent ? written.get(keyOf(node, channelId)) : undefined;
      if (copy) return Promise.resolve({ state: JSON.parse(copy.json) as CallState, revision: copy.revision } satisfies StoredCall);
      return store.get(node, channelId);
    },
    getBySession: (sessionId) => (removed.has(sessionId) ? Promise.resolve(undefined) : store.getBySession(sessionId)),
    pointSession: (state) => store.pointSession(state),
    dropSession: (sessionId) => store.dropSession(sessionId),
  };
}
