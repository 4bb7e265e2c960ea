/**
 * The ari-gateway as a real process between the ARI simulator and a private nats-server: event
 * relay, every catalogue command, hostile input on both sides, ARI failures, reconnects,
 * ApplicationReplaced, the services API and a clean SIGTERM.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { AriSimulator, AudioSocketEcho } from '@avb/ari-simulator';
import { GatewayStatus, MAX_COMMAND_BYTES, subjects, type CommandName, type Reply } from '@avb/contracts';
import { connect, Empty, type NatsConnection } from 'nats';
import WebSocket from 'ws';
import { collect, sendCommand, type Collector } from './harness/gateway-client.js';
import { startNatsServer, type NatsServer } from './harness/nats-server.js';
import { logMsg, startService, type ServiceProcess } from './harness/services.js';
import { freePort, sleep, waitUntil } from './harness/util.js';

const APP = 'ai_app';
const NODE = 'pbx1';
const ARI_USER = 'avb';
/** Recognisable, so the last test can look for it (and its Basic encoding) in every log line. */
const ARI_PASSWORD = 'sekret-gw-7c1d5e';
const BASIC = Buffer.from(`${ARI_USER}:${ARI_PASSWORD}`).toString('base64');
const HOSTILE_IDS = ['../bridges/x', '..', '%2e%2e', 'a/b', 'x?y=1'];

const gatewayEnv = (natsUrl: string, ariBaseUrl: string, node: string): Record<string, string> => ({
  NATS_URL: natsUrl,
  ARI_BASE_URL: ariBaseUrl,
  ARI_USER,
  ARI_PASSWORD,
  ARI_APP: APP,
  ARI_NODE: node,
  ARI_HTTP_TIMEOUT: '0.5',
  ARI_PING_INTERVAL_MS: '300',
  ARI_RECONNECT_MIN_MS: '50',
  ARI_RECONNECT_MAX_MS: '500',
  LOG_LEVEL: 'debug',
});

const assertNoSecrets = (proc: ServiceProcess) => {
  assert.ok(proc.lines.length > 0);
  for (const line of proc.lines) {
    assert.ok(!line.raw.includes(ARI_PASSWORD), `password in a log line: ${line.raw}`);
    assert.ok(!line.raw.includes(BASIC), `Authorization in a log line: ${line.raw}`);
  }
};

/** The endpoint `data` of `$SRV.STATS.ari-gateway`, as far as these tests read it. */
interface StatsData {
  ari: { state: string };
  eventsRelayed: Record<string, number>;
  framesDropped: Record<string, number>;
  reconnects: number;
  unknownCommands: number;
  commands: Record<string, { ok: number; error: number; codes: Record<string, number>; latencyCount: number }>;
}
const n = (value: number | undefined) => value ?? 0;
const decoder = new TextDecoder();

const errorOf = (reply: Reply) => {
  assert.equal(reply.ok, false, `expected an error reply, got ${JSON.stringify(reply)}`);
  return reply.ok ? assert.fail() : reply.error;
};
const resultOf = <T>(reply: Reply): T => {
  assert.equal(reply.ok, true, `expected ok, got ${JSON.stringify(reply)}`);
  return (reply.ok ? reply.result : undefined) as T;
};

