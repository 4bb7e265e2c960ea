/**
 * A command in flight when a NATS connection on its way drops (issue 10): its request or its
 * reply may be lost, and before, the controller waited its whole timeout (ARI_HTTP_TIMEOUT + 2 s,
 * 12 s by default) before the call machine tried again: a caller in silence for 12 s in a
 * cluster's rolling restart. The gateway now announces its reconnects, and a controller stops
 * waiting RECONNECT_GRACE_MS after its own reconnect or its gateway's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RECONNECT_GRACE_MS, createAriCommands } from '@avb/call-controller/dist/ari-commands.js';
import { announceReconnects } from '@avb/ari-gateway/dist/reconnect-notice.js';
import { GatewayReconnected, subjects } from '@avb/contracts';
import { createLogger } from '@avb/runtime';
import { connect, type NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from './harness/nats-server.js';
import { sleep, waitUntil } from './harness/util.js';

const APP = 'ai_app';
const TIMEOUT_MS = 8000;
const log = createLogger('test', 'silent');
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How a command ended and when (performance.now()). */
function watch(p: Promise<unknown>) {
  const w: { code?: string; at?: number } = {};
  p.then(() => (w.code = 'ok'), (err: { code?: string }) => (w.code = err.code ?? 'error')).finally(() => (w.at = performance.now()));
  return w;
}

describe('commands in flight when a NATS connection drops', () => {
  let server: NatsServer;
  let gateway: NatsConnection;
  let controller: NatsConnection;
  const swallowed: string[] = [];
  before(async () => {
    server = await startNatsServer({ jetstream: false });
    const options = { servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 };
    gateway = await connect(options);
    controller = await connect(options);
    // A gateway that takes every command and never answers: each is lost on its way.
    gateway.subscribe(subjects.ariCommands(APP, '*'), { callback: (_e, m) => void swallowed.push(m.subject) });
    announceReconnects(gateway, { app: APP, node: 'pbx1', instance: 'gw-1' }, (s, d) => gateway.publish(s, d), log);
    await gateway.flush();
  });
  after(async () => {
    await gateway?.close();
    await controller?.close();
    await server?.stop();
  });

  it('the gateway announces its reconnect, and what was in flight times out soon after, not at its timeout', async (t) => {
    const ari = createAriCommands(controller, APP, { timeoutMs: TIMEOUT_MS, noRespondersRetryMs: 0 });
    // Seen on the gateway's own connection: its subscriptions are back before what it publishes.
    const notices: unknown[] = [];
    const sub = gateway.subscribe(subjects.gatewayReconnected(APP), { callback: (_e, m) => void notices.push(JSON.parse(decoder.decode(m.data))) });
    t.after(() => sub.unsubscribe());
    const answer = watch(ari.send('pbx1', 'channels.answer', { channelId: 'c-1' }));
    await waitUntil(() => swallowed.length === 1, 2000, 'the command reached the gateway');

    await server.kill();
    await server.restart();
    const back = performance.now();
    await waitUntil(() => answer.code !== undefined, TIMEOUT_MS, 'the command settled');
    assert.equal(answer.code, 'timeout');
    const waited = answer.at! - back;
    assert.ok(waited < RECONNECT_GRACE_MS + 1500, `settled ${Math.round(waited)} ms after the server was back (timeout ${TIMEOUT_MS} ms)`);
    await waitUntil(() => notices.length > 0, 2000, 'the reconnect notice');
    const notice = GatewayReconnected.parse(notices[0]);
    assert.deepEqual({ ...notice, at: undefined }, { app: APP, node: 'pbx1', instance: 'gw-1', at: undefined });
  });

  it('a gateway\'s notice hurries only the commands for its node', async () => {
    const ari = createAriCommands(controller, APP, { timeoutMs: TIMEOUT_MS, noRespondersRetryMs: 0 });
    swallowed.length = 0;
    const mine = watch(ari.send('pbx1', 'channels.answer', { channelId: 'c-2' }));
    const other = watch(ari.send('pbx2', 'channels.answer', { channelId: 'c-3' }));
    await waitUntil(() => swallowed.length === 2, 2000, 'both commands reached the gateways');
    const notice: GatewayReconnected = { app: APP, node: 'pbx1', instance: 'gw-1', at: new Date().toISOString() };
    const sent = performance.now();
    gateway.publish(subjects.gatewayReconnected(APP, 'pbx1'), encoder.encode(JSON.stringify(notice)));
    // Garbage on the same subject changes nothing.
    gateway.publish(subjects.gatewayReconnected(APP, 'pbx2'), encoder.encode('{"node":'));
    await waitUntil(() => mine.code !== undefined, TIMEOUT_MS, 'the pbx1 command settled');
    assert.equal(mine.code, 'timeout');
    assert.ok(mine.at! - sent < RECONNECT_GRACE_MS + 1000, `pbx1 settled ${Math.round(mine.at! - sent)} ms after the notice`);
    assert.equal(other.code, undefined, 'the pbx2 command still waits for its reply');
    await sleep(100);
    assert.equal(other.code, undefined);
  });
});
