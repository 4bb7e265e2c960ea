// chan_websocket client mode against websocket-media/client-mode/*.json: the dial after the
// reply (its exact headers), MEDIA_START before Dial, v() params and their stickiness, a server
// down or refusing, and the silent server that holds up channel creation.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { AriSimulator } from './ari-simulator.js';
import { ari, channelOf, EventClient } from './harness.js';
import { bridge, clientParams, eventsOf, serverParams, sleep, TestMediaServer, until, waitForEvent } from './media-harness.js';

let media: TestMediaServer;
let refusing: TestMediaServer;
let downPort: number;
let sim: AriSimulator;
let client: EventClient;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

before(async () => {
  media = await TestMediaServer.start();
  refusing = await TestMediaServer.start();
  refusing.rejectStatus = 503;
  downPort = await closedPort();
  sim = await AriSimulator.start({
    websocketRetryMs: 100,
    websocketClients: {
      media_connection1: { uri: media.url },
      sticky: { uri: media.url },
      media_down: { uri: `ws://127.0.0.1:${downPort}/media` },
      media_refusing: { uri: refusing.url },
    },
  });
  client = await EventClient.connect(sim);
});
after(async () => {
  client.close();
  await sim.stop();
  await media.stop();
  await refusing.stop();
});

test('call-bridged: 200 first, then GET /media with the recorded headers, MEDIA_START before Dial, Stasis, audio', async () => {
  const call = sim.placeCall();
  await ari(sim, 'POST', `/channels/${call.channelId}/answer`);
  const channelId = randomUUID();
  const data = randomUUID();
  const upgrades = media.upgrades.length;
  const res = await ari(sim, 'POST', '/channels/externalMedia', clientParams('media_connection1', { channelId, data }));
  assert.equal(res.status, 200);
  const body = res.body as { name: string; state: string; channelvars: Record<string, string> };
  assert.match(body.name, /^WebSocket\/media_connection1\/0x[0-9a-f]+$/);
  assert.equal(body.state, 'Down');
  assert.deepEqual(body.channelvars, { MEDIA_WEBSOCKET_CONNECTION_ID: 'media_connection1', MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE: '640' });
  await until(() => media.clients.length > 0 && media.upgrades.length > upgrades, 'the upgrade');
  const seen = media.upgrades.at(-1);
  const replied = sim.requests.findLast((r) => r.path === '/ari/channels/externalMedia');
  assert.ok(seen !== undefined && replied !== undefined && replied.at <= seen.at, 'the reply precedes the dial');
  assert.equal(seen.url, '/media');
  const h = seen.rawHeaders;
  assert.deepEqual(h.filter((_, i) => i % 2 === 0), ['Sec-WebSocket-Version', 'Upgrade', 'Connection', 'Host', 'Sec-WebSocket-Protocol', 'Sec-WebSocket-Key']);
  assert.deepEqual(h.slice(0, 10).filter((_, i) => i % 2 === 1), ['13', 'websocket', 'Upgrade', `127.0.0.1:${media.port}`, 'media']);
  const key = Buffer.from(h[11] ?? '', 'base64');
  assert.equal(key.length, 16);
  assert.ok(key.subarray(4, 8).equals(Buffer.alloc(4)) && key.subarray(12).equals(Buffer.alloc(4)), 'Asterisk key pattern');

  const server = media.clients.at(-1);
  assert.ok(server !== undefined);
  assert.equal(
    await server.nextText(),
    `MEDIA_START connection_id:media_connection1 channel:${body.name} channel_id:${channelId} format:slin16 optimal_frame_size:640 ptime:20`,
  );
  await waitForEvent(client, (e) => e.type === 'StasisStart' && channelOf(e).id === channelId, 'StasisStart');
  const seq = eventsOf(client, channelId);
  assert.deepEqual(seq.map((e) => [e.type, e.dialstatus ?? e.variable ?? '']), [
    ['Dial', ''], ['ChannelStateChange', ''], ['Dial', 'ANSWER'], ['ChannelVarset', 'STASISSTATUS'], ['StasisStart', ''],
  ]);
  assert.equal(seq[0]?.dialstring, 'media_connection1');
  assert.deepEqual(seq[4]?.args, [data]);
  const record = sim.websocketMedia.get(channelId);
  const dialFrame = sim.sentFrames.find((f) => f.data.includes('"type":"Dial"') && f.data.includes(channelId));
  assert.ok(record?.connectedAt !== undefined && dialFrame !== undefined && record.connectedAt <= dialFrame.at, 'MEDIA_START precedes Dial');
  assert.deepEqual(record.dialedUrls, [media.url]);

  const bridgeId = randomUUID();
  await bridge(sim, bridgeId, [call.channelId, channelId]);
  await until(() => server.frames.length >= 5, 'frames');
  assert.ok(server.frames[0]?.data.equals(Buffer.alloc(640)));
  // Caller deleted: the media channel stays; media deleted: close 1000.
  assert.equal((await ari(sim, 'DELETE', `/channels/${call.channelId}`)).status, 204);
  await sleep(100);
  assert.equal(((await ari(sim, 'GET', `/channels/${channelId}`)).body as { state: string }).state, 'Up');
  assert.equal((await ari(sim, 'DELETE', `/channels/${channelId}`)).status, 204);
  assert.equal(await server.closed, 1000);
  await ari(sim, 'DELETE', `/bridges/${bridgeId}`);
});