describe('ari-gateway', () => {
  let nats: NatsServer;
  let sim: AriSimulator;
  let echo: AudioSocketEcho;
  let gateway: ServiceProcess;
  let nc: NatsConnection;
  let events: Collector;
  let statuses: Collector;

  const cmd = (command: CommandName, payload: unknown) => sendCommand(nc, subjects.ariCommand(APP, NODE, command), payload);
  const statusStates = (from = 0) => statuses.json<GatewayStatus>().slice(from).map((s) => s.state);
  const relayedSince = (from: number) => events.msgs.slice(from);
  const stasisStartOf = (channelId: string) => () =>
    events.json<{ type: string; channel?: { id: string } }>().some((e) => e.type === 'StasisStart' && e.channel?.id === channelId);
  const gatewayStats = async () => {
    const msg = await nc.request('$SRV.STATS.ari-gateway', Empty, { timeout: 2000 });
    const body = JSON.parse(decoder.decode(msg.data)) as { endpoints: Array<{ data: StatsData }> };
    return body.endpoints[0]!.data;
  };

  before(async () => {
    nats = await startNatsServer();
    sim = await AriSimulator.start({ username: ARI_USER, password: ARI_PASSWORD });
    echo = await AudioSocketEcho.start({ host: '127.0.0.1', port: 0 });
    gateway = startService('ari-gateway', gatewayEnv(nats.url, sim.baseUrl, NODE));
    await gateway.waitForLog(logMsg('ARI connected'), 10_000, 'ARI connected');
    await gateway.waitForLog(logMsg('ready'), 10_000, 'ready');
    nc = await connect({ servers: nats.url, name: 'gateway-test' });
    events = collect(nc, subjects.ariEvents(APP, NODE));
    statuses = collect(nc, subjects.ariStatus(APP, NODE));
    await nc.flush();
  });

  after(async () => {
    await nc?.close().catch(() => undefined);
    await gateway?.stop('SIGTERM', 5000);
    await sim?.stop();
    await echo?.stop();
    await nats?.stop();
  });

  it('answers $SRV.PING and $SRV.INFO with its app, node and command endpoint', async () => {
    type Identity = { name: string; metadata: Record<string, string>; endpoints?: Array<{ subject: string }> };
    const ping = JSON.parse(decoder.decode((await nc.request('$SRV.PING.ari-gateway', Empty, { timeout: 2000 })).data)) as Identity;
    assert.equal(ping.name, 'ari-gateway');
    assert.equal(ping.metadata.app, APP);
    assert.equal(ping.metadata.node, NODE);
    assert.ok(ping.metadata.instance);
    const info = JSON.parse(decoder.decode((await nc.request('$SRV.INFO.ari-gateway', Empty, { timeout: 2000 })).data)) as Identity;
    assert.deepEqual(info.endpoints?.map((e) => e.subject), [subjects.ariCommands(APP, NODE)]);
  });

  it('relays every ARI event on ari.event.<app>.<node>.<type>, byte for byte', async () => {
    const fromSent = sim.sentFrames.length;
    const fromRelayed = events.msgs.length;
    const call = sim.placeCall({ callerNumber: '+4930111111', callerName: 'Relay' });
    resultOf(await cmd('channels.answer', { channelId: call.channelId }));
    sim.hangup(call.channelId);
    const sent = () => sim.sentFrames.slice(fromSent).filter((f) => f.app === APP);
    await waitUntil(
      () => sent().some((f) => f.data.includes('"StasisEnd"')) && relayedSince(fromRelayed).length >= sent().length,
      5000, 'every event relayed',
    );
    const relayed = relayedSince(fromRelayed);
    assert.ok(sent().length >= 3, `events sent: ${sent().length}`);
    assert.deepEqual(relayed.map((m) => m.data), sent().map((f) => f.data));
    for (const m of relayed) {
      const { type } = JSON.parse(m.data) as { type: string };
      assert.equal(m.subject, subjects.ariEvent(APP, NODE, type));
    }
  });

  it('relays a frame as sent even when re-serializing would change it (Asterisk pretty-prints)', async () => {
    const fromRelayed = events.msgs.length;
    const frame = '{\n  "type" : "ChannelVarset",\n  "variable": "X",\n  "value": "1",\n  "n": 1.0,\n  "e": 1e3,\n  "u": "\\u00e9"\n}';
    sim.sendRaw(APP, frame);
    await waitUntil(() => relayedSince(fromRelayed).some((m) => m.subject === subjects.ariEvent(APP, NODE, 'ChannelVarset')), 3000, 'frame relayed');
    assert.equal(relayedSince(fromRelayed).find((m) => m.subject.endsWith('.ChannelVarset'))!.data, frame);
  });

  it('runs the catalogue against ARI: bridge, externalMedia, addChannel, get/list, remove, destroy, hangup', async () => {
    const call = sim.placeCall({ callerNumber: '+4930222222', callerName: 'Bob' });
    const bridgeId = `gw-test-${randomUUID()}`;
    const sessionId = randomUUID();
    assert.equal(resultOf(await cmd('channels.answer', { channelId: call.channelId })), null);

    const bridge = resultOf<{ id: string; bridge_type: string }>(await cmd('bridges.create', { bridgeId, type: 'mixing', name: 'gw test' }));
    assert.equal(bridge.id, bridgeId);
    const createReq = sim.requests.at(-1)!;
    assert.equal(createReq.method, 'POST');
    assert.ok(createReq.path.endsWith(`/bridges/${bridgeId}`), createReq.path);
    assert.equal(createReq.query.type, 'mixing');

    const media = resultOf<{ id: string }>(await cmd('channels.externalMedia', {
      channelId: sessionId, external_host: `127.0.0.1:${echo.port}`, encapsulation: 'audiosocket',
      transport: 'tcp', format: 'slin16', data: sessionId,
    }));
    assert.equal(media.id, sessionId);
    assert.equal(sim.requests.at(-1)!.query.app, APP, 'externalMedia app defaults to ARI_APP');
    // Adding the media channel before its own StasisStart fails on a real Asterisk (422).
    await waitUntil(stasisStartOf(sessionId), 5000, 'media StasisStart relayed');

    assert.equal(resultOf(await cmd('bridges.addChannel', { bridgeId, channel: [call.channelId, sessionId] })), null);
    const addReq = sim.requests.at(-1)!;
    assert.ok(addReq.path.endsWith(`/bridges/${bridgeId}/addChannel`), addReq.path);
    assert.equal(addReq.query.channel, `${call.channelId},${sessionId}`);

    const got = resultOf<{ channels: string[] }>(await cmd('bridges.get', { bridgeId }));
    assert.deepEqual([...got.channels].sort(), [call.channelId, sessionId].sort());
    assert.equal(resultOf<{ id: string }>(await cmd('channels.get', { channelId: call.channelId })).id, call.channelId);
    const channels = resultOf<Array<{ id: string }>>(await cmd('channels.list', {}));
    assert.ok(channels.some((c) => c.id === sessionId) && channels.some((c) => c.id === call.channelId));
    assert.ok(resultOf<Array<{ id: string }>>(await cmd('bridges.list', '')).some((b) => b.id === bridgeId), 'empty payload = {}');

    assert.equal(resultOf(await cmd('bridges.removeChannel', { bridgeId, channel: sessionId })), null);
    assert.equal(resultOf(await cmd('bridges.destroy', { bridgeId })), null);
    assert.equal(sim.requests.at(-1)!.method, 'DELETE');
    assert.equal(resultOf(await cmd('channels.hangup', { channelId: sessionId, reason: 'normal' })), null);
    const hangupReq = sim.requests.at(-1)!;
    assert.equal(hangupReq.method, 'DELETE');
    assert.equal(hangupReq.query.reason, 'normal');
    assert.equal(resultOf(await cmd('channels.hangup', { channelId: call.channelId })), null);

    // The same teardown again: ARI's 404s, with ARI's own message.
    assert.deepEqual(errorOf(await cmd('bridges.destroy', { bridgeId })), { code: 'not_found', message: 'Bridge not found', status: 404 });
    assert.deepEqual(errorOf(await cmd('channels.hangup', { channelId: call.channelId })), { code: 'not_found', message: 'Channel not found', status: 404 });
    assert.deepEqual(errorOf(await cmd('channels.get', { channelId: sessionId })), { code: 'not_found', message: 'Channel not found', status: 404 });
    assert.ok(!sim.bridges().some((b) => b.id === bridgeId));
    assert.ok(!sim.channels().some((c) => c.id === call.channelId || c.id === sessionId));
  });

  it('passes an externalMedia for a channel id on to ARI once: one sent again, in flight or done, gets the first reply', async () => {
    const sessionId = randomUUID();
    const params = { channelId: sessionId, external_host: `127.0.0.1:${echo.port}`, encapsulation: 'audiosocket', transport: 'tcp', format: 'slin16', data: sessionId };
    const posts = () => sim.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/channels/externalMedia') && r.query.channelId === sessionId).length;
    sim.setLatency(200);
    const [first, inFlight] = await Promise.all([cmd('channels.externalMedia', params), cmd('channels.externalMedia', params)]);
    sim.setLatency(0);
    const done = await cmd('channels.externalMedia', params);
    assert.equal(resultOf<{ id: string }>(first).id, sessionId);
    assert.deepEqual(inFlight, first);
    assert.deepEqual(done, first);
    assert.equal(posts(), 1, 'Asterisk saw one externalMedia (a second with the id in use crashes chan_websocket)');
    assert.equal(resultOf(await cmd('channels.hangup', { channelId: sessionId })), null);
    // Refused by ARI: nothing was created, so a new try goes through.
    const refused = { ...params, channelId: randomUUID() };
    sim.failNext({ method: 'POST', path: /\/channels\/externalMedia$/ }, { status: 500, body: { message: 'An internal error prevented this request from being handled' } });
    assert.equal(errorOf(await cmd('channels.externalMedia', refused)).code, 'ari_error');
    assert.equal(resultOf<{ id: string }>(await cmd('channels.externalMedia', refused)).id, refused.channelId);
    assert.equal(resultOf(await cmd('channels.hangup', { channelId: refused.channelId })), null);
  });

  it('creates bridges with and without an id, encoding ids into one path segment', async () => {
    const bridge = resultOf<{ id: string }>(await cmd('bridges.create', { type: 'mixing' }));
    assert.ok(sim.requests.at(-1)!.path.endsWith('/bridges'));
    resultOf(await cmd('bridges.destroy', { bridgeId: bridge.id }));

    // `:` and `@` are valid in ids and travel percent-encoded; ARI decodes them back.
    const bridgeId = 'gw:test@1';
    assert.equal(resultOf<{ id: string }>(await cmd('bridges.create', { bridgeId })).id, bridgeId);
    assert.ok(sim.requests.at(-1)!.path.endsWith('/bridges/gw%3Atest%401'), sim.requests.at(-1)!.path);
    assert.equal(resultOf<{ id: string }>(await cmd('bridges.get', { bridgeId })).id, bridgeId);
    assert.equal(resultOf(await cmd('bridges.destroy', { bridgeId })), null);
  });

  it('continues a channel in the dialplan', async () => {

    const call = sim.placeCall();
    assert.equal(resultOf(await cmd('channels.continue', { channelId: call.channelId, context: 'default', extension: 's', priority: 1 })), null);
    const req = sim.requests.at(-1)!;
    assert.ok(req.path.endsWith(`/channels/${call.channelId}/continue`), req.path);
    assert.deepEqual(req.query, { context: 'default', extension: 's', priority: '1' });
    await sim.waitFor(() => sim.calls.get(call.channelId)?.endedBy === 'continue', 2000, 'call continued');
  });

  it('answers garbage payloads with a bad_request envelope and keeps serving', async () => {
    const before = sim.requests.length;
    const oversize = JSON.stringify({ channelId: 'a', pad: 'x'.repeat(MAX_COMMAND_BYTES) });
    const cases: Array<[string, unknown, RegExp]> = [
      [subjects.ariCommand(APP, NODE, 'channels.get'), 'not json {', /JSON/],
      [subjects.ariCommand(APP, NODE, 'channels.get'), '[]', /params/],
      [subjects.ariCommand(APP, NODE, 'channels.get'), 'null', /params/],
      [subjects.ariCommand(APP, NODE, 'channels.get'), { channelId: 5 }, /channelId/],
      [subjects.ariCommand(APP, NODE, 'channels.get'), { channelId: 'a', extra: 1 }, /extra/],
      [subjects.ariCommand(APP, NODE, 'channels.get'), '', /channelId/],
      [subjects.ariCommand(APP, NODE, 'bridges.addChannel'), { bridgeId: 'b', channel: [] }, /channel/],
      [subjects.ariCommand(APP, NODE, 'channels.get'), oversize, /too large/],
      [subjects.ariCommand(APP, NODE, 'channels.externalMedia'), { app: 'other_app', external_host: 'h:1', format: 'ulaw' }, /app/],
      [`ari.command.${APP}.${NODE}.channels.explode`, {}, /unknown command channels\.explode/],
      [`ari.command.${APP}.${NODE}.channels.get.more`, {}, /unknown command/],
    ];
    for (const [subject, payload, message] of cases) {
      const error = errorOf(await sendCommand(nc, subject, payload));
      assert.equal(error.code, 'bad_request', `${subject} ${String(payload).slice(0, 40)}`);
      assert.match(error.message, message);
      assert.equal(error.status, undefined);
    }
    assert.equal(sim.requests.length, before, 'no ARI request for refused commands');
    assert.ok(Array.isArray(resultOf(await cmd('channels.list', {}))));
  });

  it('refuses hostile ids before any ARI request', async () => {
    const before = sim.requests.length;
    for (const id of HOSTILE_IDS) {
      const attempts: Array<[CommandName, unknown]> = [
        ['channels.get', { channelId: id }],
        ['channels.hangup', { channelId: id }],
        ['channels.answer', { channelId: id }],
        ['bridges.destroy', { bridgeId: id }],
        ['bridges.addChannel', { bridgeId: id, channel: '1.1' }],
        ['bridges.addChannel', { bridgeId: 'ok-bridge', channel: ['1.1', id] }],
        ['bridges.create', { bridgeId: id }],
        ['channels.externalMedia', { channelId: id, external_host: '127.0.0.1:1', format: 'ulaw' }],
      ];
      for (const [command, payload] of attempts) {
        assert.equal(errorOf(await cmd(command, payload)).code, 'bad_request', `${command} ${JSON.stringify(payload)}`);
      }
    }
    assert.deepEqual(sim.requests.slice(before), [], 'no request reached ARI');
  });

  it('drops frames that are not events and keeps relaying', async () => {
    const fromRelayed = events.msgs.length;
    const garbage = ['not json', '[]', 'null', '"StasisStart"', '{"type":5}', '{"type":"a.b"}', '{"type":""}', '{}', '{"type":"a b"}'];
    for (const frame of garbage) sim.sendRaw(APP, frame);
    const call = sim.placeCall();
    await waitUntil(stasisStartOf(call.channelId), 5000, 'StasisStart after garbage');
    for (const m of relayedSince(fromRelayed)) assert.ok(!garbage.includes(m.data), `relayed garbage: ${m.data}`);
    const data = await gatewayStats();
    assert.ok(n(data.framesDropped.not_json) >= 1);
    assert.ok(n(data.framesDropped.not_object) >= 3);
    assert.ok(n(data.framesDropped.bad_type) >= 5);
    await gateway.waitForLog((l) => l.json?.msg === 'ARI frame dropped' && l.json.reason === 'bad_type', 2000, 'drop logged');
    sim.hangup(call.channelId);
  });

  it('maps ARI error statuses to reply codes with ARI\'s message', async () => {
    const cases: Array<[number, string]> = [
      [400, 'bad_request'], [401, 'ari_error'], [403, 'ari_error'], [404, 'not_found'], [409, 'conflict'],
      [412, 'conflict'], [422, 'conflict'], [500, 'ari_error'], [501, 'ari_error'], [502, 'ari_unavailable'],
      [503, 'ari_unavailable'], [504, 'ari_unavailable'],
    ];
    for (const [status, code] of cases) {
      sim.failNext({ method: 'GET', path: /\/channels\/fail-me$/ }, { status, body: { message: `ARI says ${status}` } });
      assert.deepEqual(errorOf(await cmd('channels.get', { channelId: 'fail-me' })), { code, message: `ARI says ${status}`, status });
    }
    sim.failNext({ method: 'POST', path: /\/bridges\/fail-me\/addChannel/ }, { status: 500 });
    const bare = errorOf(await cmd('bridges.addChannel', { bridgeId: 'fail-me', channel: '1.1' }));
    assert.equal(bare.code, 'ari_error');
    assert.equal(bare.status, 500);
  });

  it('gives timeout when ARI is slower than ARI_HTTP_TIMEOUT, then serves the next command', async () => {
    sim.failNext({ method: 'GET', path: /\/bridges$/ }, { status: 200, body: [], delayMs: 1500 });
    const started = Date.now();
    const error = errorOf(await cmd('bridges.list', {}));
    assert.equal(error.code, 'timeout');
    assert.ok(Date.now() - started < 1400, 'answered at the HTTP timeout, not when ARI answered');
    assert.ok(Array.isArray(resultOf(await cmd('bridges.list', {}))));
  });

  it('reconnects after the WebSocket drops, reporting disconnected then connected', async () => {
    const from = statuses.msgs.length;
    sim.dropWebSockets();
    await waitUntil(() => statusStates(from).includes('connected'), 5000, 'connected again');
    const states = statusStates(from);
    assert.ok(states.indexOf('disconnected') < states.lastIndexOf('connected'), states.join(','));
    for (const s of statuses.json().slice(from)) {
      const status = GatewayStatus.parse(s);
      assert.equal(status.app, APP);
      assert.equal(status.node, NODE);
    }
    await sim.waitFor(() => sim.connections(APP) === 1, 2000, 'one connection');
    const call = sim.placeCall();
    await waitUntil(stasisStartOf(call.channelId), 5000, 'relaying again');
    sim.hangup(call.channelId);
    assert.ok((await gatewayStats()).reconnects >= 1);
  });

  it('drops a connection whose pings go unanswered and reconnects', async () => {
    const from = statuses.msgs.length;
    sim.setPongs(false);
    await waitUntil(() => statusStates(from).includes('disconnected'), 3000, 'ping timeout');
    sim.setPongs(true);
    const lost = statuses.json<GatewayStatus>().slice(from).find((s) => s.state === 'disconnected')!;
    assert.equal(lost.reason, 'ping timeout');
    await waitUntil(() => statusStates(from).at(-1) === 'connected', 5000, 'connected again');
  });

  it('reports replaced when another WebSocket takes the app over, and does not fight for it', async () => {
    const from = statuses.msgs.length;
    const intruder = new WebSocket(`${sim.wsUrl}?app=${APP}`, { headers: { Authorization: `Basic ${BASIC}` } });
    await once(intruder, 'open');
    await waitUntil(() => statusStates(from).includes('replaced'), 3000, 'replaced status');
    await gateway.waitForLog((l) => l.json?.level === 50 && /another WebSocket/.test(String(l.json.msg)), 2000, 'replaced error log');
    const afterReplaced = statuses.msgs.length;
    await sleep(700);
    assert.deepEqual(statusStates(afterReplaced), [], 'no reconnect attempt while replaced');
    assert.equal((await gatewayStats()).ari.state, 'replaced');

    intruder.close();
    await once(intruder, 'close');
    // Once its socket closes, the gateway is back in its normal reconnect loop.
    sim.dropWebSockets();
    await waitUntil(() => statusStates(afterReplaced).at(-1) === 'connected', 5000, 'connected after replaced');
  });

  it('exposes its counters in $SRV.STATS', async () => {
    const data = await gatewayStats();
    assert.equal(data.ari.state, 'connected');
    assert.ok(n(data.eventsRelayed.StasisStart) >= 3);
    const get = data.commands['channels.get'];
    assert.ok(get && get.ok >= 1 && n(get.codes.not_found) >= 1 && get.latencyCount >= 1, JSON.stringify(get));
    assert.ok(data.unknownCommands >= 2);
    // Counters are labelled by command and code only, never by id.
    assert.ok(!JSON.stringify(data).includes('fail-me'));
  });

  it('on SIGTERM answers the command in flight, reports stopped and exits 0', async () => {
    sim.setLatency(300);
    const from = statuses.msgs.length;
    const inFlight = cmd('channels.list', {});
    await sleep(80);
    const exit = gateway.stop('SIGTERM', 8000);
    assert.ok(Array.isArray(resultOf(await inFlight)));
    assert.equal(await exit, 0);
    sim.setLatency(0);
    await waitUntil(() => statusStates(from).includes('stopped'), 2000, 'stopped status');
    assert.ok(gateway.lines.some(logMsg('stopped')));
    assertNoSecrets(gateway);
  });
});

