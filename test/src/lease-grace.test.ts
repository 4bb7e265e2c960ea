/**
 * The node lease through a NATS cluster's bad seconds (issue 10), on one real nats-server with
 * the bucket's answers held back: renewals that get no answer for longer than the TTL (a leader
 * being elected) keep the lease within GATEWAY_LEASE_GRACE_MS, the key that expired meanwhile is
 * taken back, a renewal stored whose answer was lost is adopted, and a standby takes nothing.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { startLease as startRealLease } from '@avb/ari-gateway/dist/gateway-lease.js';
import { createLogger } from '@avb/runtime';
import type { KV, NatsConnection } from 'nats';
import { natsForFile } from './harness/nats-server.js';
import { sleep, waitUntil } from './harness/util.js';

const log = createLogger('test', 'silent');
let nc: NatsConnection;
natsForFile((conn) => (nc = conn));

/** Every lease a test starts is stopped after it, passed or failed (a running lease keeps the file alive). */
const running: Array<{ stop(): Promise<void> }> = [];
const startLease: typeof startRealLease = (opts) => {
  const lease = startRealLease(opts);
  running.push(lease);
  return lease;
};
afterEach(async () => {
  await Promise.all(running.splice(0).map((l) => l.stop()));
});

const TTL_MS = 1000;
const unavailable = () => Object.assign(new Error('503'), { code: '503' });

/** The real bucket, but while `down()` every request fails as JetStream does with no leader. */
function flaky(kv: KV, down: () => boolean, hooks: { afterUpdate?: () => void } = {}): KV {
  return new Proxy(kv, {
    get(target, prop, receiver) {
      const real = Reflect.get(target, prop, receiver) as unknown;
      if (typeof real !== 'function' || !['get', 'create', 'update', 'delete'].includes(String(prop))) return real;
      return async (...args: unknown[]) => {
        if (down()) throw unavailable();
        const result = await (real as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (prop === 'update') hooks.afterUpdate?.();
        return result;
      };
    },
  }) as KV;
}

describe('gateway lease on a cluster', () => {
  it('keeps the lease through 2.5 s of unanswered renewals (TTL 1 s, grace 3 s) and takes the expired key back; the standby gets nothing', async () => {
    const kv = await nc.jetstream().views.kv('lease_grace', { history: 1, ttl: TTL_MS });
    let downUntil = 0;
    const down = () => Date.now() < downUntil;
    const lost: string[] = [];
    let acquired = 0;
    const active = startLease({ kv: flaky(kv, down), key: 'k', holder: 'a', ttlMs: TTL_MS, graceMs: 3000, onAcquired: () => (acquired += 1), onLost: (r) => lost.push(r), log });
    await waitUntil(() => active.held(), 5000, 'lease acquired');
    let standbyGot = false;
    const standby = startLease({ kv: flaky(kv, down), key: 'k', holder: 'b', ttlMs: TTL_MS, graceMs: 3000, onAcquired: () => (standbyGot = true), onLost: () => undefined, log });
    downUntil = Date.now() + 2500;
    await sleep(2500 + 1500);
    assert.deepEqual(lost, [], 'the lease was never given up');
    assert.equal(acquired, 1, 'acquired once, never again');
    assert.ok(active.held());
    assert.equal(standbyGot, false, 'the standby did not take the lease');
    assert.equal(new TextDecoder().decode((await kv.get('k'))!.value), 'a');
    await standby.stop();
    await active.stop();
  });

  it('gives the lease up once the grace is over, and at once to another holder found in the key', async () => {
    const kv = await nc.jetstream().views.kv('lease_grace2', { history: 1, ttl: TTL_MS });
    let isDown = false;
    const lost: string[] = [];
    const active = startLease({ kv: flaky(kv, () => isDown), key: 'k', holder: 'a', ttlMs: TTL_MS, graceMs: 500, onAcquired: () => undefined, onLost: (r) => lost.push(r), log });
    await waitUntil(() => active.held(), 5000, 'lease acquired');
    isDown = true;
    const downAt = Date.now();
    await waitUntil(() => lost.length === 1, 5000, 'lease given up');
    const afterMs = Date.now() - downAt;
    assert.ok(afterMs <= TTL_MS * 0.75 + 500 + 100, `given up ${afterMs} ms after renewals stopped being answered`);
    isDown = false;
    await waitUntil(() => active.held(), 5000, 'taken again');
    // Another gateway's name in the key (it took over while we were cut off): lost at once.
    await kv.put('k', new TextEncoder().encode('b'));
    await waitUntil(() => lost.length === 2, 3000, 'lease lost to the other holder');
    assert.equal(lost[1], 'another gateway holds the lease');
    await active.stop();
  });

  it('adopts a renewal that was stored although its answer was lost', async () => {
    const kv = await nc.jetstream().views.kv('lease_adopt', { history: 1, ttl: 3000 });
    let loseNextAnswer = false;
    const lost: string[] = [];
    const active = startLease({
      kv: flaky(kv, () => false, { afterUpdate: () => {
        if (!loseNextAnswer) return;
        loseNextAnswer = false;
        throw Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });
      } }),
      key: 'k', holder: 'a', ttlMs: 3000, graceMs: 0, onAcquired: () => undefined, onLost: (r) => lost.push(r), log,
    });
    await waitUntil(() => active.held(), 5000, 'lease acquired');
    loseNextAnswer = true;
    await sleep(3000);
    assert.deepEqual(lost, [], 'the lease was kept: its stale revision was replaced by the stored one');
    assert.ok(active.held());
    await active.stop();
  });
});