test('uri-params-json-server-closes: f(json)v(...) -> ?call_id=abc123&lang=en, JSON MEDIA_START; server close 1000 -> 1001', async () => {
  const call = sim.placeCall();
  await ari(sim, 'POST', `/channels/${call.channelId}/answer`);
  const channelId = randomUUID();
  const params = clientParams('media_connection1', { channelId, data: 'd', transport_data: 'f(json)v(call_id=abc123,lang=en)' });
  delete params.connection_type;
  const before = media.clients.length;
  assert.equal((await ari(sim, 'POST', '/channels/externalMedia', params)).status, 200);
  await until(() => media.clients.length > before, 'the connection');
  assert.equal(media.upgrades.at(-1)?.url, '/media?call_id=abc123&lang=en');
  const server = media.clients.at(-1);
  assert.ok(server !== undefined);
  const start = JSON.parse(await server.nextText()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(start), ['event', 'connection_id', 'channel', 'channel_id', 'format', 'optimal_frame_size', 'ptime', 'channel_variables']);
  assert.deepEqual([start.event, start.connection_id, start.optimal_frame_size], ['MEDIA_START', 'media_connection1', 640]);
  assert.deepEqual(start.channel_variables, { MEDIA_WEBSOCKET_CONNECTION_ID: 'media_connection1', MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE: '640' });
  await waitForEvent(client, (e) => e.type === 'StasisStart' && channelOf(e).id === channelId, 'StasisStart');
  assert.equal(eventsOf(client, channelId)[0]?.dialstring, 'media_connection1/f(json)v(call_id=abc123,lang=en)');
  const bridgeId = randomUUID();
  await bridge(sim, bridgeId, [call.channelId, channelId]);
  const mark = client.events.length;
  server.ws.close(1000, 'done');
  assert.equal(await server.closed, 1001);
  await until(() => eventsOf(client, channelId, mark).length === 6, 'hangup events');
  const seq = eventsOf(client, channelId, mark);
  assert.deepEqual([seq[0]?.cause, seq[0]?.tech_cause, seq[5]?.cause, seq[5]?.tech_cause], [16, 1001, 16, 1001]);
  await ari(sim, 'DELETE', `/channels/${call.channelId}`);
  await ari(sim, 'DELETE', `/bridges/${bridgeId}`);
});

test('uri-params-sticky: v() params stay on the websocket_client until a new v() replaces them', async () => {
  const urls: string[] = [];
  for (const transportData of ['v(call_id=first)', '', 'v(other=2)']) {
    const channelId = randomUUID();
    const extra: Record<string, string> = transportData === '' ? {} : { transport_data: transportData };
    const before = media.clients.length;
    assert.equal((await ari(sim, 'POST', '/channels/externalMedia', clientParams('sticky', { channelId, ...extra }))).status, 200);
    await until(() => media.clients.length > before, 'the connection');
    urls.push(media.upgrades.at(-1)?.url ?? '');
    await waitForEvent(client, (e) => e.type === 'StasisStart' && channelOf(e).id === channelId, 'StasisStart');
    assert.equal((await ari(sim, 'DELETE', `/channels/${channelId}`)).status, 204);
  }
  assert.deepEqual(urls, ['/media?call_id=first', '/media?call_id=first', '/media?other=2']);
});

