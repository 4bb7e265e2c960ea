/**
 * Gateway faults not covered by gateway.test.ts, each injected through the simulator or by
 * stopping a real process: the ARI WebSocket closed cleanly, flapping, refused and back on the
 * same port, half-open (timed); ARI events with missing or wrong-typed fields; NATS killed and
 * restarted on the same port; SIGTERM with slow ARI requests in flight.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AriSimulator } from '@avb/ari-simulator';
import { GatewayStatus, subjects, type CommandName, type Reply } from '@avb/contracts';
import { connect, Empty, type NatsConnection } from 'nats';
import { collect, sendCommand, type Collector } from './harness/gateway-client.js';
import { startNatsServer, type NatsServer } from './harness/nats-server.js';
import { logMsg, startService, type LogLine, type ServiceProcess } from './harness/services.js';
import { sleep, waitUntil } from './harness/util.js';

const APP = 'ai_app';
const ARI_USER = 'avb';
const ARI_PASSWORD = 'S3cr3t-faults-ari-2718';
const PING_MS = 300;
const MIN_MS = 100;
const MAX_MS = 400;
const decoder = new TextDecoder();

const gatewayEnv = (natsUrl: string, sim: AriSimulator, node: string, extra: Record<string, string> = {}): Record<string, string> => ({
  NATS_URL: natsUrl,
  ARI_BASE_URL: sim.baseUrl,
  ARI_USER,
  ARI_PASSWORD,
  ARI_APP: APP,
  ARI_NODE: node,
  ARI_HTTP_TIMEOUT: '1',
  ARI_PING_INTERVAL_MS: String(PING_MS),
  ARI_RECONNECT_MIN_MS: String(MIN_MS),
  ARI_RECONNECT_MAX_MS: String(MAX_MS),
  LOG_LEVEL: 'debug',
  ...extra,
});

interface StatsData {
  ari: { state: string };
  framesDropped: Record<string, number>;
  publishFailed: Record<string, number>;
  reconnects: number;
}

const errorOf = (reply: Reply) => {
  assert.equal(reply.ok, false, `expected an error reply, got ${JSON.stringify(reply)}`);
  return reply.ok ? assert.fail() : reply.error;
};
const assertNoSecrets = (proc: ServiceProcess) => {
  for (const line of proc.lines) assert.ok(!line.raw.includes(ARI_PASSWORD), `password in a log line: ${line.raw}`);
};
/** Times (ms since epoch) of the gateway's WebSocket connection attempts (a debug line each). */
const attemptTimes = (proc: ServiceProcess, since = 0): number[] =>
  proc.lines.filter(logMsg('opening ARI WebSocket')).map((l: LogLine) => Date.parse(String(l.json?.time))).filter((t) => t >= since);
