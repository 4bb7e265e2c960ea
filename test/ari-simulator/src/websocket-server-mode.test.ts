// chan_websocket server mode against websocket-media/server-mode/*.json: the reply, the
// /media/<id> endpoint and its refusals, MEDIA_START, audio frames, every hangup order, the timeout.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { AriSimulator } from './ari-simulator.js';
import { ari, channelOf, EventClient, type Ev } from './harness.js';
import { bridge, connectedServerCall, eventsOf, MediaClient, serverParams, sleep, tryUpgrade, until, waitForEvent } from './media-harness.js';

let sim: AriSimulator;
let client: EventClient;

before(async () => {
  sim = await AriSimulator.start();
  client = await EventClient.connect(sim);
});
after(async () => {
  client.close();
  await sim.stop();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const APP_DIAL = { context: 'default', exten: 's', priority: 1, app_name: 'AppDial2', app_data: '(Outgoing Line)' };
const EVENT_TAIL = ['asterisk_id', 'application'];

function dialplanOf(e: Ev): Record<string, unknown> {
  return (channelOf(e) ?? e.peer).dialplan as Record<string, unknown>;
}

test('reply Down with the MEDIA_WEBSOCKET_* vars, only Dial until the media server connects, then MEDIA_START and Stasis', async () => {
  const call = sim.placeCall();
  await ari(sim, 'POST', `/channels/${call.channelId}/answer`);
  const channelId = randomUUID();
  const data = randomUUID();
  const res = await ari(sim, 'POST', '/channels/externalMedia', serverParams({ channelId, data }));
  assert.equal(res.status, 200);
  const body = res.body as Record<string, unknown> & { channelvars: Record<string, string> };
  assert.deepEqual(Object.keys(body), [
    'id', 'name', 'state', 'protocol_id', 'caller', 'connected', 'accountcode', 'dialplan', 'creationtime', 'language', 'channelvars',
  ]);
  assert.match(String(body.name), /^WebSocket\/INCOMING\/0x[0-9a-f]+$/);
  assert.equal(body.state, 'Down');
  assert.deepEqual(body.dialplan, APP_DIAL);
  assert.deepEqual(Object.keys(body.channelvars), ['MEDIA_WEBSOCKET_CONNECTION_ID', 'MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE']);
  const connectionId = body.channelvars.MEDIA_WEBSOCKET_CONNECTION_ID as string;
  assert.match(connectionId, UUID);
  assert.notEqual(connectionId, channelId);
  assert.notEqual(connectionId, data);
  assert.equal(body.channelvars.MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE, '640');

  await sleep(100);
  const waiting = eventsOf(client, channelId);
  assert.deepEqual(waiting.map((e) => e.type), ['Dial']);
  const dial = waiting[0] as Ev;
  assert.deepEqual(Object.keys(dial), ['type', 'timestamp', 'dialstatus', 'forward', 'dialstring', 'peer', ...EVENT_TAIL]);
  assert.deepEqual([dial.dialstatus, dial.forward, dial.dialstring], ['', '', 'INCOMING']);
  const got = (await ari(sim, 'GET', `/channels/${channelId}`)).body as Record<string, unknown>;
  assert.equal(got.state, 'Down');
  assert.equal('channelvars' in got, false);

  const media = await MediaClient.connect(sim.mediaUrl(connectionId));
  assert.equal(media.ws.protocol, 'media');
  const start = await media.nextText();
  assert.equal(
    start,
    `MEDIA_START connection_id:${connectionId} channel:${String(body.name)} channel_id:${channelId} format:slin16 optimal_frame_size:640 ptime:20`,
  );
  await waitForEvent(client, (e) => e.type === 'StasisStart' && channelOf(e).id === channelId, 'StasisStart');
  const seq = eventsOf(client, channelId);
  assert.deepEqual(seq.map((e) => e.type), ['Dial', 'ChannelStateChange', 'Dial', 'ChannelVarset', 'StasisStart']);
  const [, up, answer, varset, stasis] = seq as [Ev, Ev, Ev, Ev, Ev];
  assert.deepEqual([channelOf(up).state, dialplanOf(up)], ['Up', APP_DIAL]);
  assert.deepEqual([answer.dialstatus, (answer.peer as { state: string }).state], ['ANSWER', 'Up']);
  assert.deepEqual(Object.keys(varset).slice(0, 3), ['variable', 'value', 'type']);
  assert.deepEqual([varset.variable, varset.value, dialplanOf(varset).app_data], ['STASISSTATUS', '', `ai_app,${data}`]);
  assert.deepEqual(stasis.args, [data]);
  assert.deepEqual(dialplanOf(stasis), { ...APP_DIAL, app_name: 'Stasis', app_data: `ai_app,${data}` });

  // Nothing is sent before bridging; bridged, 640-byte frames at 50/s, the first all zeros.
  await sleep(150);
  assert.equal(media.frames.length, 0);
  await bridge(sim, randomUUID(), [call.channelId, channelId]);
  await until(() => media.frames.length >= 5, 'first frames');
  const t0 = performance.now();
  const n0 = media.frames.length;
  await sleep(1000);
  const rate = ((media.frames.length - n0) * 1000) / (performance.now() - t0);
  assert.ok(rate > 45 && rate < 55, `rate ${rate}`);
  assert.ok(media.frames.every((f) => f.data.length === 640));
  assert.ok(media.frames[0]?.data.equals(Buffer.alloc(640)));
  assert.ok(!media.frames[1]?.data.equals(Buffer.alloc(640)));
  for (let i = 0; i < 5; i += 1) media.send(Buffer.alloc(640, i + 1));
  const record = sim.websocketMedia.get(channelId);
  await until(() => record?.framesReceived === 5, 'frames from the media server counted');
  assert.equal(record?.bytesReceived, 3200);
  assert.equal(record?.mode, 'server');
  assert.equal(record?.textSent[0], start);

  // hangup-c: DELETE 204, the usual events, then close 1000.
  const mark = client.events.length;
  assert.equal((await ari(sim, 'DELETE', `/channels/${channelId}`)).status, 204);
  assert.equal(await media.closed, 1000);
  await until(() => eventsOf(client, channelId, mark).length === 6, 'teardown events');
  const teardown = eventsOf(client, channelId, mark);
  assert.deepEqual(teardown.map((e) => e.type), [
    'ChannelHangupRequest', 'ChannelVarset', 'ChannelLeftBridge', 'StasisEnd', 'ChannelVarset', 'ChannelDestroyed',
  ]);
  assert.deepEqual([teardown[0]?.cause, teardown[0]?.soft, teardown[4]?.value], [32, true, 'SUCCESS']);
  const destroyed = teardown[5] as Ev;
  assert.deepEqual(Object.keys(destroyed), ['type', 'timestamp', 'cause', 'cause_txt', 'channel', ...EVENT_TAIL]);
  assert.deepEqual([destroyed.cause, destroyed.cause_txt, dialplanOf(destroyed)], [16, 'Normal Clearing', APP_DIAL]);
  assert.deepEqual([record?.endedBy, record?.closeCodeSent], ['app', 1000]);
  await ari(sim, 'DELETE', `/channels/${call.channelId}`);
});

test('ws-connect-errors: unknown or empty id 404, subprotocol foo 400, none accepted, a second connection 409', async () => {
  const res = await ari(sim, 'POST', '/channels/externalMedia', serverParams({ data: 'x' }));
  const { id, channelvars } = res.body as { id: string; channelvars: Record<string, string> };
  const url = sim.mediaUrl(channelvars.MEDIA_WEBSOCKET_CONNECTION_ID as string);
  const unknown = await tryUpgrade(sim.mediaUrl(randomUUID()), 'media');
  assert.deepEqual([unknown.status, unknown.headers['content-type'], unknown.headers['content-length']], [404, 'text/html', '229']);
  assert.match(unknown.body, /<p>WebSocket instance not found<\/p>/);
  assert.equal((await tryUpgrade(sim.mediaUrl(''), 'media')).status, 404);
  const foo = await tryUpgrade(url, 'foo');
  assert.deepEqual([foo.status, foo.body, foo.headers['sec-websocket-version']], [400, '', '7, 8, 13']);
  const media = await MediaClient.connect(url, null);
  assert.equal(media.ws.protocol, '');
  await media.nextText((t) => t.startsWith('MEDIA_START'));
  const second = await tryUpgrade(url, 'media');
  assert.deepEqual([second.status, second.headers['content-length']], [409, '257']);
  assert.match(second.body, /Another websocket connection exists for this connection id/);
  // Unbridged, the media server closing: cause 16 / tech 1001, then ChannelDestroyed cause 0 "Unknown".
  await waitForEvent(client, (e) => e.type === 'StasisStart' && channelOf(e).id === id, 'StasisStart');
  const mark = client.events.length;
  media.ws.close();
  assert.equal(await media.closed, 1001);
  await until(() => eventsOf(client, id, mark).length === 4, 'hangup events');
  const seq = eventsOf(client, id, mark);
  assert.deepEqual(seq.map((e) => e.type), ['ChannelHangupRequest', 'StasisEnd', 'ChannelVarset', 'ChannelDestroyed']);
  assert.deepEqual([seq[0]?.cause, seq[0]?.tech_cause], [16, 1001]);
  assert.deepEqual([seq[3]?.cause, seq[3]?.cause_txt, seq[3]?.tech_cause], [0, 'Unknown', 1001]);
});

test('hangup-a: the caller deleted or hung up leaves the media channel Up in the bridge, its socket open, until DELETE', async () => {
  for (const how of ['deleted', 'far end'] as const) {
    const { callerId, mediaId, media } = await connectedServerCall(sim, client);
    const bridgeId = randomUUID();
    await bridge(sim, bridgeId, [callerId, mediaId]);
    await until(() => media.frames.length >= 3, 'frames while bridged');
    if (how === 'deleted') assert.equal((await ari(sim, 'DELETE', `/channels/${callerId}`)).status, 204);
    else sim.hangup(callerId);
    await waitForEvent(client, (e) => e.type === 'StasisEnd' && channelOf(e).id === callerId, 'caller StasisEnd');
    await sleep(60);
    const frames = media.frames.length;
    await sleep(200);
    assert.equal(media.frames.length, frames, 'no frames once the caller has left');
    assert.equal(((await ari(sim, 'GET', `/channels/${mediaId}`)).body as { state: string }).state, 'Up');
    assert.deepEqual(((await ari(sim, 'GET', `/bridges/${bridgeId}`)).body as { channels: string[] }).channels, [mediaId]);
    media.send('GET_STATUS');
    assert.equal(
      await media.nextText((t) => t.startsWith('STATUS')),
      `STATUS channel_id:${mediaId} queue_length:0 xon_level:800 xoff_level:900 queue_full:false bulk_media:false media_paused:false`,
    );
    assert.equal(media.closeCode, undefined);
    assert.equal((await ari(sim, 'DELETE', `/channels/${mediaId}`)).status, 204);
    assert.equal(await media.closed, 1000);
    await ari(sim, 'DELETE', `/bridges/${bridgeId}`);
  }
});

test('hangup-b: the media server closes (1000): hangup with tech_cause 1001, answered with close 1001', async () => {
  const { callerId, mediaId, media } = await connectedServerCall(sim, client);
  const bridgeId = randomUUID();
  await bridge(sim, bridgeId, [callerId, mediaId]);
  const mark = client.events.length;
  media.ws.close(1000, 'bye');
  assert.equal(await media.closed, 1001);
  await until(() => eventsOf(client, mediaId, mark).length === 6, 'hangup events');
  const seq = eventsOf(client, mediaId, mark);
  assert.deepEqual(seq.map((e) => e.type), [
    'ChannelHangupRequest', 'ChannelVarset', 'ChannelLeftBridge', 'StasisEnd', 'ChannelVarset', 'ChannelDestroyed',
  ]);
  const [hangup, , , , status, destroyed] = seq as [Ev, Ev, Ev, Ev, Ev, Ev];
  assert.deepEqual(Object.keys(hangup), ['cause', 'tech_cause', 'type', 'timestamp', 'channel', ...EVENT_TAIL]);
  assert.deepEqual([hangup.cause, hangup.tech_cause, status.value], [16, 1001, 'SUCCESS']);
  assert.deepEqual(Object.keys(destroyed), ['type', 'timestamp', 'cause', 'cause_txt', 'tech_cause', 'channel', ...EVENT_TAIL]);
  assert.deepEqual([destroyed.cause, destroyed.cause_txt, destroyed.tech_cause], [16, 'Normal Clearing', 1001]);
  assert.equal((await ari(sim, 'GET', `/channels/${mediaId}`)).status, 404);
  assert.deepEqual(((await ari(sim, 'GET', `/bridges/${bridgeId}`)).body as { channels: string[] }).channels, [callerId]);
  const record = sim.websocketMedia.get(mediaId);
  assert.deepEqual([record?.endedBy, record?.closeCodeReceived, record?.closeCodeSent], ['mediaClosed', 1000, 1001]);
  await ari(sim, 'DELETE', `/channels/${callerId}`);
  await ari(sim, 'DELETE', `/bridges/${bridgeId}`);
});

test('hangup-b2: the media server TCP connection drops: cause 38 "Network out of order"', async () => {
  const { callerId, mediaId, media } = await connectedServerCall(sim, client);
  const bridgeId = randomUUID();
  await bridge(sim, bridgeId, [callerId, mediaId]);
  const mark = client.events.length;
  media.ws.terminate();
  await until(() => eventsOf(client, mediaId, mark).length === 6, 'hangup events');
  const seq = eventsOf(client, mediaId, mark);
  assert.deepEqual([seq[0]?.type, seq[0]?.cause, seq[0]?.tech_cause], ['ChannelHangupRequest', 38, 1001]);
  assert.deepEqual([seq[5]?.type, seq[5]?.cause, seq[5]?.cause_txt, seq[5]?.tech_cause], ['ChannelDestroyed', 38, 'Network out of order', 1001]);
  assert.equal(sim.websocketMedia.get(mediaId)?.endedBy, 'mediaDropped');
  await ari(sim, 'DELETE', `/channels/${callerId}`);
  await ari(sim, 'DELETE', `/bridges/${bridgeId}`);
});

test('DELETE before the media server connects: Dial "", hangup, Dial NOANSWER, ChannelDestroyed; the id is gone', async () => {
  const channelId = randomUUID();
  const res = await ari(sim, 'POST', '/channels/externalMedia', serverParams({ channelId }));
  const connectionId = (res.body as { channelvars: Record<string, string> }).channelvars.MEDIA_WEBSOCKET_CONNECTION_ID as string;
  assert.equal((await ari(sim, 'DELETE', `/channels/${channelId}`)).status, 204);
  await until(() => eventsOf(client, channelId).length === 4, 'events');
  const seq = eventsOf(client, channelId);
  assert.deepEqual(seq.map((e) => [e.type, e.dialstatus ?? e.cause]), [['Dial', ''], ['ChannelHangupRequest', 32], ['Dial', 'NOANSWER'], ['ChannelDestroyed', 16]]);
  assert.equal(seq[3]?.cause_txt, 'Normal Clearing');
  assert.equal((await tryUpgrade(sim.mediaUrl(connectionId), 'media')).status, 404);
});

test('no-auto-answer (transport_data=n): MEDIA_START, then Down until ANSWER; ANSWER when Up does nothing', async () => {
  const channelId = randomUUID();
  const res = await ari(sim, 'POST', '/channels/externalMedia', serverParams({ channelId, data: 'd', transport_data: 'n' }));
  const connectionId = (res.body as { channelvars: Record<string, string> }).channelvars.MEDIA_WEBSOCKET_CONNECTION_ID as string;
  const media = await MediaClient.connect(sim.mediaUrl(connectionId));
  await media.nextText((t) => t.startsWith('MEDIA_START'));
  await sleep(150);
  assert.deepEqual(eventsOf(client, channelId).map((e) => [e.type, e.dialstring]), [['Dial', 'INCOMING/n']]);
  assert.equal(((await ari(sim, 'GET', `/channels/${channelId}`)).body as { state: string }).state, 'Down');
  media.send('ANSWER');
  await waitForEvent(client, (e) => e.type === 'StasisStart' && channelOf(e).id === channelId, 'StasisStart');
  assert.deepEqual(eventsOf(client, channelId).map((e) => e.type), ['Dial', 'ChannelStateChange', 'Dial', 'ChannelVarset', 'StasisStart']);
  media.send('ANSWER');
  await sleep(100);
  assert.equal(eventsOf(client, channelId).length, 5);
  assert.equal(media.texts.length, 1);
  const mark = client.events.length;
  assert.equal((await ari(sim, 'DELETE', `/channels/${channelId}`)).status, 204);
  assert.equal(await media.closed, 1000);
  await until(() => eventsOf(client, channelId, mark).length === 4, 'teardown');
  assert.deepEqual(eventsOf(client, channelId, mark).map((e) => e.type), ['ChannelHangupRequest', 'StasisEnd', 'ChannelVarset', 'ChannelDestroyed']);
});

test('no-connect-timeout: nobody connects -> only ChannelDestroyed cause 19, then /media/<id> is 404', async () => {
  const short = await AriSimulator.start({ websocketConnectTimeoutMs: 300 });
  const events = await EventClient.connect(short);
  try {
    const channelId = randomUUID();
    const started = performance.now();
    const res = await ari(short, 'POST', '/channels/externalMedia', serverParams({ channelId }));
    const connectionId = (res.body as { channelvars: Record<string, string> }).channelvars.MEDIA_WEBSOCKET_CONNECTION_ID as string;
    const destroyed = await waitForEvent(events, (e) => e.type === 'ChannelDestroyed', 'ChannelDestroyed');
    assert.ok(performance.now() - started >= 290);
    assert.deepEqual(eventsOf(events, channelId).map((e) => e.type), ['Dial', 'ChannelDestroyed']);
    assert.deepEqual([destroyed.cause, destroyed.cause_txt, channelOf(destroyed).state, dialplanOf(destroyed)], [19, 'User alerting, no answer', 'Down', APP_DIAL]);
    assert.equal((await ari(short, 'GET', `/channels/${channelId}`)).status, 404);
    assert.equal((await tryUpgrade(short.mediaUrl(connectionId), 'media')).status, 404);
    assert.equal(short.websocketMedia.get(channelId)?.endedBy, 'connectTimeout');
  } finally {
    events.close();
    await short.stop();
  }
});