describe('ari-gateway without a reachable ARI', () => {
  let nats: NatsServer;
  let gateway: ServiceProcess;
  let nc: NatsConnection;

  before(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url, name: 'gateway-test' });
    const deadPort = await freePort();
    gateway = startService('ari-gateway', gatewayEnv(nats.url, `http://127.0.0.1:${deadPort}/ari`, 'pbx2'));
    await gateway.waitForLog(logMsg('ready'), 10_000, 'ready');
  });
  after(async () => {
    await nc?.close().catch(() => undefined);
    await gateway?.stop('SIGTERM', 5000);
    await nats?.stop();
  });

  it('keeps retrying with backoff, answers commands with ari_unavailable, and stops cleanly', async () => {
    const statuses = collect(nc, subjects.ariStatus(APP, 'pbx2'));
    await nc.flush();
    const error = errorOf(await sendCommand(nc, subjects.ariCommand(APP, 'pbx2', 'channels.list'), {}));
    assert.equal(error.code, 'ari_unavailable');
    await waitUntil(() => statuses.json<GatewayStatus>().some((s) => s.state === 'disconnected'), 3000, 'disconnected status');
    await gateway.waitForLog(logMsg('ARI connect failed'), 3000, 'connect failure logged');
    // Capped backoff: retries go on, but never in a tight loop.
    await sleep(1000);
    const attempts = gateway.lines.filter(logMsg('opening ARI WebSocket')).length;
    assert.ok(attempts >= 2 && attempts <= 15, `attempts in ~1.5 s: ${attempts}`);
    assert.equal(await gateway.stop('SIGTERM'), 0);
    assertNoSecrets(gateway);
  });
});
