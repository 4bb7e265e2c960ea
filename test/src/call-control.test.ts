/**
 * The whole call flow through real processes: simulator (ARI) -> gateway -> NATS -> controller
 * -> NATS -> gateway -> simulator, with the AudioSocket echo server as the media side.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CallEvent, subjects } from '@avb/contracts';
import { callEventsOf } from './harness/calls.js';
import { collect, type Collector } from './harness/gateway-client.js';
import { APP, ARI_PASSWORD, NODE, nothingLeft as simEmpty, startStack, type Stack } from './harness/stack.js';
import { percentile, sleep, waitUntil } from './harness/util.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;


describe('call control end to end', () => {
  let stack: Stack;
  let callEvents: Collector;

  before(async () => {
    stack = await startStack({ controllers: 1 });
    callEvents = collect(stack.nc, subjects.callEvents(APP));
    await stack.nc.flush();
  });
  after(async () => {
    callEvents?.stop();
    await stack?.stop();
  });

  const nothingLeft = (what: string) => simEmpty(stack.sim, what);
  const eventsOf = (channelId: string) => callEventsOf(callEvents, channelId);

  it('sets up one call: caller and exactly one media channel bridged, UUID to the media server; tears it down', async () => {
    const call = stack.sim.placeCall({ callerNumber: '+4930123456', callerName: 'Alice' });
    await stack.sim.waitFor(() => call.bridgedAt !== undefined, 5000, 'call bridged');

    const [bridge] = stack.sim.bridges();
    assert.ok(bridge);
    assert.equal(bridge.channels.length, 2);
    assert.ok(bridge.channels.includes(call.channelId));
    const mediaId = bridge.channels.find((id) => id !== call.channelId)!;
    const media = stack.sim.channels().find((c) => c.id === mediaId)!;
    assert.match(media.name, /^AudioSocket\//);
    assert.deepEqual(call.bridgeIds, [bridge.id]);
    assert.deepEqual(call.mediaChannelIds, [mediaId]);
    assert.ok(call.answeredAt !== undefined, 'caller answered');

    await waitUntil(() => eventsOf(call.channelId).some((e) => e.kind === 'started'), 5000, 'started event');
    const started = eventsOf(call.channelId).find((e) => e.kind === 'started')!;
    assert.match(started.sessionId, UUID);
    assert.equal(started.node, NODE);
    assert.equal(started.bridgeId, bridge.id);
    assert.equal(started.externalChannelId, mediaId);
    assert.equal(started.callerNumber, '+4930123456');
    assert.ok(typeof started.setupMs === 'number' && started.setupMs > 0);
    // The media server got the session UUID in the AudioSocket UUID frame.
    await waitUntil(() => stack.echo.sessions.has(started.sessionId), 2000, 'echo server saw the UUID');
    const externalMedia = stack.sim.requests.find((r) => r.path === '/ari/channels/externalMedia');
    assert.equal(externalMedia?.query.data, started.sessionId);

    stack.sim.hangup(call.channelId);
    await nothingLeft('one call');
    await waitUntil(() => eventsOf(call.channelId).some((e) => e.kind === 'ended'), 5000, 'ended event');
    assert.equal(eventsOf(call.channelId).find((e) => e.kind === 'ended')?.cause, 'caller_hangup');
    await waitUntil(() => stack.echo.sessions.get(started.sessionId)?.closedAt !== undefined, 2000, 'media socket closed');
  });

  it('300 calls at 150/s: each bridged exactly once, nothing left', async (t) => {
    const firstRequest = stack.sim.requests.length;
    // Held long enough that a slow, shared CI machine still bridges every call before its hangup.
    const records = await stack.sim.runLoad({ count: 300, rate: 150, holdMs: 2500, timeoutMs: 30_000 });
    await nothingLeft('300 calls');
    assert.equal(records.length, 300);
    for (const r of records) {
      assert.equal(r.bridgeIds.length, 1, `call ${r.channelId} bridged once`);
      assert.equal(r.mediaChannelIds.length, 1, `call ${r.channelId} has one media channel`);
      assert.ok(r.bridgedAt !== undefined);
    }
    const setup = records.map((r) => r.bridgedAt! - r.startedAt);
    const perCall = (stack.sim.requests.length - firstRequest) / records.length;
    t.diagnostic(`setup latency ms: p50=${percentile(setup, 50).toFixed(2)} p99=${percentile(setup, 99).toFixed(2)}; ARI requests per call: ${perCall}`);
    assert.equal(perCall, 6, 'answer, bridge, externalMedia, addChannel, media hangup, bridge destroy');
  });

  it('200 calls hung up 0-20 ms after StasisStart leave nothing behind', async () => {
    const records = await stack.sim.runLoad({ count: 200, rate: 200, holdMs: (i) => i % 21, timeoutMs: 30_000 });
    assert.equal(records.length, 200);
    await nothingLeft('early hangups');
    const reportedEnd = () => new Set(
      callEvents.json().map((e) => CallEvent.parse(e)).filter((e) => e.kind !== 'started').map((e) => e.channelId),
    );
    await waitUntil(() => {
      const ended = reportedEnd();
      return records.every((r) => ended.has(r.channelId));
    }, 10_000, 'every call reported its end');
  });

  it('when the media channel ends first, the caller is hung up and the bridge removed', async () => {
    const call = stack.sim.placeCall();
    await stack.sim.waitFor(() => call.bridgedAt !== undefined, 5000, 'call bridged');
    const mediaId = call.mediaChannelIds[0]!;
    const res = await fetch(`${stack.sim.baseUrl}/channels/${mediaId}`, {
      method: 'DELETE',
      headers: { authorization: `Basic ${Buffer.from(`avb:${ARI_PASSWORD}`).toString('base64')}` },
    });
    assert.equal(res.status, 204);
    await nothingLeft('media ended first');
    assert.equal(call.endedBy, 'ari');
    await waitUntil(() => eventsOf(call.channelId).some((e) => e.kind === 'ended'), 5000, 'ended event');
    assert.match(eventsOf(call.channelId).find((e) => e.kind === 'ended')!.cause!, /^media_ended/);
  });

  it('garbage ARI frames are dropped and calls keep working', async () => {
    for (const junk of ['not json', '[]', '{"type":5}', '{"type":"StasisStart"}', '{"type":"StasisStart","channel":{"id":"x"}}', '{"type":"a.b"}']) {
      stack.sim.sendRaw(APP, junk);
    }
    await sleep(50);
    const call = stack.sim.placeCall();
    await stack.sim.waitFor(() => call.bridgedAt !== undefined, 5000, 'call bridged after garbage');
    stack.sim.hangup(call.channelId);
    await nothingLeft('call after garbage');
    assert.equal(stack.gateway.child.exitCode, null, 'gateway still running');
    assert.equal(stack.controllers[0]!.child.exitCode, null, 'controller still running');
  });

  it('a call set up before the ARI WebSocket dropped is still torn down after the reconnect', async () => {
    const call = stack.sim.placeCall();
    await stack.sim.waitFor(() => call.bridgedAt !== undefined, 5000, 'call bridged');
    const connectedBefore = stack.gateway.lines.filter((l) => l.json?.msg === 'ARI connected').length;
    stack.sim.dropWebSockets();
    await waitUntil(() => stack.gateway.lines.filter((l) => l.json?.msg === 'ARI connected').length > connectedBefore, 5000, 'gateway reconnected');
    await stack.sim.waitFor(() => stack.sim.connections(APP) === 1, 5000, 'app socket back');
    stack.sim.hangup(call.channelId);
    await nothingLeft('hangup after reconnect');
  });

  it('never logs the ARI password', () => {
    const lines = stack.allLogLines();
    assert.ok(lines.length > 100, 'services logged');
    assert.equal(lines.filter((l) => l.includes(ARI_PASSWORD)).length, 0);
    assert.equal(lines.filter((l) => l.includes(Buffer.from(`avb:${ARI_PASSWORD}`).toString('base64'))).length, 0);
  });
});

describe('call setup failures', () => {
  let stack: Stack;
  let callEvents: Collector;

  before(async () => {
    // Nothing listens on port 9: externalMedia fails like Asterisk's (500 after connect fails).
    stack = await startStack({ controllers: 1, controllerEnv: { AUDIOSOCKET_PORT: '9' } });
    callEvents = collect(stack.nc, subjects.callEvents(APP));
    await stack.nc.flush();
  });
  after(async () => stack?.stop());

  it('media server down: the call fails, the caller is hung up, nothing is left', async () => {
    const call = stack.sim.placeCall();
    await stack.sim.waitFor(() => call.endedAt !== undefined, 10_000, 'caller hung up');
    assert.equal(call.endedBy, 'ari');
    await simEmpty(stack.sim, 'a failed setup', 5000);
    await waitUntil(() => callEventsOf(callEvents, call.channelId).some((e) => e.kind === 'failed'), 5000, 'failed event');
    assert.equal(callEventsOf(callEvents, call.channelId)[0]!.cause, 'setup_failed:media:ari_error');
  });
});

describe('RTP media', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      controllers: 1,
      controllerEnv: { EXTERNAL_MEDIA_ENCAPSULATION: 'rtp', EXTERNAL_MEDIA_TRANSPORT: 'udp', EXTERNAL_MEDIA_FORMAT: 'ulaw' },
    });
  });
  after(async () => stack?.stop());

  it('uses the configured encapsulation, transport and format', async () => {
    const call = stack.sim.placeCall();
    await stack.sim.waitFor(() => call.bridgedAt !== undefined, 5000, 'call bridged');
    const media = stack.sim.channels().find((c) => c.id === call.mediaChannelIds[0]);
    assert.match(media?.name ?? '', /^UnicastRTP\//);
    const request = stack.sim.requests.find((r) => r.path === '/ari/channels/externalMedia');
    assert.equal(request?.query.encapsulation, 'rtp');
    assert.equal(request?.query.transport, 'udp');
    assert.equal(request?.query.format, 'ulaw');
    stack.sim.hangup(call.channelId);
    await simEmpty(stack.sim, 'the call', 5000);
  });
});

describe('several controllers', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ controllers: 2 });
  });
  after(async () => stack?.stop());

  it('share the calls: each call set up exactly once by one instance', async () => {
    const records = await stack.sim.runLoad({ count: 100, rate: 100, holdMs: 2000, timeoutMs: 30_000 });
    await simEmpty(stack.sim, '100 shared calls');
    for (const r of records) assert.equal(r.bridgeIds.length, 1);
    const started = stack.controllers.map((c) => c.lines.filter((l) => l.json?.msg === 'call started').length);
    assert.equal(started.reduce((a, b) => a + b, 0), 100);
    assert.ok(started.every((n) => n > 0), `both instances took calls: ${started.join(', ')}`);
  });

  it('SIGTERM stops a controller cleanly while the other keeps serving', async () => {
    const code = await stack.controllers[0]!.stop('SIGTERM');
    assert.equal(code, 0);
    const call = stack.sim.placeCall();
    await stack.sim.waitFor(() => call.bridgedAt !== undefined, 5000, 'call bridged by the remaining controller');
    stack.sim.hangup(call.channelId);
    await simEmpty(stack.sim, 'the call', 5000);
  });
});
