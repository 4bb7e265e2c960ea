/**
 * chan_websocket in client mode end to end (issue 14): the simulator dials the WebSocket echo
 * server through its websocket_client `media_echo` for every call. One call in full (MEDIA_START
 * with the session id, audio both ways), every hangup order, a media server that is down, and one
 * that accepts TCP but never answers the handshake: the recorded stall of Asterisk 22.10.1, seen
 * in /health as a degraded media path until media channels come up in time again.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketEcho } from '@avb/ari-simulator';
import { subjects, type CallEvent } from '@avb/contracts';
import { callEventsOf } from './harness/calls.js';
import { collect, type Collector } from './harness/gateway-client.js';
import { waitForHealth } from './harness/health-client.js';
import { logMsg, startService, type ServiceProcess } from './harness/services.js';
import { APP, nothingLeft } from './harness/stack.js';
import { freePort, waitUntil } from './harness/util.js';
import { HANGUP_ORDERS } from './harness/websocket-hangups.js';
import { CLIENT_ID, startWebSocketStack, type WebSocketStack } from './harness/websocket-media.js';

const DEGRADED_AFTER_MS = 1000;
const CONNECT_TIMEOUT_MS = 3000;

describe('chan_websocket client mode end to end', () => {
  let ws: WebSocketStack;
  let events: Collector;
  let health: ServiceProcess;
  let healthUrl: string;
  const sim = () => ws.stack.sim;
  const eventsOf = (channelId: string) => callEventsOf(events, channelId);
  const until = (channelId: string, kind: CallEvent['kind'], ms = 8000) =>
    waitUntil(() => eventsOf(channelId).some((e) => e.kind === kind), ms, `${kind} of ${channelId}`).then(() => eventsOf(channelId).find((e) => e.kind === kind)!);

  before(async () => {
    ws = await startWebSocketStack({
      mode: 'client',
      controllerEnv: { MEDIA_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS), MEDIA_DEGRADED_AFTER_MS: String(DEGRADED_AFTER_MS) },
    });
    events = collect(ws.stack.nc, subjects.callEvents(APP));
    const port = await freePort();
    healthUrl = `http://127.0.0.1:${port}`;
    health = startService('health', { NATS_URL: ws.stack.nats.url, HEALTH_PORT: String(port), HEALTH_HOST: '127.0.0.1', HEALTH_CACHE_MS: '200' });
    await health.waitForLog(logMsg('ready'), 10_000, 'health ready');
    await ws.stack.nc.flush();
  });
  after(async () => {
    events?.stop();
    await health?.stop();
    await ws?.stop();
  });

  it('one call: Asterisk dials the echo server, MEDIA_START names the session, audio both ways, no media_ready', async () => {
    const call = sim().placeCall();
    const started = await until(call.channelId, 'started');
    assert.deepEqual(started.media, { connection: 'client', connectionId: CLIENT_ID });
    assert.deepEqual(eventsOf(call.channelId).map((e) => e.kind), ['started'], 'nothing to connect to: no media_ready');
    const session = ws.echo.sessions.get(started.sessionId)!;
    assert.equal(session.role, 'accepted');
    assert.equal(session.mediaStart?.connectionId, CLIENT_ID);
    assert.equal(session.mediaStart?.channelId, started.sessionId);
    const record = sim().websocketMedia.get(started.sessionId)!;
    assert.deepEqual(record.dialedUrls, [ws.echo.url]);
    await waitUntil(() => session.framesIn >= 10 && (sim().websocketMedia.get(started.sessionId)?.framesPlayed ?? 0) >= 5, 3000, 'audio both ways');
    const request = sim().requests.find((r) => r.path === '/ari/channels/externalMedia' && r.query.channelId === started.sessionId)!;
    assert.deepEqual(
      { t: request.query.transport, e: request.query.encapsulation, c: request.query.connection_type, h: request.query.external_host, d: request.query.data },
      { t: 'websocket', e: 'none', c: 'client', h: CLIENT_ID, d: started.sessionId },
    );
    sim().hangup(call.channelId);
    await nothingLeft(sim(), 'one call');
    await waitUntil(() => session.closeCode === 1000, 2000, 'media socket closed (1000)');
  });

  for (const order of HANGUP_ORDERS) {
    it(`ends when ${order.name}: nothing left, one end reported (${order.cause})`, async () => {
      const call = sim().placeCall();
      const { sessionId } = await until(call.channelId, 'started');
      await waitUntil(() => (ws.echo.sessions.get(sessionId)?.framesIn ?? 0) > 0, 3000, 'audio flowing');
      await order.act({ sim: sim(), echo: ws.echo, call, sessionId });
      await nothingLeft(sim(), order.name);
      assert.equal((await until(call.channelId, 'ended')).cause, order.cause);
      assert.deepEqual(eventsOf(call.channelId).map((e) => e.kind), ['started', 'ended']);
      await waitUntil(() => ws.echo.sessions.get(sessionId)?.closeCode !== undefined, 3000, 'media socket closed');
      assert.equal(ws.echo.sessions.get(sessionId)?.closeCode, order.closeCode);
    });
  }

  it('a media server that is down: Asterisk gives up after its tries, the call fails (media_connect), nothing left', async () => {
    const port = ws.echo.port;
    await ws.echo.stop();
    try {
      const call = sim().placeCall();
      const failed = await until(call.channelId, 'failed', 10_000);
      assert.equal(failed.cause, 'setup_failed:media_connect:not_found', 'the channel went before it connected');
      await sim().waitFor(() => call.endedAt !== undefined, 3000, 'caller hung up');
    assert.equal(call.endedBy, 'ari');
      assert.equal(sim().websocketMedia.get(failed.sessionId)?.endedBy, 'connectFailed');
      assert.equal(sim().websocketMedia.get(failed.sessionId)?.dialedUrls.length, 4, 'four tries');
      await nothingLeft(sim(), 'a media server down');
    } finally {
      ws.echo = await WebSocketEcho.start({ host: '127.0.0.1', port });
    }
  });

  it('a media server that accepts TCP and never answers the handshake stalls Asterisk: /health says the media path is degraded, and recovers', async (t) => {
    // A call that comes up in time first: whatever an earlier test left, the path is ok now.
    const before = sim().placeCall();
    await until(before.channelId, 'started');
    sim().hangup(before.channelId);
    await waitForHealth(healthUrl, (h) => h.status === 200, 10_000, '/health ok before the stall');
    const port = ws.echo.port;
    await ws.echo.stop();
    const silent = await listenSilently(port);
    const stalledAt = performance.now();
    const call = sim().placeCall();
    await waitUntil(() => sim().mediaStalled(), 5000, 'Asterisk stalled');
    const degraded = await waitForHealth(healthUrl, (h) => h.status === 503 && h.body.problems.some((p) => /media path degraded/.test(p)), 10_000, '/health: media path degraded');
    t.diagnostic(`/health said degraded ${((performance.now() - stalledAt) / 1000).toFixed(1)} s into the stall: ${degraded.body.problems.join('; ')}`);
    assert.match(degraded.body.problems.join(), /call-controller .*: media path degraded \(websocket client\) since .*: 1 media channel\(s\) waited for longer than 1000 ms/);
    // Meanwhile new callers wait (no StasisStart reaches us) and our own timeout ends the stuck call.
    const waiting = sim().placeCall();
    const failed = await until(call.channelId, 'failed', CONNECT_TIMEOUT_MS + 5000);
    assert.equal(failed.cause, 'setup_failed:media_connect:timeout');
    assert.ok(sim().mediaStalled(), 'the DELETE of the stuck channel waits with it');
    // The silent server goes away and the media server is back on its port: the stuck channel's
    // next try reaches it, its DELETE goes on, and so does everything that waited. (The media
    // server comes back at once: a caller whose StasisStart comes when the stall clears dials
    // within milliseconds, and four tries 500 ms apart to a closed port would fail that call.)
    await silent.close();
    ws.echo = await WebSocketEcho.start({ host: '127.0.0.1', port });
    const stall = () => sim().mediaStalls.find((r) => r.channelId === failed.sessionId);
    await waitUntil(() => stall()?.endedAt !== undefined, 10_000, 'the stall cleared');
    t.diagnostic(`the stall lasted ${((stall()!.endedAt! - stall()!.startedAt) / 1000).toFixed(1)} s`);
    // The caller who waited got its StasisStart only now.
    await until(waiting.channelId, 'started', 10_000);
    const next = sim().placeCall();
    await until(next.channelId, 'started');
    await waitForHealth(healthUrl, (h) => h.status === 200, 10_000, '/health ok again');
    for (const c of [waiting, next]) sim().hangup(c.channelId);
    await nothingLeft(sim(), 'the stall and after', 20_000);
    assert.equal(sim().crashes, 0);
  });
});

/** A TCP server that accepts and never says a word (samples-22.10.1 client-mode/server-silent.json). */
async function listenSilently(port: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
