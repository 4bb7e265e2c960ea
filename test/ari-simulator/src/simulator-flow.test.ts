// A whole call through the simulator, compared with the recorded Asterisk 22 flow-audiosocket.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomUUID } from 'node:crypto';
import { AriSimulator } from './ari-simulator.js';
import { AudioSocketEcho } from './audiosocket-echo.js';
import { ari, channelOf, EventClient } from './harness.js';

let sim: AriSimulator;
let echo: AudioSocketEcho;

before(async () => {
  sim = await AriSimulator.start();
  echo = await AudioSocketEcho.start();
});
after(async () => {
  await sim.stop();
  await echo.stop();
});

function mediaParams(data: string, channelId: string): Record<string, string> {
  return {
    app: 'ai_app',
    channelId,
    data,
    external_host: `127.0.0.1:${echo.port}`,
    encapsulation: 'audiosocket',
    transport: 'tcp',
    format: 'slin16',
  };
}

test('full AudioSocket call matches the recorded event order and shapes', async () => {
  const client = await EventClient.connect(sim);
  const call = sim.placeCall();
  await client.waitForCount(1);
  const start = client.events[0];
  assert.ok(start);
  assert.deepEqual(Object.keys(start), ['type', 'timestamp', 'args', 'channel', 'asterisk_id', 'application']);
  assert.deepEqual(Object.keys(channelOf(start)), [
    'id', 'name', 'state', 'protocol_id', 'caller', 'connected', 'accountcode', 'dialplan', 'creationtime', 'language',
  ]);
  assert.equal(channelOf(start).state, 'Ring');
  assert.match(String(channelOf(start).creationtime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
  assert.match(call.channelId, /^\d+\.\d+$/);

  assert.equal((await ari(sim, 'POST', `/channels/${call.channelId}/answer`)).status, 204);
  const bridgeId = randomUUID();
  const bridge = await ari(sim, 'POST', `/bridges/${bridgeId}`, { type: 'mixing' });
  assert.equal(bridge.status, 200);
  assert.deepEqual(bridge.body, {
    id: bridgeId, technology: 'simple_bridge', bridge_type: 'mixing', bridge_class: 'stasis', creator: 'Stasis',
    name: '', channels: [], creationtime: (bridge.body as { creationtime: string }).creationtime, video_mode: 'talker',
  });

  const uuid = randomUUID();
  const mediaId = randomUUID();
  const media = await ari(sim, 'POST', '/channels/externalMedia', mediaParams(uuid, mediaId));
  assert.equal(media.status, 200);
  assert.equal(media.contentType, 'application/json');
  const mediaBody = media.body as Record<string, unknown>;
  assert.equal(mediaBody.name, `AudioSocket/127.0.0.1:${echo.port}-${uuid}`);
  assert.equal(mediaBody.state, 'Down');
  assert.deepEqual(mediaBody.channelvars, { AUDIOSOCKET_SERVICE: `127.0.0.1:${echo.port}`, AUDIOSOCKET_UUID: uuid });
  // StasisStart was written before the reply; give the WebSocket a moment to deliver it.
  await client.waitForCount(7);
  const mediaStart = client.events[6];
  assert.ok(mediaStart);
  assert.equal(mediaStart.type, 'StasisStart');
  assert.deepEqual(mediaStart.args, [uuid]);
  assert.deepEqual((channelOf(mediaStart).dialplan as Record<string, unknown>).app_data, `ai_app,${uuid}`);
  await sim.waitFor(() => echo.sessions.has(uuid), 2000, 'echo to receive the UUID frame');

  assert.equal((await ari(sim, 'POST', `/bridges/${bridgeId}/addChannel`, { channel: `${call.channelId},${mediaId}` })).status, 204);
  const got = await ari(sim, 'GET', `/bridges/${bridgeId}`);
  assert.deepEqual((got.body as { channels: string[] }).channels, [call.channelId, mediaId]);
  assert.equal(((await ari(sim, 'GET', `/channels/${mediaId}`)).body as { state: string }).state, 'Up');

  sim.hangup(call.channelId);
  assert.equal((await ari(sim, 'DELETE', `/channels/${mediaId}`)).status, 204);
  assert.equal((await ari(sim, 'DELETE', `/bridges/${bridgeId}`)).status, 204);
  await sim.waitFor(() => echo.sessions.get(uuid)?.closedAt !== undefined, 2000, 'AudioSocket close');
  assert.equal((await ari(sim, 'DELETE', `/channels/${mediaId}`)).status, 404);
  assert.deepEqual((await ari(sim, 'DELETE', `/bridges/${bridgeId}`)).body, { message: 'Bridge not found' });

  await client.waitForCount(22);
  // flow-audiosocket.json in order; there BridgeDestroyed lands mid-teardown only because the
  // recorder sent DELETE /bridges concurrently with the media DELETE.
  assert.deepEqual(client.types(), [
    'StasisStart', 'ChannelStateChange',
    'Dial', 'ChannelStateChange', 'Dial', 'ChannelVarset', 'StasisStart',
    'ChannelEnteredBridge', 'ChannelEnteredBridge', 'ChannelVarset', 'ChannelVarset',
    'ChannelHangupRequest', 'ChannelVarset', 'ChannelLeftBridge', 'StasisEnd',
    'ChannelHangupRequest', 'ChannelVarset', 'ChannelLeftBridge', 'StasisEnd', 'ChannelVarset', 'ChannelDestroyed',
    'BridgeDestroyed',
  ]);
  const hangup = client.events[11];
  assert.ok(hangup);
  assert.deepEqual(Object.keys(hangup), ['cause', 'type', 'timestamp', 'channel', 'asterisk_id', 'application']);
  assert.equal(hangup.cause, 0);
  const ariHangup = client.events[15];
  assert.ok(ariHangup);
  assert.deepEqual([ariHangup.cause, ariHangup.soft], [32, true]);
  const destroyed = client.events[20];
  assert.ok(destroyed);
  assert.deepEqual(Object.keys(destroyed), ['type', 'timestamp', 'cause', 'cause_txt', 'channel', 'asterisk_id', 'application']);
  assert.equal((channelOf(destroyed).dialplan as Record<string, unknown>).app_name, 'AppDial2');

  const record = sim.calls.get(call.channelId);
  assert.ok(record?.answeredAt !== undefined && record.bridgedAt !== undefined);
  assert.deepEqual(record.bridgeIds, [bridgeId]);
  assert.deepEqual(record.mediaChannelIds, [mediaId]);
  assert.equal(record.endedBy, 'caller');
  assert.deepEqual(sim.channels(), []);
  assert.deepEqual(sim.bridges(), []);
  client.close();
});

test('an AudioSocket peer closing hangs the media channel up, with ChannelDestroyed', async () => {
  const client = await EventClient.connect(sim);
  const uuid = randomUUID();
  const mediaId = randomUUID();
  const peer = await AudioSocketEcho.start();
  const media = await ari(sim, 'POST', '/channels/externalMedia', { ...mediaParams(uuid, mediaId), external_host: `127.0.0.1:${peer.port}` });
  assert.equal(media.status, 200);
  await sim.waitFor(() => peer.sessions.has(uuid), 2000, 'UUID frame');
  await peer.stop();
  await sim.waitFor(() => sim.channels().length === 0, 2000, 'media channel gone');
  await client.waitForCount(9);
  assert.deepEqual(client.types().slice(5), ['ChannelHangupRequest', 'StasisEnd', 'ChannelVarset', 'ChannelDestroyed']);
  client.close();
});

test('rtp externalMedia: UnicastRTP name, channelvars, args [data]', async () => {
  const client = await EventClient.connect(sim);
  const data = randomUUID();
  const res = await ari(sim, 'POST', '/channels/externalMedia', {
    app: 'ai_app', data, external_host: '127.0.0.1:7576', encapsulation: 'rtp', transport: 'udp', format: 'ulaw',
  });
  assert.equal(res.status, 200);
  const body = res.body as { id: string; name: string; channelvars: Record<string, string> };
  assert.match(body.name, /^UnicastRTP\/127\.0\.0\.1:7576-0x[0-9a-f]+$/);
  assert.deepEqual(Object.keys(body.channelvars), ['UNICASTRTP_LOCAL_PORT', 'UNICASTRTP_LOCAL_ADDRESS']);
  await client.waitForCount(5);
  assert.equal(client.events[0]?.dialstring, '127.0.0.1:7576/c(ulaw)');
  assert.deepEqual(client.events[4]?.args, [data]);
  assert.equal((await ari(sim, 'DELETE', `/channels/${body.id}`)).status, 204);
  client.close();
});

test('continue into a second Stasis(): the recorded re-entry (samples-22.10.1/reentry/continue-in-bridge)', async () => {
  const client = await EventClient.connect(sim);
  const call = sim.placeCall({ laterStasis: [['second']] });
  await client.waitForCount(1);
  const bridgeId = randomUUID();
  assert.equal((await ari(sim, 'POST', `/bridges/${bridgeId}`, { type: 'mixing' })).status, 200);
  const mediaId = randomUUID();
  assert.equal((await ari(sim, 'POST', '/channels/externalMedia', mediaParams(mediaId, mediaId))).status, 200);
  await sim.waitFor(() => client.events.some((e) => e.type === 'StasisStart' && channelOf(e).id === mediaId), 1000, 'media in Stasis');
  assert.equal((await ari(sim, 'POST', `/bridges/${bridgeId}/addChannel`, { channel: `${call.channelId},${mediaId}` })).status, 204);
  await sim.waitFor(() => call.bridgedAt !== undefined, 1000, 'bridged');
  await new Promise((r) => setTimeout(r, 20));
  const before = client.events.length;
  assert.equal((await ari(sim, 'POST', `/channels/${call.channelId}/continue`)).status, 204);
  await client.waitForCount(before + 4);
  const reentry = client.events.slice(before);
  assert.deepEqual(reentry.map((e) => e.type), ['ChannelVarset', 'ChannelLeftBridge', 'StasisEnd', 'StasisStart']);
  assert.deepEqual([reentry[0]!.variable, reentry[0]!.value], ['BRIDGEPEER', '']);
  const [end, start] = [reentry[2]!, reentry[3]!];
  const endPlan = channelOf(end).dialplan as { priority: number; app_data: string };
  const startPlan = channelOf(start).dialplan as { priority: number; app_data: string };
  assert.equal(channelOf(start).id, call.channelId, 'the same channel id');
  assert.deepEqual([endPlan.priority, endPlan.app_data], [2, 'ai_app']);
  assert.deepEqual([startPlan.priority, startPlan.app_data], [3, 'ai_app,second']);
  assert.deepEqual(start.args, ['second']);
  for (const key of ['name', 'state', 'creationtime'] as const) assert.equal(channelOf(start)[key], channelOf(end)[key]);
  assert.equal(call.stasisStarts.length, 2);
  assert.equal(call.endedAt, undefined, 'still in the call');
  assert.deepEqual(sim.bridges().find((b) => b.id === bridgeId)?.channels, [mediaId], 'the bridge keeps its other channel');

  // Out of the last Stasis() into Hangup(): StasisEnd only, then the channel is gone.
  const last = client.events.length;
  assert.equal((await ari(sim, 'POST', `/channels/${call.channelId}/continue`)).status, 204);
  await client.waitForCount(last + 1);
  assert.deepEqual(client.events.slice(last).map((e) => e.type), ['StasisEnd']);
  await sim.waitFor(() => !sim.channels().some((c) => c.id === call.channelId), 1000, 'continued channel gone');
  assert.equal(call.endedBy, 'continue');
  assert.equal((await ari(sim, 'DELETE', `/channels/${mediaId}`)).status, 204);
  assert.equal((await ari(sim, 'DELETE', `/bridges/${bridgeId}`)).status, 204);
  client.close();
});
