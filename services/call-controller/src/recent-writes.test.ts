/**
 * The recent-writes hint (recent-writes.ts) over a store that counts its reads: a call written
 * here is read from memory only when asked for (`recent`), a stale copy is forgotten when its
 * compare-and-set loses, and a session removed here is known gone without a read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CallState } from '@avb/contracts';
import type { StorePort } from './call-actor.js';
import { RECENT_CALLS, withRecentWrites } from './recent-writes.js';

class Conflict extends Error {}

/** A KV of one revision counter, with compare-and-set, counting every read it serves. */
function bucket() {
  const kv = new Map<string, { state: CallState; revision: number }>();
  let revision = 0;
  const reads = { get: 0, session: 0 };
  const k = (s: { node: string; channelId: string }) => `${s.node}/${s.channelId}`;
  const store: StorePort = {
    create: async (state) => {
      if (kv.has(k(state))) throw new Conflict();
      kv.set(k(state), { state, revision: ++revision });
      return revision;
    },
    update: async (state, rev) => {
      if (kv.get(k(state))?.revision !== rev) throw new Conflict();
      kv.set(k(state), { state, revision: ++revision });
      return revision;
    },
    remove: async (state, rev) => {
      if (kv.get(k(state))?.revision !== rev) throw new Conflict();
      kv.delete(k(state));
    },
    get: async (node, channelId) => {
      reads.get += 1;
      const e = kv.get(`${node}/${channelId}`);
      return e && { state: e.state, revision: e.revision };
    },
    getBySession: async (sessionId) => {
      reads.session += 1;
      const e = [...kv.values()].find((x) => x.state.sessionId === sessionId);
      return e && { state: e.state, revision: e.revision };
    },
    pointSession: async () => {},
    dropSession: async () => {},
  };
  return { kv, store, reads, bump: (state: CallState) => kv.set(k(state), { state, revision: ++revision }) };
}

const call = (channelId: string, phase: CallState['phase'] = 'setup'): CallState => ({
  app: 'ai_app', node: 'pbx1', channelId, sessionId: `00000000-0000-4000-8000-${channelId.padStart(12, '0')}`,
  externalChannelId: `00000000-0000-4000-8000-${channelId.padStart(12, '0')}`, bridgeId: `b${channelId}`, phase, owner: 'i1',
  callerNumber: '1', callerName: '', startedAt: 't', updatedAt: 't',
});
const isConflict = (err: unknown) => err instanceof Conflict;

describe('recent writes', () => {
  it('answers a recent read of a call written here from memory, and any other read from the store', async () => {
    const b = bucket();
    const store = withRecentWrites(b.store, isConflict);
    const rev = await store.create(call('1'));
    const active = await store.update(call('1', 'active'), rev);
    assert.deepEqual(await store.get('pbx1', '1', { recent: true }), { state: call('1', 'active'), revision: active });
    assert.equal(b.reads.get, 0);
    await store.get('pbx1', '1');
    assert.equal(b.reads.get, 1, 'a plain read goes to the store');
    await store.get('pbx1', '2', { recent: true });
    assert.equal(b.reads.get, 2, 'nothing written here: to the store');
  });

  it('forgets a copy whose compare-and-set lost: the next read goes to the store', async () => {
    const b = bucket();
    const store = withRecentWrites(b.store, isConflict);
    const rev = await store.create(call('1'));
    b.bump(call('1', 'active')); // another instance wrote it meanwhile
    await assert.rejects(store.remove(call('1'), rev), Conflict);
    const fresh = await store.get('pbx1', '1', { recent: true });
    assert.equal(b.reads.get, 1);
    assert.equal(fresh?.state.phase, 'active');
    await assert.rejects(store.update(call('1'), rev), Conflict);
    await store.get('pbx1', '1', { recent: true });
    assert.equal(b.reads.get, 2);
  });

  it('knows a session it removed is gone, without a read; other sessions are read', async () => {
    const b = bucket();
    const store = withRecentWrites(b.store, isConflict);
    const rev = await store.create(call('1'));
    await store.remove(call('1'), rev);
    assert.equal(await store.getBySession(call('1').sessionId), undefined);
    assert.equal(b.reads.session, 0);
    assert.equal(await store.get('pbx1', '1', { recent: true }), undefined);
    assert.equal(b.reads.get, 1, 'removed: no copy left');
    await store.getBySession(call('2').sessionId);
    assert.equal(b.reads.session, 1);
  });

  it('keeps at most RECENT_CALLS copies, dropping the oldest', async () => {
    const b = bucket();
    const store = withRecentWrites(b.store, isConflict);
    for (let i = 0; i <= RECENT_CALLS; i++) await store.create(call(String(i)));
    await store.get('pbx1', String(RECENT_CALLS), { recent: true });
    assert.equal(b.reads.get, 0);
    await store.get('pbx1', '0', { recent: true });
    assert.equal(b.reads.get, 1, 'the oldest was dropped');
  });
});