const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('gateway faults: the ARI WebSocket', () => {
  const NODE = 'faults-ws';
  let nats: NatsServer;
  let sim: AriSimulator;
  let port: number;
  let gateway: ServiceProcess;
  let nc: NatsConnection;
  let events: Collector;
  let statuses: Collector;

  const cmd = (command: CommandName, payload: unknown) => sendCommand(nc, subjects.ariCommand(APP, NODE, command), payload, 5000);
  const statusesSince = (from: number) => statuses.json<GatewayStatus>().slice(from);
  const stats = async (): Promise<StatsData> => {
    const msg = await nc.request('$SRV.STATS.ari-gateway', Empty, { timeout: 2000 });
    return (JSON.parse(decoder.decode(msg.data)) as { endpoints: Array<{ data: StatsData }> }).endpoints[0]!.data;
  };
  const relaysACall = async () => {
    await sim.waitFor(() => sim.connections(APP) === 1, 5000, 'gateway connected to the simulator');
    const call = sim.placeCall();
    await waitUntil(
      () => events.json<{ type: string; channel?: { id: string } }>().some((e) => e.type === 'StasisStart' && e.channel?.id === call.channelId),
      5000, 'StasisStart relayed',
    );
    sim.hangup(call.channelId);
  };

  before(async () => {
    nats = await startNatsServer();
    sim = await AriSimulator.start({ username: ARI_USER, password: ARI_PASSWORD });
    port = sim.port;
    gateway = startService('ari-gateway', gatewayEnv(nats.url, sim, NODE));
    await gateway.waitForLog(logMsg('ARI connected'), 10_000, 'ARI connected');
    await gateway.waitForLog(logMsg('ready'), 10_000, 'ready');
    nc = await connect({ servers: nats.url, name: 'faults-test' });
    events = collect(nc, subjects.ariEvents(APP, NODE));
    statuses = collect(nc, subjects.ariStatus(APP, NODE));
    await nc.flush();
  });
  after(async () => {
    await nc?.close().catch(() => undefined);
    await gateway?.stop('SIGTERM', 5000);
    await sim?.stop();
    await nats?.stop();
  });

  it('closed cleanly by the server (close frame 1001): reports disconnected with the code, reconnects, relays again', async () => {
    const from = statuses.msgs.length;
    sim.closeWebSockets(1001, 'shutting down');
    await waitUntil(() => statusesSince(from).some((s) => s.state === 'connected'), 3000, 'connected again');
    const lost = statusesSince(from).find((s) => s.state === 'disconnected');
    assert.equal(lost?.reason, 'closed with code 1001');
    await relaysACall();
  });

  it('half-open (pings unanswered): noticed within two ping intervals, then reconnected', async () => {
    const from = statuses.msgs.length;
    const started = Date.now();
    sim.setPongs(false);
    await waitUntil(() => statusesSince(from).some((s) => s.state === 'disconnected'), 3 * PING_MS + 500, 'ping timeout');
    const noticedMs = Date.now() - started;
    sim.setPongs(true);
    // One interval sends the ping, the next finds it unanswered.
    assert.ok(noticedMs <= 2 * PING_MS + 400, `noticed after ${noticedMs} ms`);
    assert.equal(statusesSince(from).find((s) => s.state === 'disconnected')?.reason, 'ping timeout');
    await waitUntil(() => statusesSince(from).at(-1)?.state === 'connected', 3000, 'connected again');
    await relaysACall();
  });

  it('flapping (dropped right after each connect): the backoff is not reset by short connections, no tight loop', async () => {
    await sleep(50);
    const since = Date.now();
    const flap = setInterval(() => sim.dropWebSockets(), 15);
    await sleep(2500);
    clearInterval(flap);
    const times = attemptTimes(gateway, since);
    // Reset after every short connection this would be ~35-50 attempts (50-100 ms apart); growing it is ~8-10.
    assert.ok(times.length >= 3 && times.length <= 14, `attempts in 2.5 s: ${times.length}`);
    for (const gap of gaps(times).slice(3)) assert.ok(gap >= MAX_MS / 2 - 20, `gap ${gap} ms after the backoff reached its cap`);
    await waitUntil(async () => (await stats()).ari.state === 'connected', 3000, 'connected after flapping');
    await relaysACall();
  });

  it('refused (Asterisk down): ari_unavailable at once, capped jittered retries, then back on the same port', async () => {
    const from = statuses.msgs.length;
    await sim.stop();
    await waitUntil(() => statusesSince(from).some((s) => s.state === 'disconnected'), 3000, 'disconnected');

    const started = Date.now();
    const error = errorOf(await cmd('channels.list', {}));
    assert.equal(error.code, 'ari_unavailable');
    assert.match(error.message, /ECONNREFUSED/);
    assert.ok(Date.now() - started < 1000, 'answered well within ARI_HTTP_TIMEOUT');

    const since = Date.now();
    await sleep(2500);
    const times = attemptTimes(gateway, since);
    assert.ok(times.length >= 4 && times.length <= 14, `attempts while refused in 2.5 s: ${times.length}`);
    for (const gap of gaps(times)) assert.ok(gap >= MIN_MS / 2 - 20 && gap <= MAX_MS + 400, `gap ${gap} ms`);
    assert.ok(new Set(gaps(times)).size > 1, 'jittered');
    const failed = statusesSince(from).filter((s) => s.state === 'disconnected');
    assert.ok(failed.every((s) => s.reason?.startsWith('connect failed') || s.reason === 'closed with code 1006'), JSON.stringify(failed.slice(0, 3)));
    assert.equal(gateway.child.exitCode, null);

    sim = await AriSimulator.start({ username: ARI_USER, password: ARI_PASSWORD, port });
    await waitUntil(() => statusesSince(from).at(-1)?.state === 'connected', 3000, 'connected to the new simulator');
    await relaysACall();
    assert.equal((await cmd('channels.list', {})).ok, true, 'commands work again');
  });

  it('ARI events with missing or wrong-typed fields are dropped, counted and logged once with the reason', async () => {
    const fromEvents = events.msgs.length;
    const before = (await stats()).framesDropped.invalid_event ?? 0;
    const broken = [
      { type: 'StasisStart', application: APP, timestamp: 't', args: [] },
      { type: 'StasisStart', application: APP, timestamp: 't', args: 'x', channel: { id: '1.1' } },
      { type: 'StasisEnd', application: APP, timestamp: 't', channel: { id: 5 } },
      { type: 'ChannelDestroyed', application: APP, timestamp: 't', cause: '16', cause_txt: 'x' },
    ];
    for (let i = 0; i < 25; i++) for (const frame of broken) sim.sendRaw(APP, JSON.stringify(frame));
    await relaysACall();
    const relayedBroken = events.msgs.slice(fromEvents).filter((m) => !/"channel":\{"id":"[^"]+","name"/.test(m.data));
    assert.deepEqual(relayedBroken.map((m) => m.data), [], 'no broken event relayed');
    assert.equal(((await stats()).framesDropped.invalid_event ?? 0) - before, 100);
    const logged = gateway.lines.filter((l) => l.json?.msg === 'ARI frame dropped' && l.json.reason === 'invalid_event');
    assert.equal(logged.length, 1, 'rate limited: one line per reason');
    assert.equal(logged[0]!.json?.type, 'StasisStart');
    assert.match(String(logged[0]!.json?.problem), /^channel: /);
    assertNoSecrets(gateway);
  });

  it('leaves nothing in the simulator', async () => {
    await sim.waitFor(() => sim.channels().length === 0 && sim.bridges().length === 0, 5000, 'nothing left');
  });
});

describe('gateway faults: NATS down and restarting', () => {
  const NODE = 'faults-nats';
  const BUFFER_BYTES = 4096;
  let nats: NatsServer;
  let sim: AriSimulator;
  let gateway: ServiceProcess;
  let nc: NatsConnection;

  before(async () => {
    nats = await startNatsServer();
    sim = await AriSimulator.start({ username: ARI_USER, password: ARI_PASSWORD });
    gateway = startService('ari-gateway', gatewayEnv(nats.url, sim, NODE, { NATS_PUBLISH_BUFFER_BYTES: String(BUFFER_BYTES) }));
    await gateway.waitForLog(logMsg('ARI connected'), 10_000, 'ARI connected');
    await gateway.waitForLog(logMsg('ready'), 10_000, 'ready');
    nc = await connect({ servers: nats.url, name: 'faults-nats-test', maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  });
  after(async () => {
    await nc?.close().catch(() => undefined);
    await gateway?.stop('SIGTERM', 5000);
    await sim?.stop();
    await nats?.stop();
  });

  it('reconnects after NATS is killed and restarted on the same port (twice), counts what it could not keep, and relays again', async () => {
    for (let round = 1; round <= 2; round++) {
      const disconnects = gateway.lines.filter((l) => l.json?.msg === 'NATS status' && l.json.nats === 'disconnect').length;
      const reconnects = gateway.lines.filter((l) => l.json?.msg === 'NATS status' && l.json.nats === 'reconnect').length;
      await nats.kill();
      await waitUntil(
        () => gateway.lines.filter((l) => l.json?.msg === 'NATS status' && l.json.nats === 'disconnect').length > disconnects,
        5000, 'gateway saw NATS go',
      );
      // ARI keeps talking while the bus is down: more than the buffer holds.
      const calls = Array.from({ length: 5 }, () => sim.placeCall());
      for (let i = 0; i < 20; i++) sim.sendRaw(APP, JSON.stringify({ type: 'ChannelVarset', variable: 'PAD', value: 'p'.repeat(500) }));
      for (const c of calls) sim.hangup(c.channelId);
      await sleep(300);
      assert.equal(gateway.child.exitCode, null, 'gateway alive while NATS is down');
      await nats.restart();
      await waitUntil(
        () => gateway.lines.filter((l) => l.json?.msg === 'NATS status' && l.json.nats === 'reconnect').length > reconnects,
        10_000, `gateway reconnected (round ${round})`,
      );
    }
    await waitUntil(() => !nc.isClosed() && nc.info !== undefined, 5000, 'test client reconnected');
    // Events resume: a new call's StasisStart arrives on the bus.
    const sub = nc.subscribe(subjects.ariEvent(APP, NODE, 'StasisStart'));
    await nc.flush();
    const call = sim.placeCall();
    let seen = false;
    const timer = setTimeout(() => sub.unsubscribe(), 5000);
    for await (const m of sub) {
      if (decoder.decode(m.data).includes(call.channelId)) {
        seen = true;
        break;
      }
    }
    clearTimeout(timer);
    sub.unsubscribe();
    assert.ok(seen, 'events relayed after NATS came back');
    sim.hangup(call.channelId);

    const reply = await sendCommand(nc, subjects.ariCommand(APP, NODE, 'channels.list'), {});
    assert.equal(reply.ok, true);
    const msg = await nc.request('$SRV.STATS.ari-gateway', Empty, { timeout: 2000 });
    const data = (JSON.parse(decoder.decode(msg.data)) as { endpoints: Array<{ data: StatsData }> }).endpoints[0]!.data;
    assert.ok((data.publishFailed.nats_down_buffer_full ?? 0) >= 2, JSON.stringify(data.publishFailed));
    assert.ok(gateway.lines.some((l) => l.json?.msg === 'cannot publish on NATS, message dropped' && l.json.reason === 'nats_down_buffer_full'));
    assert.ok(!gateway.lines.some((l) => (l.json?.level as number) >= 60 || /Uncaught|node:internal/.test(l.raw)), 'nothing crashed');
    await sim.waitFor(() => sim.channels().length === 0 && sim.bridges().length === 0, 5000, 'nothing left');
    assertNoSecrets(gateway);
  });
});

describe('gateway faults: SIGTERM with slow ARI requests in flight', () => {
  let nats: NatsServer;
  let sim: AriSimulator;
  let nc: NatsConnection;

  before(async () => {
    nats = await startNatsServer();
    sim = await AriSimulator.start({ username: ARI_USER, password: ARI_PASSWORD });
    nc = await connect({ servers: nats.url, name: 'faults-sigterm-test' });
  });
  after(async () => {
    await nc?.close().catch(() => undefined);
    await sim?.stop();
    await nats?.stop();
  });

  const start = async (node: string, extra: Record<string, string>) => {
    const gateway = startService('ari-gateway', gatewayEnv(nats.url, sim, node, extra));
    await gateway.waitForLog(logMsg('ARI connected'), 10_000, 'ARI connected');
    await gateway.waitForLog(logMsg('ready'), 10_000, 'ready');
    return gateway;
  };

  it('answers every command in flight, takes no new ones, drains NATS (its last status arrives) and exits 0 in bounded time', async () => {
    const node = 'sigterm-a';
    const gateway = await start(node, { ARI_HTTP_TIMEOUT: '5', SHUTDOWN_GRACE_MS: '3000' });
    const statuses = collect(nc, subjects.ariStatus(APP, node));
    await nc.flush();
    sim.setLatency(800);
    const inFlight = Array.from({ length: 10 }, () => sendCommand(nc, subjects.ariCommand(APP, node, 'channels.list'), {}, 5000));
    await sleep(150);
    const signalled = Date.now();
    const exit = gateway.stop('SIGTERM', 10_000);
    await sleep(100);
    // After SIGTERM the endpoint is gone: a new request fails fast (no responders), never hangs.
    const late = await sendCommand(nc, subjects.ariCommand(APP, node, 'channels.list'), {}, 3000).then(
      (r) => ({ answered: r }),
      (err: { code?: string }) => ({ failed: err.code }),
    );
    assert.deepEqual(late, { failed: '503' });
    for (const reply of await Promise.all(inFlight)) assert.equal(reply.ok, true, JSON.stringify(reply));
    assert.equal(await exit, 0);
    const tookMs = Date.now() - signalled;
    sim.setLatency(0);
    assert.ok(tookMs < 3000, `exit after ${tookMs} ms`);
    await waitUntil(() => statuses.json<GatewayStatus>().some((s) => s.state === 'stopped'), 2000, 'stopped status delivered before the drain ended');
    assertNoSecrets(gateway);
  });

  it('a command ARI does not answer within the shutdown grace is answered with timeout, and the gateway still exits 0', async () => {
    const node = 'sigterm-b';
    const gateway = await start(node, { ARI_HTTP_TIMEOUT: '30', SHUTDOWN_GRACE_MS: '500' });
    sim.failNext({ method: 'GET', path: /\/bridges$/ }, { status: 200, body: [], delayMs: 10_000 });
    const inFlight = sendCommand(nc, subjects.ariCommand(APP, node, 'bridges.list'), {}, 8000);
    await sleep(150);
    const signalled = Date.now();
    const exit = gateway.stop('SIGTERM', 10_000);
    const error = errorOf(await inFlight);
    assert.equal(error.code, 'timeout');
    assert.match(error.message, /gateway stopping/);
    assert.equal(await exit, 0);
    assert.ok(Date.now() - signalled < 4000, `exit after ${Date.now() - signalled} ms`);
    assertNoSecrets(gateway);
    await sim.waitFor(() => sim.channels().length === 0 && sim.bridges().length === 0, 2000, 'nothing left');
  });

  it('SIGTERM while NATS is down: exits 0 within the grace period instead of waiting for NATS', async () => {
    const own = await startNatsServer();
    const gateway = startService('ari-gateway', gatewayEnv(own.url, sim, 'sigterm-c', { SHUTDOWN_GRACE_MS: '1000' }));
    try {
      await gateway.waitForLog(logMsg('ARI connected'), 10_000, 'ARI connected');
      await own.kill();
      await gateway.waitForLog((l) => l.json?.msg === 'NATS status' && l.json.nats === 'disconnect', 5000, 'NATS gone');
      const call = sim.placeCall();
      const signalled = Date.now();
      assert.equal(await gateway.stop('SIGTERM', 10_000), 0);
      assert.ok(Date.now() - signalled < 4000, `exit after ${Date.now() - signalled} ms`);
      sim.hangup(call.channelId);
      assert.ok(!gateway.lines.some((l) => l.raw.includes('[invalid url]')), 'servers logged readably');
    } finally {
      await gateway.stop('SIGKILL', 1000);
      await own.stop();
    }
  });
});
