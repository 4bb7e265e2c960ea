// Status codes and bodies of the recorded error cases (samples-22.10.1/err-*.json, flow-errors).

import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { AriSimulator } from './ari-simulator.js';
import { AudioSocketEcho } from './audiosocket-echo.js';
import { ari, EventClient } from './harness.js';

let sim: AriSimulator;
let echo: AudioSocketEcho;
let client: EventClient;

before(async () => {
  sim = await AriSimulator.start({ mediaConnectTimeoutMs: 500 });
  echo = await AudioSocketEcho.start();
  client = await EventClient.connect(sim);
});
after(async () => {
  client.close();
  await sim.stop();
  await echo.stop();
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const INTERNAL = { message: 'An internal error prevented this request from being handled' };

test('externalMedia validation matches Asterisk', async () => {
  const host = `127.0.0.1:${echo.port}`;
  const base = { app: 'ai_app', external_host: host, encapsulation: 'audiosocket', transport: 'tcp', format: 'slin16', data: randomUUID() };
  const cases: Array<[Record<string, string>, number, unknown]> = [
    [{ ...base, app: '' }, 400, { message: 'app cannot be empty' }],
    [{ ...base, format: '' }, 400, { message: 'format cannot be empty' }],
    [{ ...base, external_host: '' }, 400, { message: 'external_host is required for all but websocket server connections' }],
    [{ ...base, external_host: '127.0.0.1' }, 400, { message: 'external_host must be <host>:<port> for all transports other than websocket' }],
    [{ ...base, data: '' }, 400, { message: 'data can not be empty' }],
    [{ ...base, data: 'not-a-uuid' }, 500, INTERNAL],
    [{ ...base, format: 'nope' }, 500, INTERNAL],
    [{ ...base, transport: 'udp' }, 400, { message: "transport must be 'tcp' for audiosocket encapsulation" }],
    [{ ...base, encapsulation: 'rtp' }, 400, { message: "transport must be 'udp' for rtp encapsulation" }],
    [{ app: 'ai_app', external_host: host, encapsulation: 'bogus', format: 'slin16' }, 501, { message: 'The encapsulation and/or transport is not supported' }],
    [{ ...base, external_host: `127.0.0.1:${await closedPort()}` }, 500, INTERNAL],
  ];
  for (const [query, status, body] of cases) {
    const res = await ari(sim, 'POST', '/channels/externalMedia', query);
    assert.deepEqual([res.status, res.body], [status, body], JSON.stringify(query));
  }
  assert.deepEqual(sim.channels(), []);
});

test('duplicate channelId: 500 after connecting to the media server', async () => {
  const call = sim.placeCall();
  const data = randomUUID();
  const res = await ari(sim, 'POST', '/channels/externalMedia', {
    app: 'ai_app', channelId: call.channelId, data, external_host: `127.0.0.1:${echo.port}`,
    encapsulation: 'audiosocket', transport: 'tcp', format: 'slin16',
  });
  assert.deepEqual([res.status, res.body], [500, INTERNAL]);
  await sim.waitFor(() => echo.sessions.get(data)?.closedAt !== undefined, 2000, 'media connection opened and closed');
  const before = client.events.length;
  assert.equal((await ari(sim, 'DELETE', `/channels/${call.channelId}`)).status, 204);
  await client.waitForCount(before + 2);
  assert.deepEqual(client.types().slice(before), ['ChannelHangupRequest', 'StasisEnd']);
});

test('not-found and conflict bodies', async () => {
  const notFoundChannel = { message: 'Channel not found' };
  assert.deepEqual((await ari(sim, 'GET', '/channels/..%2Fbridges')).body, notFoundChannel);
  assert.equal((await ari(sim, 'GET', '/channels/..%2Fbridges')).status, 404);
  assert.deepEqual(await ari(sim, 'GET', '/nothing/here'), { status: 404, body: { message: 'Resource not found' }, contentType: 'application/json' });
  assert.deepEqual((await ari(sim, 'POST', '/channels/1.1/answer')).body, notFoundChannel);
  assert.deepEqual((await ari(sim, 'DELETE', '/channels/1.1')).status, 404);
  assert.deepEqual((await ari(sim, 'DELETE', '/channels/1.1', { reason: 'bogus' })).status, 400);
  assert.deepEqual((await ari(sim, 'GET', '/bridges/nope')).body, { message: 'Bridge not found' });
  assert.deepEqual((await ari(sim, 'POST', '/bridges/does-not-exist/addChannel', { channel: 'nope' })).status, 404);

  assert.equal((await ari(sim, 'POST', '/bridges', { bridgeId: 'brA', type: 'mixing' })).status, 200);
  assert.deepEqual(await ari(sim, 'POST', '/bridges', { bridgeId: 'brA' }), {
    status: 409, body: { message: "Bridge with id 'brA' already exists" }, contentType: 'application/json',
  });
  assert.deepEqual((await ari(sim, 'POST', '/bridges', { type: 'bogus' })).body, {
    message: "Unable to create bridge. Possible duplicate bridge id '(null)'",
  });
  assert.deepEqual((await ari(sim, 'POST', '/bridges/brA/addChannel', { channel: 'gone.1' })), {
    status: 400, body: notFoundChannel, contentType: 'application/json',
  });
  const call = sim.placeCall();
  assert.deepEqual((await ari(sim, 'POST', '/bridges/brA/removeChannel', { channel: call.channelId })).status, 422);
  assert.deepEqual((await ari(sim, 'POST', '/bridges/brA/removeChannel', { channel: call.channelId })).body, {
    message: 'Channel not in this bridge',
  });
  assert.equal((await ari(sim, 'POST', `/channels/${call.channelId}/continue`)).status, 204);
  assert.equal((await ari(sim, 'POST', '/bridges/brA/addChannel', { channel: call.channelId })).status, 422);
  await sim.waitFor(() => sim.channels().length === 0, 1000, 'continued channel gone');
  assert.equal((await ari(sim, 'DELETE', '/bridges/brA')).status, 204);
  assert.equal((await ari(sim, 'DELETE', '/bridges/brA')).status, 404);
  const info = await ari(sim, 'GET', '/asterisk/info');
  assert.equal((info.body as { system: { entity_id: string } }).system.entity_id, '02:fc:00:00:00:01');
});

test('authentication: 401 for HTTP and WebSocket, api_key accepted', async () => {
  const bad = { authorization: `Basic ${Buffer.from('asterisk:wrong').toString('base64')}` };
  assert.deepEqual(await ari(sim, 'GET', '/channels', {}, bad), {
    status: 401, body: { message: 'Authentication required' }, contentType: 'application/json',
  });
  assert.equal((await ari(sim, 'GET', '/channels', {}, {})).status, 401);
  assert.equal((await ari(sim, 'GET', '/channels', { api_key: 'asterisk:asterisk' }, {})).status, 200);
  const status = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`${sim.wsUrl}?app=ai_app&api_key=asterisk:nope`);
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => {});
  });
  assert.equal(status, 401);
  assert.equal(sim.requests.at(-1)?.status, 200);
});
