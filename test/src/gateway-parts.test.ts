/**
 * The gateway's JetStream parts on a real nats-server (issue 15): the node lease released on
 * stop while a renewal is in flight, and the stream publisher's accounting and retries.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLease } from '@avb/ari-gateway/dist/gateway-lease.js';
import { createStreamPublisher } from '@avb/ari-gateway/dist/stream-publisher.js';
import { createLogger } from '@avb/runtime';
import { connect, type KV, type NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from './harness/nats-server.js';
import { sleep, waitUntil } from './harness/util.js';

const log = createLogger('test', 'silent');
const encoder = new TextEncoder();

describe('gateway lease and stream publisher', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  before(async () => {
    nats = await startNatsServer({ jetstream: true });
    nc = await connect({ servers: nats.url });
  });
  after(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('stopping during a renewal releases the lease at once: the standby does not wait a TTL (defect 4)', async () => {
    const ttlMs = 3000;
    const kv = await nc.jetstream().views.kv('leases_test', { history: 1, ttl: ttlMs });
    // The real bucket, with renewals held up for a while: a stop lands while one is in flight.
    let renewing: (() => void) | undefined;
    const slow = new Proxy(kv, {
      get(target, prop, receiver) {
        if (prop !== 'update') return Reflect.get(target, prop, receiver);
        return async (...args: Parameters<KV['update']>) => {
          const rev = await target.update(...args);
          await new Promise<void>((r) => {
            renewing = r;
            setTimeout(r, 400);
          });
          return rev;
        };
      },
    }) as KV;
    let acquired = false;
    const active = startLease({ kv: slow, key: 'app.node', holder: 'a', ttlMs, onAcquired: () => (acquired = true), onLost: () => undefined, log });
    await waitUntil(() => acquired && renewing !== undefined, 5000, 'a renewal in flight');
    await active.stop();
    let standbyAt = 0;
    const stoppedAt = Date.now();
    const standby = startLease({ kv, key: 'app.node', holder: 'b', ttlMs, onAcquired: () => (standbyAt = Date.now()), onLost: () => undefined, log });
    await waitUntil(() => standbyAt > 0, 5000, 'standby took the lease');
    await standby.stop();
    assert.ok(standbyAt - stoppedAt < 1000, `standby took over ${standbyAt - stoppedAt} ms after the stop (TTL ${ttlMs} ms)`);
  });

  it('counts a missing ack under steady traffic, and publishes it again until the stream stores it (defects 6, 9)', async (t) => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'PUB_STORED', subjects: ['ari.event.app.stored.>'] });
    // Someone listens where no stream stores (yet): JetStream publishes there get no answer at all.
    const listener = nc.subscribe('ari.event.app.late.>');
    let failures = 0;
    const publisher = createStreamPublisher(nc, 'n1', (s, d, o) => nc.publish(s, d, o), () => (failures += 1), { ackTimeoutMs: 500, retryForMs: 20_000 });
    const steady = setInterval(() => publisher.publish('ari.event.app.stored.StasisStart', encoder.encode(`{"n":${Date.now()}${Math.random()}}`)), 20);
    try {
      publisher.publish('ari.event.app.late.StasisStart', encoder.encode('{"late":1}'));
      await sleep(1500);
      const c = publisher.counters();
      assert.ok(c.failed >= 1, `the missing ack was counted (failed ${c.failed}, stored ${c.stored})`);
      // The stream comes (back): the event is stored once, however many times it was sent.
      await jsm.streams.add({ name: 'PUB_LATE', subjects: ['ari.event.app.late.>'] });
      await waitUntil(async () => (await jsm.streams.info('PUB_LATE')).state.messages === 1, 10_000, 'stored after a retry');
      await sleep(1000);
      assert.equal((await jsm.streams.info('PUB_LATE')).state.messages, 1, 'stored once');
      t.diagnostic(`counters: ${JSON.stringify(publisher.counters())}, onFailed calls ${failures}`);
    } finally {
      clearInterval(steady);
      listener.unsubscribe();
    }
    await sleep(600);
    const c = publisher.counters();
    // Every acked publish was either stored, a duplicate, or is still waiting: no drift.
    assert.equal(c.lost, 0);
    assert.ok(c.stored >= c.published - 2, `stored ${c.stored} of ${c.published}`);
    publisher.stop();
  });
});
