// One socket per app (ApplicationReplaced), fault injection, and the load runner.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { AriSimulator } from './ari-simulator.js';
import { ari, AUTH, EventClient } from './harness.js';

let sim: AriSimulator;

before(async () => {
  sim = await AriSimulator.start();
});
after(async () => {
  await sim.stop();
});

test('a second WebSocket replaces the first, which then hears nothing', async () => {
  assert.throws(() => sim.placeCall({ app: 'other' }), /Stasis app 'other' not active/);
  const first = await EventClient.connect(sim, 'other');
  const second = await EventClient.connect(sim, 'other');
  await first.waitForCount(1);
  assert.deepEqual(Object.keys(first.events[0] ?? {}), ['type', 'timestamp', 'application', 'asterisk_id']);
  assert.equal(first.events[0]?.type, 'ApplicationReplaced');
  const call = sim.placeCall({ app: 'other' });
  await second.waitForCount(1);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(first.events.length, 1);
  assert.equal(first.ws.readyState, WebSocket.OPEN);
  assert.equal(sim.connections('other'), 2);
  sim.hangup(call.channelId);
  second.close();
  await sim.waitFor(() => sim.connections('other') === 1, 1000, 'close seen');
  assert.throws(() => sim.placeCall({ app: 'other' }));
  first.close();
});

test('failNext, latency, sendRaw, dropWebSockets, pongs', async () => {
  sim.failNext({ method: 'GET', path: /\/channels$/ }, { status: 503, body: { message: 'busy' }, delayMs: 20 }, 2);
  for (let i = 0; i < 2; i += 1) assert.deepEqual((await ari(sim, 'GET', '/channels')).status, 503);
  assert.equal((await ari(sim, 'GET', '/channels')).status, 200);
  sim.setLatency(50);
  const t0 = performance.now();
  await ari(sim, 'GET', '/bridges');
  assert.ok(performance.now() - t0 >= 45);
  sim.setLatency(0);

  const client = await EventClient.connect(sim);
  sim.sendRaw('ai_app', '{"type":"StasisStart"');
  const raw = await new Promise<string>((resolve) => client.ws.once('message', (d: Buffer) => resolve(d.toString())));
  assert.equal(raw, '{"type":"StasisStart"');

  sim.setPongs(false);
  client.ws.ping();
  let ponged = false;
  client.ws.once('pong', () => (ponged = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(ponged, false);
  sim.setPongs(true);
  const pong = new Promise((r) => client.ws.once('pong', r));
  client.ws.ping();
  await pong;

  const closed = new Promise<number>((resolve) => client.ws.once('close', (code: number) => resolve(code)));
  sim.dropWebSockets();
  assert.equal(await closed, 1006);
});

test('runLoad places, holds and ends calls', async () => {
  const client = await EventClient.connect(sim);
  const records = await sim.runLoad({ count: 20, rate: 200, holdMs: (i) => 10 + i });
  assert.equal(records.length, 20);
  assert.ok(records.every((r) => r.endedBy === 'caller' && r.endedAt !== undefined));
  await sim.waitFor(() => client.types().filter((t) => t === 'StasisEnd').length === 20, 1000, 'every StasisEnd delivered');
  assert.deepEqual(sim.channels(), []);
  client.close();
  const ws = new WebSocket(`${sim.wsUrl}?app=ai_app`, { headers: { authorization: AUTH } });
  await new Promise((r) => ws.once('open', r));
  ws.terminate();
});
