/**
 * The shared call state on a real nats-server (issue 15): a create that loses leaves nothing
 * behind, and listing a node's calls sees every live call while other calls come and go.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { callStateKeys, type CallState } from '@avb/contracts';
import { CallStore } from '@avb/call-controller/dist/call-store.js';
import { connect, type NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from './harness/nats-server.js';
import { sleep } from './harness/util.js';

const BUCKET = 'avb_calls_store_test';
const encoder = new TextEncoder();

function callState(channelId: string, node = 'pbx1'): CallState {
  const sessionId = randomUUID();
  const now = new Date().toISOString();
  return {
    app: 'ai_app', node, channelId, sessionId, externalChannelId: sessionId, bridgeId: randomUUID(), phase: 'active',
    owner: 'test', callerNumber: '', callerName: '', startedAt: now, updatedAt: now,
  };
}

describe('call state store', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  let store: CallStore;
  before(async () => {
    nats = await startNatsServer({ jetstream: true });
    nc = await connect({ servers: nats.url });
    store = await CallStore.open(nc.jetstream(), await nc.jetstreamManager(), BUCKET, 3600);
  });
  after(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('a create that loses (the call key exists) leaves no session pointer behind (defect 2)', async () => {
    const first = callState('1795000001.1');
    await store.create(first);
    const second = { ...callState('1795000001.1'), channelId: first.channelId };
    await assert.rejects(store.create(second), /wrong last sequence|key exists/i);
    const kv = await nc.jetstream().views.kv(BUCKET);
    assert.equal(await kv.get(callStateKeys.session(second.sessionId)), null, 'no pointer for the loser');
  });

  it('a call created under the same key while the previous one is being removed survives the removal (re-entry)', async () => {
    // The real manager, with purges held until released: the next call's create lands in between.
    const realJsm = await nc.jetstreamManager();
    let release: (() => void) | undefined;
    const held = new Promise<void>((r) => (release = r));
    const jsm = new Proxy(realJsm, {
      get(target, prop, receiver) {
        if (prop !== 'streams') return Reflect.get(target, prop, receiver);
        const streams = target.streams;
        return new Proxy(streams, {
          get(t, p, r) {
            if (p !== 'purge') return Reflect.get(t, p, r);
            return async (...args: Parameters<typeof streams.purge>) => {
              await held;
              return t.purge(...args);
            };
          },
        });
      },
    });
    const slowStore = await CallStore.open(nc.jetstream(), jsm, BUCKET, 3600);
    const first = callState('1795000002.1');
    const revision = await slowStore.create(first);
    const removing = slowStore.remove(first, revision);
    const kv = await nc.jetstream().views.kv(BUCKET);
    const key = callStateKeys.call(first.node, first.channelId);
    for (let i = 0; i < 200 && (await kv.get(key))?.operation !== 'DEL'; i++) await sleep(5);
    const next = { ...callState(first.channelId), channelId: first.channelId };
    await slowStore.create(next);
    release!();
    await removing;
    assert.equal((await slowStore.get(first.node, first.channelId))?.state.sessionId, next.sessionId, 'the next call is still there');
  });

  it('lists every live call of a node while other calls come and go (defect 8: 0 of 40 seen)', async (t) => {
    const kv = await nc.jetstream().views.kv(BUCKET);
    const live = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const s = callState(`1795100000.${i}`, 'churn');
      await kv.create(callStateKeys.call(s.node, s.channelId), encoder.encode(JSON.stringify(s)));
      live.add(s.channelId);
    }
    // Short calls churning on the same node, as in the product: created, then deleted and purged.
    let churning = true;
    const churn = (async () => {
      const jsm = await nc.jetstreamManager();
      for (let i = 0; churning; i++) {
        const s = callState(`1795200000.${i}`, 'churn');
        const key = callStateKeys.call(s.node, s.channelId);
        const rev = await kv.create(key, encoder.encode(JSON.stringify(s)));
        await sleep(12);
        await kv.delete(key, { previousSeq: rev });
        await jsm.streams.purge(`KV_${BUCKET}`, { filter: `$KV.${BUCKET}.${key}` });
      }
    })();
    const misses: number[] = [];
    const lists = 150;
    try {
      for (let i = 0; i < lists; i++) {
        const seen = new Set((await store.list('churn')).map((c) => c.state.channelId));
        const missing = [...live].filter((id) => !seen.has(id)).length;
        if (missing > 0) misses.push(missing);
      }
    } finally {
      churning = false;
      await churn;
    }
    t.diagnostic(`${lists} lists of 40 live calls under churn: ${misses.length} missed some (${misses.join(', ') || 'none'})`);
    assert.deepEqual(misses, [], 'every list saw all 40 live calls');
  });
});
