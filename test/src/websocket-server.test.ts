/**
 * chan_websocket in server mode end to end (issue 14): simulator -> gateway -> controller, and the
 * WebSocket echo media server connecting to the simulator's /media/<connection id> when
 * `media_ready` says so. One call in full (audio both ways, the session id in MEDIA_START, the
 * connection in the session lookup), every hangup order, and media servers that never connect,
 * connect late, too late, or close mid-call (300 calls at 150/s: media-load.test.ts). Asterisk must never be asked for
 * a channel id in use (that crashes 22.10.1): `sim.crashes` stays 0 throughout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, Reply, subjects, type CallEvent, type SessionInfo } from '@avb/contracts';
import { callEventsOf } from './harness/calls.js';
import { collect, type Collector } from './harness/gateway-client.js';
import { APP, NODE, nothingLeft } from './harness/stack.js';
import { waitUntil } from './harness/util.js';
import { HANGUP_ORDERS } from './harness/websocket-hangups.js';
import { startWebSocketStack, type WebSocketStack } from './harness/websocket-media.js';

const CONNECT_TIMEOUT_MS = 2000;

describe('chan_websocket server mode end to end', () => {
  let ws: WebSocketStack;
  let events: Collector;
  const sim = () => ws.stack.sim;
  const eventsOf = (channelId: string) => callEventsOf(events, channelId);
  const until = (channelId: string, kind: CallEvent['kind'], ms = 8000) =>
    waitUntil(() => eventsOf(channelId).some((e) => e.kind === kind), ms, `${kind} of ${channelId}`).then(() => eventsOf(channelId).find((e) => e.kind === kind)!);
  const lookup = async (sessionId: string) => {
    const msg = await ws.stack.nc.request(subjects.callSession(APP, sessionId), undefined, { timeout: 2000 });
    return Reply.parse(JSON.parse(new TextDecoder().decode(msg.data)));
  };

  before(async () => {
    // A short ack wait: a killed controller's calls go to the next one within a second.
    ws = await startWebSocketStack({ mode: 'server', controllerEnv: { MEDIA_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS), CONSUMER_ACK_WAIT_MS: '1000' } });
    events = collect(ws.stack.nc, subjects.callEvents(APP));
    await ws.stack.nc.flush();
  });
  after(async () => {
    events?.stop();
    await ws?.stop();
  });

  it('one call: media_ready with the connection id first, the echo server gets the audio and the session id, the lookup has the connection', async () => {
    // Held back until the lookup shows the connection: what a media server learning late sees.
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    ws.connector!.plan(() => ({ delayMs: 60_000 }));
    const call = sim().placeCall({ callerNumber: '+4930123456' });
    const ready = await until(call.channelId, 'media_ready');
    const record = sim().websocketMedia.get(ready.externalChannelId)!;
    assert.equal(ready.sessionId, ready.externalChannelId);
    assert.equal(ready.media?.connection, 'server');
    assert.equal(ready.media?.connectionId, record.connectionId, 'the id of the externalMedia reply');
    assert.notEqual(record.connectionId, ready.sessionId, 'a fresh UUID, not ours');
    assert.equal(ready.media?.url, sim().mediaUrl(record.connectionId));
    await waitUntil(async () => {
      const r = await lookup(ready.sessionId);
      return r.ok && (r.result as SessionInfo).media?.connectionId === record.connectionId;
    }, 3000, 'the connection in the session lookup');
    const info = (await lookup(ready.sessionId)) as { ok: true; result: SessionInfo };
    assert.equal(info.result.phase, 'setup');
    assert.deepEqual(info.result.media, ready.media);
    void held;
    release();
    await ws.echo.connect(ready.media!.url!);

    const started = await until(call.channelId, 'started');
    assert.deepEqual(eventsOf(call.channelId).map((e) => e.kind), ['media_ready', 'started']);
    assert.equal(started.media?.connectionId, record.connectionId);
    const session = ws.echo.sessions.get(ready.sessionId);
    assert.equal(session?.mediaStart?.channelId, ready.sessionId, 'MEDIA_START names the session');
    assert.equal(session?.mediaStart?.connectionId, record.connectionId);
    assert.equal(session?.mediaStart?.format, 'slin16');
    // The caller's audio reaches the media server, and what it sends back is played to the caller.
    await waitUntil(() => (session?.framesIn ?? 0) >= 10 && (sim().websocketMedia.get(ready.sessionId)?.framesPlayed ?? 0) >= 5, 3000, 'audio both ways');
    assert.equal(session!.bytesIn / session!.framesIn, 640, 'slin16 frames of 20 ms');
    const active = (await lookup(ready.sessionId)) as { ok: true; result: SessionInfo };
    assert.equal(active.result.phase, 'active');
    assert.equal(active.result.media?.url, ready.media?.url);

    sim().hangup(call.channelId);
    await nothingLeft(sim(), 'one call');
    assert.equal((await until(call.channelId, 'ended')).cause, 'caller_hangup');
    await waitUntil(() => session?.closeCode === 1000, 2000, 'media socket closed by Asterisk (1000)');
    const gone = await lookup(ready.sessionId);
    assert.ok(!gone.ok && gone.error.code === ErrorCode.NotFound);
    ws.connector!.plan(() => 'now');
  });

  for (const order of HANGUP_ORDERS) {
    it(`ends when ${order.name}: nothing left, one end reported (${order.cause})`, async () => {
      const call = sim().placeCall();
      const started = await until(call.channelId, 'started');
      const sessionId = started.sessionId;
      await waitUntil(() => (ws.echo.sessions.get(sessionId)?.framesIn ?? 0) > 0, 3000, 'audio flowing');
      await order.act({ sim: sim(), echo: ws.echo, call, sessionId });
      await nothingLeft(sim(), order.name);
      const end = await until(call.channelId, 'ended');
      assert.equal(end.cause, order.cause);
      assert.deepEqual(eventsOf(call.channelId).map((e) => e.kind), ['media_ready', 'started', 'ended']);
      await waitUntil(() => ws.echo.sessions.get(sessionId)?.closeCode !== undefined, 3000, 'media socket closed');
      assert.equal(ws.echo.sessions.get(sessionId)?.closeCode, order.closeCode);
      assert.equal(call.endedAt !== undefined, true);
    });
  }

  it('a media server that never connects: the call fails at our own timeout, long before Asterisk\'s 31 s', async () => {
    ws.connector!.plan(() => 'never');
    const call = sim().placeCall();
    const ready = await until(call.channelId, 'media_ready');
    const failed = await until(call.channelId, 'failed', CONNECT_TIMEOUT_MS + 5000);
    assert.equal(failed.cause, 'setup_failed:media_connect:timeout');
    await sim().waitFor(() => call.endedAt !== undefined, 3000, 'caller hung up');
    assert.equal(call.endedBy, 'ari', 'the caller is hung up');
    await nothingLeft(sim(), 'a media server that never connects');
    const record = sim().websocketMedia.get(ready.sessionId)!;
    assert.equal(record.connectedAt, undefined);
    assert.equal(record.endedBy, 'app', 'removed by us, not by Asterisk\'s connect timeout');
    assert.ok(record.endedAt! - call.startedAt < CONNECT_TIMEOUT_MS + 3000, `${record.endedAt! - call.startedAt} ms`);
    ws.connector!.plan(() => 'now');
  });

  it('a media server that connects late (within our timeout): the call starts, its setup time includes the wait', async () => {
    ws.connector!.plan(() => ({ delayMs: 800 }));
    const call = sim().placeCall();
    const started = await until(call.channelId, 'started');
    assert.ok((started.setupMs ?? 0) >= 800, `setupMs ${started.setupMs}`);
    sim().hangup(call.channelId);
    await nothingLeft(sim(), 'a late connection');
    ws.connector!.plan(() => 'now');
  });

  it('a media server that connects after our timeout: refused (404), the call failed, nothing left', async () => {
    ws.connector!.plan(() => ({ delayMs: CONNECT_TIMEOUT_MS + 1000 }));
    const call = sim().placeCall();
    const ready = await until(call.channelId, 'media_ready');
    assert.equal((await until(call.channelId, 'failed', CONNECT_TIMEOUT_MS + 5000)).cause, 'setup_failed:media_connect:timeout');
    await waitUntil(() => ws.connector!.outcomes.has(ready.sessionId), 5000, 'the late connection tried');
    assert.equal(ws.connector!.outcomes.get(ready.sessionId), 404);
    await nothingLeft(sim(), 'a connection too late');
    ws.connector!.plan(() => 'now');
  });

  it('a caller who hangs up before the media server connects: the waiting channel is removed, the late connection refused', async () => {
    ws.connector!.plan(() => ({ delayMs: 500 }));
    const call = sim().placeCall();
    const ready = await until(call.channelId, 'media_ready');
    sim().hangup(call.channelId);
    assert.equal((await until(call.channelId, 'ended')).cause, 'caller_hangup_during_setup');
    await nothingLeft(sim(), 'a caller gone before the connection');
    await waitUntil(() => ws.connector!.outcomes.has(ready.sessionId), 3000, 'the connection tried');
    assert.equal(ws.connector!.outcomes.get(ready.sessionId), 404);
    assert.ok(!eventsOf(call.channelId).some((e) => e.kind === 'started'));
    ws.connector!.plan(() => 'now');
  });

  it('a controller killed while its call waits for the media server: the next one takes over with a new media channel id', async () => {
    ws.connector!.plan(() => 'never');
    const call = sim().placeCall();
    const first = await until(call.channelId, 'media_ready');
    await ws.controller.stop('SIGKILL');
    ws.connector!.plan(() => 'now');
    ws.controller = await ws.stack.startController({ ...ws.controllerEnv, MEDIA_CONNECT_TIMEOUT_MS: '8000' });
    await waitUntil(() => eventsOf(call.channelId).filter((e) => e.kind === 'media_ready').length === 2, 15_000, 'a second media_ready');
    const second = eventsOf(call.channelId).filter((e) => e.kind === 'media_ready')[1]!;
    assert.notEqual(second.externalChannelId, first.externalChannelId, 'a fresh media channel id');
    assert.notEqual(second.media?.connectionId, first.media?.connectionId);
    const started = await until(call.channelId, 'started');
    assert.equal(started.sessionId, second.sessionId);
    await waitUntil(() => sim().websocketMedia.get(first.externalChannelId)?.endedBy !== undefined, 5000, 'the predecessor\'s channel removed');
    assert.equal(sim().websocketMedia.get(first.externalChannelId)?.endedBy, 'app');
    assert.equal(sim().crashes, 0);
    sim().hangup(call.channelId);
    await nothingLeft(sim(), 'a call taken over');
  });

  it('never asked Asterisk for a channel id in use', () => {
    assert.equal(sim().crashes, 0, JSON.stringify(sim().crashLog));
    const ids = sim().requests.filter((r) => r.path === '/ari/channels/externalMedia').map((r) => r.query.channelId);
    assert.equal(new Set(ids).size, ids.length, 'every externalMedia has its own channel id');
    assert.equal(NODE, 'pbx1');
  });
});
