// chan_websocket externalMedia validation against externalMedia-errors.json, and the requests
// that crash 22.10.1 (crash-*.json): the simulator resets everything and counts them.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { AriSimulator } from './ari-simulator.js';
import { ari, channelOf, EventClient } from './harness.js';
import { eventsOf, serverParams, until, waitForEvent } from './media-harness.js';

let sim: AriSimulator;

before(async () => {
  sim = await AriSimulator.start({ websocketClients: { media_connection1: { uri: 'ws://127.0.0.1:9/media' } } });
});
after(async () => {
  await sim.stop();
});

const INTERNAL = { message: 'An internal error prevented this request from being handled' };

test('externalMedia-errors: the websocket checks and their bodies', async () => {
  const client = await EventClient.connect(sim);
  const base = serverParams();
  const without = (key: string) => Object.fromEntries(Object.entries(base).filter(([k]) => k !== key));
  const cases: Array<[Record<string, string>, number, unknown]> = [
    [{ ...base, encapsulation: 'rtp' }, 400, { message: "encapsulation must be 'none' for websocket transport" }],
    [without('encapsulation'), 400, { message: "encapsulation must be 'none' for websocket transport" }],
    [
      { app: 'ai_app', transport: 'udp', encapsulation: 'rtp', connection_type: 'server', external_host: '127.0.0.1:7575', format: 'slin16' },
      400,
      { message: "'server' connection_type can only be used with the websocket transport" },
    ],
    [{ ...without('external_host'), connection_type: 'client' }, 400, { message: 'external_host is required for all but websocket server connections' }],
    [{ ...base, connection_type: 'client', external_host: 'no_such_connection' }, 400, { message: 'external_host must be a valid websocket_client connection id.' }],
    [without('format'), 400, { message: 'format cannot be empty' }],
    [{ ...base, format: 'nosuchcodec' }, 500, INTERNAL],
    [{ ...base, direction: 'sideways' }, 400, { message: 'Invalid direction specified' }],
    [{ ...base, transport_data: 'v(a=b)' }, 500, INTERNAL],
    [without('app'), 400, { message: 'app cannot be empty' }],
  ];
  for (const [query, status, body] of cases) {
    const res = await ari(sim, 'POST', '/channels/externalMedia', query);
    assert.deepEqual([res.status, res.body], [status, body], JSON.stringify(query));
  }
  assert.deepEqual(sim.channels(), []);

  // external_host may be left out in server mode; direction=out adds /d(out); ulaw frames are 160 bytes.
  const noHost = randomUUID();
  const res = await ari(sim, 'POST', '/channels/externalMedia', { ...without('external_host'), channelId: noHost });
  assert.equal(res.status, 200);
  assert.match((res.body as { name: string }).name, /^WebSocket\/INCOMING\/0x/);
  const out = randomUUID();
  const ulaw = await ari(sim, 'POST', '/channels/externalMedia', { ...base, format: 'ulaw', channelId: out, direction: 'out' });
  assert.equal((ulaw.body as { channelvars: Record<string, string> }).channelvars.MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE, '160');
  for (const id of [noHost, out]) assert.equal((await ari(sim, 'DELETE', `/channels/${id}`)).status, 204);
  await until(() => eventsOf(client, out).length === 4, 'the DELETE events');
  assert.deepEqual(eventsOf(client, out).map((e) => [e.type, e.dialstring ?? '']), [
    ['Dial', 'INCOMING/d(out)'], ['ChannelHangupRequest', ''], ['Dial', 'INCOMING/d(out)'], ['ChannelDestroyed', ''],
  ]);
  assert.equal(sim.crashes, 0);
  client.close();
});

test('crash traps: a channelId in use (a media channel or the caller) and f(xml) reset the request and close the event socket', async () => {
  const traps: Array<(callerId: string, mediaId: string) => Record<string, string>> = [
    (_caller, mediaId) => serverParams({ channelId: mediaId, data: randomUUID() }),
    (callerId) => serverParams({ channelId: callerId, data: randomUUID() }),
    () => serverParams({ channelId: randomUUID(), transport_data: 'f(xml)' }),
  ];
  for (const [i, trap] of traps.entries()) {
    const client = await EventClient.connect(sim);
    const closed = new Promise((r) => client.ws.once('close', r));
    const call = sim.placeCall();
    await waitForEvent(client, (e) => e.type === 'StasisStart' && channelOf(e).id === call.channelId, 'caller StasisStart');
    const mediaId = randomUUID();
    assert.equal((await ari(sim, 'POST', '/channels/externalMedia', serverParams({ channelId: mediaId }))).status, 200);
    await assert.rejects(ari(sim, 'POST', '/channels/externalMedia', trap(call.channelId, mediaId)));
    await closed;
    assert.equal(sim.crashes, i + 1);
    assert.deepEqual([sim.channels(), sim.bridges()], [[], []]);
    assert.equal(sim.calls.get(call.channelId)?.endedBy, 'crash');
    assert.equal(sim.websocketMedia.get(mediaId)?.endedBy, 'crash');
    assert.equal(sim.requests.at(-1)?.status, 500);
    // The simulated Asterisk comes straight back, empty.
    assert.equal((await ari(sim, 'GET', '/asterisk/info')).status, 200);
  }
  assert.match(sim.crashLog[0]?.reason ?? '', /already in use/);
  assert.match(sim.crashLog[2]?.reason ?? '', /f\(xml\)/);
});