test('server-down and server-rejects-upgrade: 4 tries apart, then only ChannelDestroyed cause 3', async () => {
  for (const clientId of ['media_down', 'media_refusing']) {
    const channelId = randomUUID();
    const started = performance.now();
    const upgrades = refusing.upgrades.length;
    assert.equal((await ari(sim, 'POST', '/channels/externalMedia', clientParams(clientId, { channelId }))).status, 200);
    assert.equal(((await ari(sim, 'GET', `/channels/${channelId}`)).body as { state: string }).state, 'Down');
    const destroyed = await waitForEvent(client, (e) => e.type === 'ChannelDestroyed' && channelOf(e).id === channelId, 'ChannelDestroyed');
    assert.ok(performance.now() - started >= 3 * 100 - 10, 'three pauses between four tries');
    assert.deepEqual(eventsOf(client, channelId).map((e) => e.type), ['ChannelDestroyed']);
    assert.deepEqual([destroyed.cause, destroyed.cause_txt, channelOf(destroyed).state], [3, 'No route to destination', 'Down']);
    const record = sim.websocketMedia.get(channelId);
    assert.deepEqual([record?.dialedUrls.length, record?.endedBy], [4, 'connectFailed']);
    if (clientId === 'media_refusing') assert.equal(refusing.upgrades.length - upgrades, 4);
    assert.equal((await ari(sim, 'GET', `/channels/${channelId}`)).status, 404);
  }
});

test('client-mode externalMedia errors: unknown id, host:port, no host', async () => {
  const invalid = { message: 'external_host must be a valid websocket_client connection id.' };
  for (const host of ['no_such_connection', '127.0.0.1:8787']) {
    const res = await ari(sim, 'POST', '/channels/externalMedia', clientParams(host));
    assert.deepEqual([res.status, res.body], [400, invalid]);
  }
  const noHost = clientParams('x');
  delete noHost.external_host;
  const res = await ari(sim, 'POST', '/channels/externalMedia', noHost);
  assert.deepEqual([res.status, res.body], [400, { message: 'external_host is required for all but websocket server connections' }]);
});

test('server-silent: no handshake timeout; meanwhile externalMedia, new callers and DELETE of that channel wait', async () => {
  const held = new Set<Socket>();
  let closeNew = false;
  const silent = createServer((socket) => {
    socket.on('error', () => {});
    if (closeNew) setTimeout(() => socket.destroy(), 20);
    else held.add(socket);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as AddressInfo).port;
  const stalled = await AriSimulator.start({ websocketRetryMs: 100, websocketClients: { media_silent: { uri: `ws://127.0.0.1:${port}/media` } } });
  const events = await EventClient.connect(stalled);
  try {
    const stuckId = randomUUID();
    assert.equal((await ari(stalled, 'POST', '/channels/externalMedia', clientParams('media_silent', { channelId: stuckId }))).status, 200);
    await until(() => held.size === 1, 'the TCP connection');
    await sleep(200);
    assert.equal(stalled.mediaStalled(), true);
    assert.deepEqual([stalled.mediaStalls[0]?.channelId, stalled.mediaStalls[0]?.clientId, stalled.mediaStalls[0]?.endedAt], [stuckId, 'media_silent', undefined]);
    // GETs and bridges still answer.
    assert.equal(((await ari(stalled, 'GET', `/channels/${stuckId}`)).body as { state: string }).state, 'Down');
    assert.equal((await ari(stalled, 'POST', '/bridges', { type: 'mixing' })).status, 200);
    const done: string[] = [];
    const pendingMedia = ari(stalled, 'POST', '/channels/externalMedia', serverParams({ channelId: randomUUID() })).then((r) => {
      done.push('externalMedia');
      return r;
    });
    const pendingDelete = ari(stalled, 'DELETE', `/channels/${stuckId}`).then((r) => {
      done.push('delete');
      return r;
    });
    const call = stalled.placeCall();
    await sleep(400);
    assert.deepEqual(done, []);
    assert.equal(call.startedAt, 0);
    assert.equal(events.events.some((e) => e.type === 'StasisStart'), false);
    assert.equal(stalled.channels().length, 1);

    // The app closes the stuck connection and every new one: 3 more tries, cause 3, the rest proceed.
    closeNew = true;
    for (const socket of held) socket.destroy();
    assert.equal((await pendingMedia).status, 200);
    assert.equal((await pendingDelete).status, 404);
    const destroyed = await waitForEvent(events, (e) => e.type === 'ChannelDestroyed' && channelOf(e).id === stuckId, 'ChannelDestroyed');
    assert.equal(destroyed.cause, 3);
    await waitForEvent(events, (e) => e.type === 'StasisStart' && channelOf(e).id === call.channelId, 'the caller StasisStart');
    assert.equal(stalled.websocketMedia.get(stuckId)?.dialedUrls.length, 4);
    assert.equal(stalled.mediaStalled(), false);
    assert.ok(stalled.mediaStalls[0]?.endedAt !== undefined);
    assert.equal(stalled.crashes, 0);
  } finally {
    events.close();
    await stalled.stop();
    await new Promise<void>((r) => silent.close(() => r()));
  }
});
