// The WebSocket echo media server with the simulator in both modes: it learns the call from
// MEDIA_START, sends every audio frame back, and records its sessions; plus its HTTP control
// and the standalone entry point.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { AriSimulator } from './ari-simulator.js';
import { ari, channelOf, EventClient } from './harness.js';
import { bridge, clientParams, serverParams, until, waitForEvent } from './media-harness.js';
import { EchoConnectError, WebSocketEcho } from './websocket-echo.js';

let echo: WebSocketEcho;
let sim: AriSimulator;
let client: EventClient;

before(async () => {
  echo = await WebSocketEcho.start();
  sim = await AriSimulator.start({ websocketClients: { echo: { uri: echo.url } } });
  client = await EventClient.connect(sim);
});
after(async () => {
  client.close();
  await sim.stop();
  await echo.stop();
});

async function answeredCaller(): Promise<string> {
  const call = sim.placeCall();
  await ari(sim, 'POST', `/channels/${call.channelId}/answer`);
  return call.channelId;
}

test('client mode: Asterisk dials the echo, which records MEDIA_START and sends the caller its own audio back', async () => {
  const callerId = await answeredCaller();
  const mediaId = randomUUID();
  assert.equal((await ari(sim, 'POST', '/channels/externalMedia', clientParams('echo', { channelId: mediaId, data: 'd' }))).status, 200);
  await until(() => echo.sessions.has(mediaId), 'the echo session');
  const session = echo.sessions.get(mediaId);
  assert.ok(session !== undefined);
  assert.deepEqual([session.role, session.url, session.protocol], ['accepted', '/media', 'media']);
  assert.deepEqual(
    [session.mediaStart?.connectionId, session.mediaStart?.channelId, session.mediaStart?.format, session.mediaStart?.optimalFrameSize, session.mediaStart?.json],
    ['echo', mediaId, 'slin16', 640, false],
  );
  await waitForEvent(client, (e) => e.type === 'StasisStart' && channelOf(e).id === mediaId, 'StasisStart');
  await bridge(sim, randomUUID(), [callerId, mediaId]);
  const record = sim.websocketMedia.get(mediaId);
  await until(() => session.framesIn >= 20 && (record?.framesReceived ?? 0) >= 20, 'audio both ways');
  assert.equal(session.bytesIn, session.framesIn * 640);
  assert.ok(session.framesOut >= session.framesIn - 1);
  assert.ok((record?.framesPlayed ?? 0) > 0);
  assert.equal((await ari(sim, 'DELETE', `/channels/${mediaId}`)).status, 204);
  await until(() => session.closedAt !== undefined, 'the close');
  assert.equal(session.closeCode, 1000);
  await ari(sim, 'DELETE', `/channels/${callerId}`);
});

test('server mode: connect(url) to /media/<id>; the echo closing hangs the media channel up (1001 back)', async () => {
  const callerId = await answeredCaller();
  const mediaId = randomUUID();
  const res = await ari(sim, 'POST', '/channels/externalMedia', serverParams({ channelId: mediaId, transport_data: 'f(json)' }));
  const connectionId = (res.body as { channelvars: Record<string, string> }).channelvars.MEDIA_WEBSOCKET_CONNECTION_ID as string;
  const session = await echo.connect(sim.mediaUrl(connectionId));
  assert.deepEqual([session.role, session.protocol], ['dialed', 'media']);
  await until(() => session.mediaStart !== undefined, 'MEDIA_START');
  assert.deepEqual([session.mediaStart?.connectionId, session.mediaStart?.json], [connectionId, true]);
  assert.equal(session.mediaStart?.channelVariables?.MEDIA_WEBSOCKET_CONNECTION_ID, connectionId);
  assert.equal(echo.session(connectionId), session);
  await waitForEvent(client, (e) => e.type === 'StasisStart' && channelOf(e).id === mediaId, 'StasisStart');
  await bridge(sim, randomUUID(), [callerId, mediaId]);
  await until(() => session.framesOut >= 5, 'echoed frames');
  echo.close(mediaId);
  await until(() => session.closedAt !== undefined, 'the close');
  assert.equal(session.closeCode, 1001);
  assert.equal(sim.websocketMedia.get(mediaId)?.endedBy, 'mediaClosed');
  await assert.rejects(echo.connect(sim.mediaUrl(connectionId)), (err) => err instanceof EchoConnectError && err.status === 404);
  await ari(sim, 'DELETE', `/channels/${callerId}`);
});

test('HTTP control: POST /connect dials a media URL, GET /sessions lists sessions', async () => {
  const res = await ari(sim, 'POST', '/channels/externalMedia', serverParams({ channelId: randomUUID() }));
  const connectionId = (res.body as { channelvars: Record<string, string> }).channelvars.MEDIA_WEBSOCKET_CONNECTION_ID as string;
  const base = `http://127.0.0.1:${echo.port}`;
  const post = (body: string) => fetch(`${base}/connect`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const ok = await post(JSON.stringify({ url: sim.mediaUrl(connectionId) }));
  assert.deepEqual([ok.status, await ok.json()], [200, { url: sim.mediaUrl(connectionId), protocol: 'media' }]);
  assert.equal((await post('{}')).status, 400);
  const refused = await post(JSON.stringify({ url: sim.mediaUrl(randomUUID()) }));
  assert.deepEqual([refused.status, ((await refused.json()) as { status: number }).status], [502, 404]);
  const sessions = (await (await fetch(`${base}/sessions`)).json()) as Array<{ url: string }>;
  assert.ok(sessions.some((s) => s.url === sim.mediaUrl(connectionId)));
});

test('standalone: websocket-echo-main listens on WS_ECHO_PORT and stops on SIGTERM', async () => {
  const main = fileURLToPath(new URL('./websocket-echo-main.js', import.meta.url));
  const child = spawn(process.execPath, [main], { env: { ...process.env, WS_ECHO_HOST: '127.0.0.1', WS_ECHO_PORT: '0' } });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  await until(() => out.includes('\n'), 'the status line');
  const status = JSON.parse(out.split('\n')[0] as string) as { status: string; port: number; url: string };
  assert.equal(status.status, 'listening');
  assert.equal(status.url, `ws://127.0.0.1:${status.port}/media`);
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(out, /"status":"stopped"/);
});
