/**
 * The controller's durable consumption on a real nats-server (issue 15, defect 5): a stop that
 * lands while the consumption is being started again leaves no consumption open.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureCallConsumers, createLogger } from '@avb/runtime';
import { consumeCallEvents } from '@avb/call-controller/dist/durable-events.js';
import { connect, type NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from './harness/nats-server.js';
import { sleep, waitUntil } from './harness/util.js';

const log = createLogger('test', 'silent');

describe('durable event consumption', () => {
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

  it('stop() during a restart of the consumption leaves nothing pulling (defect 5)', async () => {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'EV_TEST', subjects: ['ari.event.>'] });
    const opts = { stream: 'EV_TEST', app: 'app5', ackWaitMs: 5000, update: true };
    await ensureCallConsumers(jsm, opts);
    let recreating: (() => void) | undefined;
    let recreateCalls = 0;
    let decoded = 0;
    const events = await consumeCallEvents(nc.jetstream(), {
      stream: 'EV_TEST',
      app: 'app5',
      decode: () => {
        decoded += 1;
        return undefined;
      },
      handlers: { onStasisStart: () => undefined, onStasisEnd: () => undefined },
      // Held until released: the stop below lands while the consumption is being made again.
      recreate: async () => {
        recreateCalls += 1;
        await new Promise<void>((r) => (recreating = r));
        await ensureCallConsumers(jsm, opts);
      },
      log,
    });
    const waiting = async () => (await jsm.consumers.info('EV_TEST', 'call-controller_app5_StasisStart').catch(() => undefined))?.num_waiting ?? 0;
    await waitUntil(async () => (await waiting()) > 0, 5000, 'pulling');
    await jsm.consumers.delete('EV_TEST', 'call-controller_app5_StasisStart');
    await waitUntil(() => recreating !== undefined, 10_000, 'consumption being started again');
    // stop() first hands new callers back for a moment, then stops the consumption: the
    // restart goes on only once that has happened.
    await events.stop();
    recreating!();
    await sleep(1000);
    // An event stored now must reach no one: nothing consumes after stop().
    await nc.jetstream().publish('ari.event.app5.n1.StasisStart', new TextEncoder().encode('{}'));
    await sleep(1500);
    assert.equal(recreateCalls, 1);
    assert.equal(decoded, 0, 'an event was consumed after stop()');
    assert.equal(await waiting(), 0, 'no pull request left open after stop()');
  });
});
